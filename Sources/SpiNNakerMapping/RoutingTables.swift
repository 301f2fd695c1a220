/// Routing tables: the entries every chip of every multicast tree needs.

/// One router entry. `route` is the SpiNNaker route word: bits 0-5 links, bit 6+p core p.
public struct RoutingEntry: Hashable, Sendable, CustomStringConvertible {
    public let key: UInt32
    public let mask: UInt32
    public let route: UInt32
    /// One incoming link, one outgoing link opposite to it and no cores: default routing does
    /// the same, so the entry may be left out.
    public let defaultable: Bool

    public init(key: UInt32, mask: UInt32, route: UInt32, defaultable: Bool) {
        self.key = key
        self.mask = mask
        self.route = route
        self.defaultable = defaultable
    }

    public var keyAndMask: KeyAndMask { KeyAndMask(key: key, mask: mask) }

    public var links: [Link] { Link.allCases.filter { route & (1 << UInt32($0.rawValue)) != 0 } }

    public var cores: [Int] { (0..<18).filter { route & (1 << UInt32(6 + $0)) != 0 } }

    public var description: String {
        "\(keyAndMask) -> links \(links.map(\.rawValue)) cores \(cores)\(defaultable ? " (defaultable)" : "")"
    }
}

/// The route word sending on `links` and to `cores`.
public func routeWord<L: Sequence, C: Sequence>(links: L, cores: C) -> UInt32
    where L.Element == Link, C.Element == Int
{
    var word: UInt32 = 0
    for link in links { word |= 1 << UInt32(link.rawValue) }
    for core in cores { word |= 1 << UInt32(6 + core) }
    return word
}

/// The table of one chip; entries are matched in order, the first match wins.
public struct RoutingTable: Equatable, Sendable {
    public let chip: ChipCoordinate
    public var entries: [RoutingEntry]

    public init(chip: ChipCoordinate, entries: [RoutingEntry]) {
        self.chip = chip
        self.entries = entries
    }
}

/// One source vertex's traffic: its keys, its tree and the cores it must reach per chip.
public struct MulticastRoute: Equatable, Sendable {
    public let keyAndMask: KeyAndMask
    public let source: MachineVertex
    public let tree: RoutingTree
    public let targets: [ChipCoordinate: Set<Int>]

    public init(keyAndMask: KeyAndMask, source: MachineVertex, tree: RoutingTree, targets: [ChipCoordinate: Set<Int>]) {
        self.keyAndMask = keyAndMask
        self.source = source
        self.tree = tree
        self.targets = targets
    }
}

/// The entry a tree needs on chip `c`.
func entry(for route: MulticastRoute, on c: ChipCoordinate) -> RoutingEntry {
    let links = route.tree.outgoing[c] ?? []
    let cores = route.targets[c] ?? []
    let arrival = route.tree.arrival[c]
    let defaultable = cores.isEmpty && links.count == 1 && arrival != nil && links.first == arrival!.opposite
    return RoutingEntry(key: route.keyAndMask.key, mask: route.keyAndMask.mask,
                        route: routeWord(links: links, cores: cores), defaultable: defaultable)
}

/// Uncompressed tables: one entry per route on every chip of its tree, in route order; only
/// chips with entries get a table. Tables are sorted by chip.
public func buildRoutingTables(_ routes: [MulticastRoute]) -> [RoutingTable] {
    var entries: [ChipCoordinate: [RoutingEntry]] = [:]
    for route in routes {
        for c in route.tree.chips.sorted() {
            entries[c, default: []].append(entry(for: route, on: c))
        }
    }
    return entries.keys.sorted().map { RoutingTable(chip: $0, entries: entries[$0]!) }
}
