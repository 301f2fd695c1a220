/// The whole pipeline: partition, place, allocate keys, route, build and compress tables.

/// The result of mapping a layer chain onto a machine. Arrays indexed by layer are parallel
/// to `layers`; `routes[l]` holds the routes of layer l's vertices to layer l+1 (none for the
/// last layer).
public struct NetworkMapping: Sendable {
    public let layers: [NetworkLayer]
    public let maxNeuronsPerCore: Int
    public let vertices: [[MachineVertex]]
    public let placements: [[Placement]]
    public let keySpace: KeySpace
    public let vertexKeys: [[KeyAndMask]]
    public let routes: [[MulticastRoute]]
    /// One entry per tree chip, defaultable entries included (what the routes need).
    public let uncompressedTables: [RoutingTable]
    /// What goes on the routers: defaultable entries dropped, same-route entries merged.
    public let routingTables: [RoutingTable]

    /// Application cores holding a vertex.
    public var coresUsed: Int { placements.reduce(0) { $0 + $1.count } }

    /// Chips holding at least one vertex.
    public var chipsUsed: Int { Set(placements.joined().map(\.location.chip)).count }

    /// Entries of the longest compressed routing table.
    public var maxTableSize: Int { routingTables.map(\.entries.count).max() ?? 0 }

    /// Entries of the longest table before compression.
    public var maxUncompressedTableSize: Int { uncompressedTables.map(\.entries.count).max() ?? 0 }

    public var summary: String {
        "\(coresUsed) cores on \(chipsUsed) chips, \(routingTables.count) routing tables, "
            + "largest \(maxTableSize) entries (\(maxUncompressedTableSize) before compression)"
    }

    /// The routing key of neuron `neuron` (index within the layer) of layer `layer`.
    public func key(ofNeuron neuron: Int, inLayer layer: Int) -> UInt32 {
        keySpace.key(layer: layer, vertex: neuron / maxNeuronsPerCore, neuron: neuron % maxNeuronsPerCore)
    }
}

/// Maps a feed-forward chain onto `machine`. Throws a `MappingError` when the chain is invalid,
/// does not fit, cannot be routed or needs a routing table longer than the router holds.
public func mapNetwork(_ layers: [NetworkLayer], onto machine: Machine,
                       maxNeuronsPerCore: Int = 256) throws -> NetworkMapping {
    try validateChain(layers)
    let vertices = try partitionLayers(layers, maxNeuronsPerCore: maxNeuronsPerCore)
    let placements = try placeVertices(vertices, on: machine)
    let (space, keys) = try allocateKeys(vertices, maxNeuronsPerCore: maxNeuronsPerCore)
    let routes = try routeLayers(placements: placements, keys: keys, on: machine)
    let uncompressed = buildRoutingTables(routes.flatMap { $0 })
    let compressed = try compressTables(uncompressed, zoneMask: space.layerZoneMask,
                                        limit: machine.routerEntries)
    return NetworkMapping(layers: layers, maxNeuronsPerCore: maxNeuronsPerCore, vertices: vertices,
                          placements: placements, keySpace: space, vertexKeys: keys, routes: routes,
                          uncompressedTables: uncompressed, routingTables: compressed)
}

/// Routes every vertex of layer l to all vertices of layer l+1 (each layer feeds the next).
public func routeLayers(placements: [[Placement]], keys: [[KeyAndMask]],
                        on machine: Machine) throws -> [[MulticastRoute]] {
    try placements.indices.map { l in
        guard l + 1 < placements.count else { return [] }
        var targets: [ChipCoordinate: Set<Int>] = [:]
        for p in placements[l + 1] { targets[p.location.chip, default: []].insert(p.location.core) }
        let sinks = Set(targets.keys)
        return try placements[l].map { source in
            let tree = try routeTree(from: source.location.chip, to: sinks, on: machine)
            return MulticastRoute(keyAndMask: keys[l][source.vertex.index], tree: tree, targets: targets)
        }
    }
}
