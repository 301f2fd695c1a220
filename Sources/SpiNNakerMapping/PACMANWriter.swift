import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writers of PACMAN's machine.json, placements.json and routing_tables.json (the formats of
/// pacman/utilities/file_format_schemas in spinnaker-pacman 7.x).

/// The file names written and their contents.
public func pacmanFiles(_ mapping: NetworkMapping, machine: Machine) throws -> [(name: String, data: Data)] {
    for p in mapping.placements.joined() {
        guard let chip = machine.chips[p.location.chip], chip.applicationCoreIDs?.contains(p.p) == true else {
            throw MappingError.writeFailed(path: "placements.json",
                                           reason: "vertex \(p.vertex.label) sits on \(p.location), not an application core of this machine")
        }
    }
    return [
        ("machine.json", try encodeJSON(MachineFile(machine))),
        ("placements.json", try encodeJSON(mapping.placements.joined().map(PlacementRecord.init))),
        ("routing_tables.json", try encodeJSON(mapping.routingTables.map(TableRecord.init))),
    ]
}

public func machineJSON(_ machine: Machine) throws -> Data { try encodeJSON(MachineFile(machine)) }

/// Writes the three files into `directory` (created if missing), each atomically.
public func writePACMANFiles(_ mapping: NetworkMapping, machine: Machine, to directory: URL) throws {
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
        throw MappingError.writeFailed(path: directory.path, reason: error.localizedDescription)
    }
    for (name, data) in try pacmanFiles(mapping, machine: machine) {
        try writeAtomically(data, to: directory.appendingPathComponent(name))
    }
}

/// Writes to a temporary file in the same directory, then renames it over `url`, so a reader
/// sees either the old file or the whole new one.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
    do {
        try data.write(to: temporary)
    } catch {
        throw MappingError.writeFailed(path: temporary.path, reason: error.localizedDescription)
    }
    guard rename(temporary.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temporary)
        throw MappingError.writeFailed(path: url.path, reason: reason)
    }
}

func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return try encoder.encode(value)
    } catch {
        throw MappingError.writeFailed(path: "\(T.self)", reason: "\(error)")
    }
}

// MARK: - machine.json

struct ResourcesRecord: Encodable {
    let monitors: Int
    let routerEntries: Int
    let sdram: Int
    let tags: [Int]
}

struct ChipDetailsRecord: Encodable {
    let cores: Int
    let ethernet: [Int]
    let deadLinks: [Int]?
    let ipAddress: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cores, forKey: .cores)
        try c.encode(ethernet, forKey: .ethernet)
        try c.encodeIfPresent(deadLinks, forKey: .deadLinks)
        try c.encodeIfPresent(ipAddress, forKey: .ipAddress)
    }

    enum CodingKeys: String, CodingKey { case cores, ethernet, deadLinks, ipAddress }
}

/// [x, y, details]. Every chip has the standard resources of its kind (Ethernet or not), so
/// the optional fourth element, the resource exceptions, is never needed.
struct ChipRecord: Encodable {
    let x: Int
    let y: Int
    let details: ChipDetailsRecord

    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
        try c.encode(details)
    }
}

struct MachineFile: Encodable {
    let width: Int
    let height: Int
    let root: [Int]
    let standardResources: ResourcesRecord
    let ethernetResources: ResourcesRecord
    let chips: [ChipRecord]

    /// Ethernet chips have IP tags 1-7 (tag 0 is the system's); other chips have none.
    static let ethernetTags = Array(1...7)

    /// "monitors" counts the SCAMP monitor cores: one per chip (spinn_machine 7.x reads no other
    /// value). The further system cores we keep free are the front end's, not the machine's.
    static let monitorCores = 1

    init(_ machine: Machine) {
        width = machine.width
        height = machine.height
        root = [machine.root.x, machine.root.y]
        standardResources = ResourcesRecord(monitors: MachineFile.monitorCores, routerEntries: machine.routerEntries,
                                            sdram: machine.sdramPerChip, tags: [])
        ethernetResources = ResourcesRecord(monitors: MachineFile.monitorCores, routerEntries: machine.routerEntries,
                                            sdram: machine.sdramPerChip, tags: MachineFile.ethernetTags)
        chips = machine.coordinates.map { c in
            let chip = machine.chips[c]!
            let dead = chip.deadLinks.map(\.rawValue).sorted()
            return ChipRecord(
                x: c.x, y: c.y,
                details: ChipDetailsRecord(cores: chip.totalCores, ethernet: [chip.ethernet.x, chip.ethernet.y],
                                           deadLinks: dead.isEmpty ? nil : dead,
                                           ipAddress: chip.isEthernet ? chip.ipAddress : nil))
        }
    }
}

// MARK: - placements.json

struct PlacementRecord: Encodable {
    let vertex_label: String
    let x: Int
    let y: Int
    let p: Int

    init(_ placement: Placement) {
        vertex_label = placement.vertex.label
        x = placement.x
        y = placement.y
        p = placement.p
    }
}

// MARK: - routing_tables.json

struct EntryRecord: Encodable {
    let key: UInt32
    let mask: UInt32
    let defaultable: Bool
    let spinnaker_route: UInt32
}

struct TableRecord: Encodable {
    let x: Int
    let y: Int
    let entries: [EntryRecord]

    init(_ table: RoutingTable) {
        x = table.chip.x
        y = table.chip.y
        entries = table.entries.map {
            EntryRecord(key: $0.key, mask: $0.mask, defaultable: $0.defaultable, spinnaker_route: $0.route)
        }
    }
}
