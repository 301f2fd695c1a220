import Foundation

/// Loading a machine from a short JSON description such as cluster-configs/machines/spinn5.json:
///
///     {"kind": "spinn5", "dead_chips": [[x, y]], "dead_links": [[x, y, link]]}
///
/// "kind" is required ("spinn5" or "spinn3"); the other two fields are optional. A dead link is
/// dead in the direction given only (the link of that chip's router).
extension Machine {
    static let descriptionFields: Set<String> = ["kind", "dead_chips", "dead_links"]

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
        let base: Machine
        switch kind {
        case "spinn5": base = spinn5()
        case "spinn3": base = spinn3()
        default: throw bad("kind", "unknown machine kind \"\(kind)\" (expected \"spinn5\" or \"spinn3\")")
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
    var dead_chips: [[Int]]?
    var dead_links: [[Int]]?
}
