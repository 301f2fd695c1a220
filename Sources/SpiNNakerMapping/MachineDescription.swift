import Foundation

/// Loading a machine from a short JSON description such as cluster-configs/machines/spinn5.json.
/// "kind" names the machine, some kinds take a size:
///
///     {"kind": "spinn5"}                              one SpiNN-5 board (48 chips)
///     {"kind": "spinn3"}                              one SpiNN-3 board (4 chips)
///     {"kind": "triads", "triads": [w, h]}            w x h triads of SpiNN-5 boards, a torus of
///                                                     12w x 12h chips (w, h 1 to 21)
///     {"kind": "boards", "boards": n}                 n boards: 1, or a multiple of 3 arranged as
///                                                     the squarest w x h triads, w >= h (rig's rule)
///     {"kind": "spalloc", "width": W, "height": H}    a non-wrapped allocation of W x H chips,
///                                                     W and H 12k + 4 (16, 28, ... 256)
///
/// Every kind takes the optional fields
///
///     "cores": c                      every chip gets c cores (1 to 18) instead of the stack's
///                                     SpiNN-5 pattern (17 cores on 8 chips of each board)
///     "dead_chips": [[x, y], ...]     chips removed (not Ethernet chips)
///     "dead_links": [[x, y, link]]    links broken, in the direction given only (the link of
///                                     that chip's router; 0 east ... 5 south)
///
/// Any other field, or a size field of another kind, is an error naming the field.
extension Machine {
    /// The size fields each kind takes (all required).
    static let kindFields: [String: [String]] = [
        "spinn5": [], "spinn3": [], "triads": ["triads"], "boards": ["boards"], "spalloc": ["width", "height"],
    ]
    static let commonDescriptionFields: Set<String> = ["kind", "cores", "dead_chips", "dead_links"]
    static let descriptionFields: Set<String> = commonDescriptionFields.union(kindFields.values.joined())

    public static func load(descriptionAt url: URL) throws -> Machine {
        let file = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw MappingError.unreadableDescription(file: file, reason: "cannot read the file (\(error.localizedDescription))")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw MappingError.unreadableDescription(file: file, reason: "not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !descriptionFields.contains($0) }) {
            throw MappingError.invalidDescription(
                file: file, field: unknown,
                reason: "unknown field (allowed: \(descriptionFields.sorted().joined(separator: ", ")))")
        }
        // JSONDecoder reports a fractional or huge number without its field, so find it first.
        for key in object.keys.sorted() where key != "kind" {
            if let (field, reason) = nonInteger(object[key]!, path: key) {
                throw MappingError.invalidDescription(file: file, field: field, reason: reason)
            }
        }
        let description: MachineDescription
        do {
            description = try JSONDecoder().decode(MachineDescription.self, from: data)
        } catch let error as DecodingError {
            let (field, reason) = fieldAndReason(of: error)
            throw MappingError.invalidDescription(file: file, field: field, reason: reason)
        }
        return try machine(from: description, file: file)
    }

    static func machine(from description: MachineDescription, file: String) throws -> Machine {
        func bad(_ field: String, _ reason: String) -> MappingError {
            .invalidDescription(file: file, field: field, reason: reason)
        }
        let kind = description.kind
        guard let sizeFields = kindFields[kind] else {
            let kinds = kindFields.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            throw bad("kind", "unknown machine kind \"\(kind)\" (expected one of \(kinds))")
        }
        for field in description.presentSizeFields.sorted() where !sizeFields.contains(field) {
            throw bad(field, "not a field of kind \"\(kind)\" (\(sizeFields.isEmpty ? "it takes no size" : "it takes " + sizeFields.joined(separator: ", ")))")
        }
        var base = try sizedMachine(description, kind: kind, bad: bad)
        if let cores = description.cores {
            guard (1...18).contains(cores) else { throw bad("cores", "\(cores) cores per chip (1 to 18 allowed)") }
            base = try base.settingCores(cores)
        }

        let deadChipRows = try rows(description.dead_chips, length: 2, field: "dead_chips", bad: bad)
        var deadChips: Set<ChipCoordinate> = []
        for (i, row) in deadChipRows.enumerated() {
            let c = ChipCoordinate(row[0], row[1])
            guard base.chips[c] != nil else { throw bad("dead_chips[\(i)]", "chip \(c) is not on a \(kind) machine") }
            guard !base.chips[c]!.isEthernet else { throw bad("dead_chips[\(i)]", "chip \(c) is an Ethernet chip and cannot be removed") }
            deadChips.insert(c)
        }

        let deadLinkRows = try rows(description.dead_links, length: 3, field: "dead_links", bad: bad)
        var deadLinks: [(ChipCoordinate, Link)] = []
        for (i, row) in deadLinkRows.enumerated() {
            let c = ChipCoordinate(row[0], row[1])
            guard base.chips[c] != nil, !deadChips.contains(c) else {
                throw bad("dead_links[\(i)]", "chip \(c) is not on the machine")
            }
            guard let link = Link(rawValue: row[2]) else {
                throw bad("dead_links[\(i)]", "link \(row[2]) is not 0...5")
            }
            deadLinks.append((c, link))
        }
        do {
            return try base.removing(chips: deadChips, breaking: deadLinks)
        } catch let error as MappingError {
            throw bad("dead_chips", error.description)
        }
    }

    /// The machine of a kind and its size fields, each field checked.
    private static func sizedMachine(_ description: MachineDescription, kind: String,
                                     bad: (String, String) -> MappingError) throws -> Machine {
        func required<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw bad(field, "missing (kind \"\(kind)\" needs it)") }
            return value
        }
        // A generator's own complaint (none is expected once the fields are checked) names `field`.
        func build(_ field: String, _ make: () throws -> Machine) throws -> Machine {
            do {
                return try make()
            } catch let error as MappingError {
                throw bad(field, error.description)
            }
        }
        let maxTriads = maximumSide / triadSide
        switch kind {
        case "spinn5":
            return spinn5()
        case "spinn3":
            return spinn3()
        case "triads":
            let triads = try required(description.triads, "triads")
            guard triads.count == 2 else {
                throw bad("triads", "must be [width, height] in triads, 2 integers, has \(triads.count)")
            }
            for (i, n) in triads.enumerated() where !(1...maxTriads).contains(n) {
                throw bad("triads[\(i)]", "\(n) triads: must be 1 to \(maxTriads) (12 chips each, at most \(maximumSide) chips a side)")
            }
            return try build("triads") { try Machine.triads(triads[0], triads[1]) }
        case "boards":
            let n = try required(description.boards, "boards")
            let maxBoards = 3 * maxTriads * maxTriads
            guard n == 1 || (n >= 3 && n % 3 == 0) else {
                throw bad("boards", "\(n) boards: must be 1 or a positive multiple of 3 (whole triads)")
            }
            guard n <= maxBoards else { throw bad("boards", "\(n) boards: at most \(maxBoards)") }
            if n > 1 {
                let (w, h) = try triadGrid(boards: n)   // n is a multiple of 3 here
                guard w <= maxTriads else {
                    throw bad("boards", "\(n) boards make \(w) x \(h) triads, \(triadSide * w) chips wide (at most \(maximumSide))")
                }
            }
            return try build("boards") { try Machine.boards(n) }
        case "spalloc":
            let width = try required(description.width, "width")
            let height = try required(description.height, "height")
            for (field, side) in [("width", width), ("height", height)] {
                guard side >= triadSide + 4, (side - 4) % triadSide == 0, side <= maximumSide else {
                    throw bad(field, "\(side) chips: must be 12k + 4 with k >= 1 (16, 28, ... \(maximumSide - (maximumSide - 4) % triadSide))")
                }
            }
            return try build("width") { try Machine.spalloc(width: width, height: height) }
        default:
            throw bad("kind", "unknown machine kind \"\(kind)\"")
        }
    }

    /// The path and a reason for the first number in `value` (a number or nested arrays) that
    /// is not an integer; nil when there is none. Other types are left to the decoder.
    private static func nonInteger(_ value: Any, path: String) -> (String, String)? {
        if let array = value as? [Any] {
            for (i, element) in array.enumerated() {
                if let found = nonInteger(element, path: "\(path)[\(i)]") { return found }
            }
        } else if let number = value as? NSNumber, !(value is Bool), !(value is String), value as? Int == nil {
            return (path, "must be an integer, is \(number)")
        }
        return nil
    }

    /// The rows of an optional integer-array field, each checked for its length.
    private static func rows(_ value: [[Int]]?, length: Int, field: String,
                             bad: (String, String) -> MappingError) throws -> [[Int]] {
        let rows = value ?? []
        for (i, row) in rows.enumerated() where row.count != length {
            throw bad("\(field)[\(i)]", "must be an array of \(length) integers, has \(row.count)")
        }
        return rows
    }

    /// The JSON path and a short reason of a decoding error, e.g. ("dead_links[2][0]", "must be an integer").
    private static func fieldAndReason(of error: DecodingError) -> (String, String) {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case let .typeMismatch(type, context):
            return (path(context.codingPath), "must be \(type == String.self ? "a string" : type == Int.self ? "an integer" : "of type \(type)")")
        case let .valueNotFound(_, context):
            return (path(context.codingPath), "must not be null")
        case let .keyNotFound(key, context):
            return (path(context.codingPath + [key]), "missing")
        case let .dataCorrupted(context):
            return (path(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "\(error)")
        }
    }
}

/// The decoded form of a machine description file.
struct MachineDescription: Decodable {
    var kind: String
    var triads: [Int]?
    var boards: Int?
    var width: Int?
    var height: Int?
    var cores: Int?
    var dead_chips: [[Int]]?
    var dead_links: [[Int]]?

    /// The size fields present (whichever kind they belong to).
    var presentSizeFields: [String] {
        [("triads", triads != nil), ("boards", boards != nil), ("width", width != nil), ("height", height != nil)]
            .filter(\.1).map(\.0)
    }
}
