/// The whole pipeline: partition, connect, place, allocate keys, route, build, compress and check
/// the tables.

/// The result of mapping a layer chain onto a machine. Arrays indexed by layer are parallel
/// to `layers`; `routes[l]` holds the routes of layer l's vertices to layer l+1 (none for the
/// last layer, and none for a vertex that feeds nothing).
public struct NetworkMapping: Sendable {
    public let layers: [NetworkLayer]
    public let maxNeuronsPerCore: Int
    public let tilings: [LayerTiling]
    public let vertices: [[MachineVertex]]
    /// `sinks[l][v]`: the vertices of layer l+1 that vertex v of layer l sends to.
    public let sinks: [[[Int]]]
    /// The placer kept, and the total routing distance (links of all trees) each placer gave.
    public let placer: Placer
    public let routingDistance: [Placer: Int]
    public let placements: [[Placement]]
    public let keySpace: KeySpace
    public let vertexKeys: [[KeyAndMask]]
    public let routes: [[MulticastRoute]]
    /// One entry per tree chip, defaultable entries included (what the routes need).
    public let uncompressedTables: [RoutingTable]
    /// What goes on the routers: defaultable entries dropped, same-route entries merged; checked
    /// to route every key like `uncompressedTables`.
    public let routingTables: [RoutingTable]

    /// Application cores holding a vertex.
    public var coresUsed: Int { placements.reduce(0) { $0 + $1.count } }

    /// Chips holding at least one vertex.
    public var chipsUsed: Int { Set(placements.joined().map(\.location.chip)).count }

    /// Entries of the longest compressed routing table.
    public var maxTableSize: Int { routingTables.map(\.entries.count).max() ?? 0 }

    /// Entries of the longest table before compression.
    public var maxUncompressedTableSize: Int { uncompressedTables.map(\.entries.count).max() ?? 0 }

    /// Links of the longest path from a source chip to one of its sink chips.
    public var longestRoute: Int { routes.joined().map(\.tree.depth).max() ?? 0 }

    public var summary: String {
        "\(coresUsed) cores on \(chipsUsed) chips, \(routingTables.count) routing tables, "
            + "largest \(maxTableSize) entries (\(maxUncompressedTableSize) before compression)"
    }

    /// The routing key of neuron (x, y, channel) of layer `layer`.
    public func key(x: Int, y: Int, channel: Int, layer: Int) -> UInt32 {
        let v = tilings[layer].vertexIndex(x: x, y: y, channel: channel)
        return keySpace.key(layer: layer, vertex: v, neuron: vertices[layer][v].localIndex(x: x, y: y, channel: channel))
    }
}

/// Maps a feed-forward chain onto `machine`. Throws a `MappingError` when the chain is invalid,
/// does not fit, cannot be routed or needs a routing table longer than the router holds.
public func mapNetwork(_ layers: [NetworkLayer], onto machine: Machine, maxNeuronsPerCore: Int = 256,
                       placer: Placer = .best, nerRadius: Int = 20) throws -> NetworkMapping {
    try validateChain(layers)
    let tilings = try tileLayers(layers, maxNeuronsPerCore: maxNeuronsPerCore)
    let vertices = try partitionLayers(layers, maxNeuronsPerCore: maxNeuronsPerCore)
    let sinks = connectVertices(layers, tilings: tilings)
    let (space, keys) = try allocateKeys(vertices, maxNeuronsPerCore: maxNeuronsPerCore)
    var tried: [(Placer, [[Placement]], [[MulticastRoute]], Int)] = []
    for p in placer == .best ? [Placer.simple, .hilbert] : [placer] {
        let placements = p == .simple ? try placeVertices(vertices, on: machine)
            : try placeVerticesAlongHilbertCurve(vertices, layers: layers, on: machine)
        let routes = try routeLayers(placements: placements, keys: keys, sinks: sinks, on: machine, radius: nerRadius)
        tried.append((p, placements, routes, routes.joined().reduce(0) { $0 + $1.tree.linkCount }))
    }
    let (kept, placements, routes, _) = tried.min { $0.3 < $1.3 }!
    let uncompressed = buildRoutingTables(routes.flatMap { $0 })
    let compressed = try compressTables(uncompressed, zoneMask: space.layerZoneMask, limit: machine.routerEntries)
    return NetworkMapping(layers: layers, maxNeuronsPerCore: maxNeuronsPerCore, tilings: tilings, vertices: vertices,
                          sinks: sinks, placer: kept,
                          routingDistance: Dictionary(uniqueKeysWithValues: tried.map { ($0.0, $0.3) }),
                          placements: placements, keySpace: space, vertexKeys: keys, routes: routes,
                          uncompressedTables: uncompressed, routingTables: compressed)
}

/// Routes every vertex of layer l to the cores of its sinks in layer l+1.
public func routeLayers(placements: [[Placement]], keys: [[KeyAndMask]], sinks: [[[Int]]],
                        on machine: Machine, radius: Int = 20) throws -> [[MulticastRoute]] {
    try placements.indices.map { l in
        guard l + 1 < placements.count else { return [] }
        return try placements[l].compactMap { source in
            let sinkVertices = sinks[l][source.vertex.index]
            guard !sinkVertices.isEmpty else { return nil }
            var targets: [ChipCoordinate: Set<Int>] = [:]
            for v in sinkVertices {
                let p = placements[l + 1][v].location
                targets[p.chip, default: []].insert(p.core)
            }
            let tree = try routeTree(from: source.location.chip, to: Set(targets.keys), on: machine, radius: radius)
            return MulticastRoute(keyAndMask: keys[l][source.vertex.index], source: source.vertex,
                                  tree: tree, targets: targets)
        }
    }
}
