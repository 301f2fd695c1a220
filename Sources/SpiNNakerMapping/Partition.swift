/// Partitioning: every layer split into machine vertices, one per core. Feature maps are tiled in
/// 2-D with tiles that divide the map (as sPyNNaker tiles 2-D populations); maps smaller than a
/// core's share are packed several to a core.

/// A slice of one layer that runs on one core: a rectangle of the map, for a run of channels.
public struct MachineVertex: Hashable, Sendable {
    /// Index of the layer in the chain.
    public let layer: Int
    /// Index of this vertex within its layer.
    public let index: Int
    /// Columns `x` and rows `y` of the map this vertex holds.
    public let xs: Range<Int>
    public let ys: Range<Int>
    /// Channels (feature maps) this vertex holds.
    public let channels: Range<Int>
    /// "layerName/index", unique over the network.
    public let label: String

    public init(layer: Int, index: Int, xs: Range<Int>, ys: Range<Int>, channels: Range<Int>, label: String) {
        self.layer = layer
        self.index = index
        self.xs = xs
        self.ys = ys
        self.channels = channels
        self.label = label
    }

    public var neuronCount: Int { xs.count * ys.count * channels.count }

    /// Index of neuron (x, y, c) within this vertex (channel fastest, then x, then y): the low
    /// bits of its routing key.
    public func localIndex(x: Int, y: Int, channel c: Int) -> Int {
        ((y - ys.lowerBound) * xs.count + (x - xs.lowerBound)) * channels.count + (c - channels.lowerBound)
    }
}

/// How one layer is cut: a `tileWidth x tileHeight` tile (dividing the map) times a group of
/// `channelsPerVertex` channels. Vertex `(group * tilesY + ty) * tilesX + tx`: one map's tiles
/// are consecutive, as sPyNNaker keeps one population's cores together.
public struct LayerTiling: Equatable, Sendable {
    public let width: Int, height: Int, channels: Int
    public let tileWidth: Int, tileHeight: Int, channelsPerVertex: Int

    /// The tiling of a `width x height x channels` layer with at most `maxNeurons` per vertex: the
    /// whole map with `floor(maxNeurons / area)` channels per vertex when a map fits a core;
    /// otherwise one channel per vertex and the largest tile that divides the map, the squarest
    /// of those, the wider on a tie.
    public init(width: Int, height: Int, channels: Int, maxNeurons: Int) {
        self.width = width; self.height = height; self.channels = channels
        if width * height <= maxNeurons {
            tileWidth = width; tileHeight = height
            channelsPerVertex = min(channels, maxNeurons / (width * height))
            return
        }
        var best = (w: 1, h: 1)
        func better(_ a: (w: Int, h: Int), _ b: (w: Int, h: Int)) -> Bool {
            if a.w * a.h != b.w * b.h { return a.w * a.h > b.w * b.h }
            let ra = max(a.w, a.h) * min(b.w, b.h), rb = max(b.w, b.h) * min(a.w, a.h)
            if ra != rb { return ra < rb }
            return a.w > b.w
        }
        for w in 1...width where width % w == 0 && w <= maxNeurons {
            for h in 1...height where height % h == 0 && w * h <= maxNeurons {
                if better((w, h), best) { best = (w, h) }
            }
        }
        tileWidth = best.w; tileHeight = best.h; channelsPerVertex = 1
    }

    public var tilesX: Int { width / tileWidth }
    public var tilesY: Int { height / tileHeight }
    public var groups: Int { (channels + channelsPerVertex - 1) / channelsPerVertex }
    public var vertexCount: Int { tilesX * tilesY * groups }

    public func vertexIndex(tileX tx: Int, tileY ty: Int, group g: Int) -> Int { (g * tilesY + ty) * tilesX + tx }

    /// The vertex holding neuron (x, y, c).
    public func vertexIndex(x: Int, y: Int, channel c: Int) -> Int {
        vertexIndex(tileX: x / tileWidth, tileY: y / tileHeight, group: c / channelsPerVertex)
    }

    /// (tile x, tile y, channel group) of vertex `v`.
    public func position(of v: Int) -> (tx: Int, ty: Int, group: Int) {
        (v % tilesX, (v / tilesX) % tilesY, v / (tilesX * tilesY))
    }

    public func vertex(_ v: Int, layer: Int, name: String) -> MachineVertex {
        let (tx, ty, g) = position(of: v)
        return MachineVertex(layer: layer, index: v,
                             xs: tx * tileWidth ..< (tx + 1) * tileWidth,
                             ys: ty * tileHeight ..< (ty + 1) * tileHeight,
                             channels: g * channelsPerVertex ..< min((g + 1) * channelsPerVertex, channels),
                             label: "\(name)/\(v)")
    }

    /// The channel groups holding channels `cs`.
    public func groups(holding cs: Range<Int>) -> ClosedRange<Int> {
        (cs.lowerBound / channelsPerVertex)...((cs.upperBound - 1) / channelsPerVertex)
    }
}

/// The tiling of every layer of a chain.
public func tileLayers(_ layers: [NetworkLayer], maxNeuronsPerCore: Int) throws -> [LayerTiling] {
    guard maxNeuronsPerCore > 0 else {
        throw MappingError.invalidNetwork("maxNeuronsPerCore must be positive, got \(maxNeuronsPerCore)")
    }
    return layers.map { LayerTiling(width: $0.width, height: $0.height, channels: $0.channels, maxNeurons: maxNeuronsPerCore) }
}

/// Splits every layer into vertices of at most `maxNeuronsPerCore` neurons (`LayerTiling`).
/// Result: one array of vertices per layer, indexed by vertex index.
public func partitionLayers(_ layers: [NetworkLayer], maxNeuronsPerCore: Int) throws -> [[MachineVertex]] {
    let tilings = try tileLayers(layers, maxNeuronsPerCore: maxNeuronsPerCore)
    return layers.indices.map { l in
        (0..<tilings[l].vertexCount).map { tilings[l].vertex($0, layer: l, name: layers[l].name) }
    }
}
