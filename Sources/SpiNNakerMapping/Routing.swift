/// Routing: a multicast tree per source vertex, NER (Navaridas et al. 2015): sinks taken nearest
/// first, each joined to the nearest chip already in the tree within `radius` hops (the source when
/// none is that close) by a longest-dimension-first path; where that path meets a dead link, a
/// breadth-first search over live links from the whole tree replaces it.

/// A multicast tree over chips. Every chip but the source has exactly one parent.
public struct RoutingTree: Equatable, Sendable {
    public let source: ChipCoordinate
    /// Links each chip of the tree sends on (empty for leaves).
    public private(set) var outgoing: [ChipCoordinate: Set<Link>]
    /// For every chip but the source: the link of its own router the packet arrives on.
    public private(set) var arrival: [ChipCoordinate: Link]
    /// Links from the source to each chip along the tree.
    public private(set) var hops: [ChipCoordinate: Int]

    public init(source: ChipCoordinate) {
        self.source = source
        outgoing = [source: []]
        arrival = [:]
        hops = [source: 0]
    }

    public var chips: Set<ChipCoordinate> { Set(outgoing.keys) }

    /// Inter-chip links the tree uses.
    public var linkCount: Int { arrival.count }

    /// Links from the source to the farthest chip of the tree.
    public var depth: Int { hops.values.max() ?? 0 }

    public func contains(_ c: ChipCoordinate) -> Bool { outgoing[c] != nil }

    /// Adds the edge `parent --link--> child`; `child` must be new, `parent` in the tree.
    mutating func attach(_ child: ChipCoordinate, to parent: ChipCoordinate, via link: Link) {
        precondition(contains(parent) && !contains(child), "routing tree edge \(parent) -> \(child)")
        outgoing[parent]!.insert(link)
        outgoing[child] = []
        arrival[child] = link.opposite
        hops[child] = hops[parent]! + 1
    }
}

/// The chips visited by a longest-dimension-first path from `a` to `b` (excluding `a`), with the
/// link taken into each, or nil if the path would use a dead link.
public func longestDimensionFirstPath(from a: ChipCoordinate, to b: ChipCoordinate,
                                      on machine: Machine) -> [(link: Link, chip: ChipCoordinate)]? {
    var path: [(link: Link, chip: ChipCoordinate)] = []
    var here = a
    for link in machine.displacement(from: a, to: b).longestDimensionFirst {
        guard let next = machine.neighbour(of: here, via: link) else { return nil }
        path.append((link, next))
        here = next
    }
    return path
}

/// A shortest path over live links from any chip of `tree` to `sink` (excluding the tree chip
/// it starts from), or nil when the sink cannot be reached.
func breadthFirstPath(from tree: RoutingTree, to sink: ChipCoordinate,
                      on machine: Machine) -> (start: ChipCoordinate, steps: [(link: Link, chip: ChipCoordinate)])? {
    var cameFrom: [ChipCoordinate: (ChipCoordinate, Link)] = [:]
    var frontier = tree.chips.sorted()
    var seen = Set(frontier)
    while !frontier.isEmpty, !seen.contains(sink) {
        var next: [ChipCoordinate] = []
        for c in frontier {
            for link in Link.allCases {
                guard let n = machine.neighbour(of: c, via: link), !seen.contains(n) else { continue }
                seen.insert(n)
                cameFrom[n] = (c, link)
                next.append(n)
            }
        }
        frontier = next
    }
    guard seen.contains(sink) else { return nil }
    var steps: [(link: Link, chip: ChipCoordinate)] = []
    var here = sink
    while let (previous, link) = cameFrom[here] {
        steps.append((link, here))
        here = previous
    }
    return (here, steps.reversed())
}

/// Builds the multicast tree from `source` reaching every chip of `sinks`.
public func routeTree(from source: ChipCoordinate, to sinks: Set<ChipCoordinate>,
                      on machine: Machine, radius: Int = 20) throws -> RoutingTree {
    var tree = RoutingTree(source: source)
    let ordered = sinks.sorted {
        let (da, db) = (machine.hopDistance(source, $0), machine.hopDistance(source, $1))
        return da != db ? da < db : $0 < $1
    }
    for sink in ordered where !tree.contains(sink) {
        var nearest = source, best = machine.hopDistance(source, sink)
        for c in tree.outgoing.keys {
            let d = machine.hopDistance(c, sink)
            if d < best || (d == best && c < nearest) { (nearest, best) = (c, d) }
        }
        if best > radius { nearest = source }
        if let path = longestDimensionFirstPath(from: nearest, to: sink, on: machine) {
            // Walk the path; where it enters a chip already in the tree, continue from there.
            var here = nearest
            for (link, chip) in path {
                if !tree.contains(chip) { tree.attach(chip, to: here, via: link) }
                here = chip
            }
        } else if let (start, steps) = breadthFirstPath(from: tree, to: sink, on: machine) {
            var here = start
            for (link, chip) in steps {
                tree.attach(chip, to: here, via: link)
                here = chip
            }
        } else {
            throw MappingError.noRoute(from: source, to: sink)
        }
    }
    return tree
}
