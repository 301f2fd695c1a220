/// Which vertices feed which (receptive fields over the tiles, pruned kernel slices left out), and
/// the synaptic memory each core needs.

/// Whether slice `(c_in, map)` of a conv mask keeps any synapse: `[c_in * maps + map]`.
func keptSlices(mask: [UInt8], positions: Int, inChannels: Int, maps: Int) -> [Bool] {
    var kept = [Bool](repeating: false, count: inChannels * maps)
    for pos in 0..<positions {
        for c in 0..<inChannels {
            let base = (pos * inChannels + c) * maps
            for m in 0..<maps where mask[base + m] != 0 { kept[c * maps + m] = true }
        }
    }
    return kept
}

/// The tiles (of width `tile`) of the layer before holding a row (or column) that a window of `k`,
/// stride `s`, pad `p` reads for outputs `outs`, inside `0 ..< size`, ascending. Exact when the
/// stride skips rows (s > k): only the rows some output reads count.
func sourceTiles(_ outs: Range<Int>, k: Int, s: Int, p: Int, size: Int, tile: Int) -> [Int] {
    var tiles: [Int] = []
    for o in outs {
        let lo = max(0, o * s - p), hi = min(size - 1, o * s - p + k - 1)
        guard lo <= hi else { continue }
        for t in (lo / tile)...(hi / tile) where tiles.last.map({ $0 < t }) ?? true { tiles.append(t) }
    }
    return tiles
}

/// For every layer l but the last, for every vertex of l: the vertices of l + 1 it sends to,
/// ascending. A conv vertex receives from the tiles its receptive field overlaps, in the channel
/// groups holding an input channel of a kept slice of one of its maps; a pooling vertex from the
/// same channels; a `full` layer from every vertex.
public func connectVertices(_ layers: [NetworkLayer], tilings: [LayerTiling]) -> [[[Int]]] {
    var sinks: [[[Int]]] = layers.indices.map { l in [[Int]](repeating: [], count: l + 1 < layers.count ? tilings[l].vertexCount : 0) }
    for l in 1..<layers.count {
        let layer = layers[l], before = layers[l - 1], tin = tilings[l - 1], tout = tilings[l]
        var kept: [Bool]? = nil
        if case let .conv(k, _, _) = layer.connection, let mask = layer.mask {
            kept = keptSlices(mask: mask, positions: k * k, inChannels: before.channels, maps: layer.channels)
        }
        for v in 0..<tout.vertexCount {
            let sink = tout.vertex(v, layer: l, name: layer.name)
            var groups: [Int] = []
            var window: (k: Int, s: Int, p: Int)? = nil
            switch layer.connection {
            case .full:
                for u in 0..<tin.vertexCount { sinks[l - 1][u].append(v) }
                continue
            case let .pool(k, s, p):
                window = (k, s, p)
                groups = Array(tin.groups(holding: sink.channels))
            case let .conv(k, s, p):
                window = (k, s, p)
                var used = [Bool](repeating: kept == nil, count: before.channels)
                if let kept {
                    for c in 0..<before.channels {
                        used[c] = sink.channels.contains { kept[c * layer.channels + $0] }
                    }
                }
                var seen = Set<Int>()
                for c in 0..<before.channels where used[c] && seen.insert(c / tin.channelsPerVertex).inserted {
                    groups.append(c / tin.channelsPerVertex)
                }
            }
            guard let (k, s, p) = window else { continue }
            let txs = sourceTiles(sink.xs, k: k, s: s, p: p, size: before.width, tile: tin.tileWidth)
            let tys = sourceTiles(sink.ys, k: k, s: s, p: p, size: before.height, tile: tin.tileHeight)
            for g in groups {
                for ty in tys {
                    for tx in txs { sinks[l - 1][tin.vertexIndex(tileX: tx, tileY: ty, group: g)].append(v) }
                }
            }
        }
    }
    return sinks
}

/// The synaptic memory one core needs for the synapses arriving at its neurons, in three forms:
/// - kernel form (sPyNNaker's convolution connector): one int16 weight per kernel position for
///   every `(c_in, map)` slice of the core's maps (pooling: one slice per map; `full`: one weight
///   per synapse), shared by all the core's neurons;
/// - pruned kernel form: slices with no kept synapse left out, and a slice whose kept weights take
///   less room as (int16 weight, int16 position) pairs stored that way;
/// - synaptic rows (a `FromListConnector`): 4 bytes per synapse of every neuron, only the synapses
///   whose source lies inside the layer before (not in the padding).
public struct SynapticMemory: Equatable, Sendable {
    public var denseKernelBytes = 0
    public var prunedKernelBytes = 0
    /// Synapses of the core's neurons before pruning and kept after it.
    public var denseSynapses = 0
    public var keptSynapses = 0
    public var denseRowBytes: Int { denseSynapses * 4 }
    public var prunedRowBytes: Int { keptSynapses * 4 }
    /// The smaller of the two pruned forms, what an exporter would load.
    public var prunedBytes: Int { min(prunedKernelBytes, prunedRowBytes) }
    public var denseBytes: Int { min(denseKernelBytes, denseRowBytes) }

    public init() {}

    public static func + (a: SynapticMemory, b: SynapticMemory) -> SynapticMemory {
        var r = SynapticMemory()
        r.denseKernelBytes = a.denseKernelBytes + b.denseKernelBytes
        r.prunedKernelBytes = a.prunedKernelBytes + b.prunedKernelBytes
        r.denseSynapses = a.denseSynapses + b.denseSynapses
        r.keptSynapses = a.keptSynapses + b.keptSynapses
        return r
    }
}

/// The synaptic memory of every vertex of layer `l` (layer 0, the input, needs none).
public func synapticMemory(_ layers: [NetworkLayer], tilings: [LayerTiling], layer l: Int) -> [SynapticMemory] {
    let tiling = tilings[l]
    guard l > 0 else { return [SynapticMemory](repeating: SynapticMemory(), count: tiling.vertexCount) }
    let layer = layers[l], before = layers[l - 1]
    let window: (k: Int, s: Int, p: Int)
    switch layer.connection {
    case .full:
        return (0..<tiling.vertexCount).map { v in
            var m = SynapticMemory()
            let n = tiling.vertex(v, layer: l, name: "").neuronCount * before.neuronCount
            m.denseSynapses = n; m.keptSynapses = n
            m.denseKernelBytes = n * 2; m.prunedKernelBytes = n * 2
            return m
        }
    case let .pool(k, s, p): window = (k, s, p)
    case let .conv(k, s, p): window = (k, s, p)
    }
    let (k, s, p) = window
    let positions = k * k
    var isPool = false
    if case .pool = layer.connection { isPool = true }
    let inPerNeuron = isPool ? 1 : before.channels
    // Kept synapses per (map, kernel position), summed over input channels, and per slice.
    var keptAt = [Int](repeating: inPerNeuron, count: layer.channels * positions)
    var keptInSlice = [Int](repeating: positions, count: isPool ? 0 : before.channels * layer.channels)
    if !isPool, let mask = layer.mask {
        keptAt = [Int](repeating: 0, count: layer.channels * positions)
        keptInSlice = [Int](repeating: 0, count: before.channels * layer.channels)
        for pos in 0..<positions {
            for c in 0..<before.channels {
                let base = (pos * before.channels + c) * layer.channels
                for m in 0..<layer.channels where mask[base + m] != 0 {
                    keptAt[m * positions + pos] += 1
                    keptInSlice[c * layer.channels + m] += 1
                }
            }
        }
    }
    return (0..<tiling.vertexCount).map { v in
        let vertex = tiling.vertex(v, layer: l, name: "")
        var mem = SynapticMemory()
        for m in vertex.channels {
            if isPool {
                mem.denseKernelBytes += positions * 2
            } else {
                mem.denseKernelBytes += before.channels * positions * 2
                for c in 0..<before.channels {
                    let kept = keptInSlice[c * layer.channels + m]
                    if kept > 0 { mem.prunedKernelBytes += min(positions * 2, kept * 4) }
                }
            }
        }
        if isPool { mem.prunedKernelBytes = mem.denseKernelBytes }
        for y in vertex.ys {
            for ky in 0..<k {
                let iy = y * s - p + ky
                guard iy >= 0, iy < before.height else { continue }
                for x in vertex.xs {
                    for kx in 0..<k {
                        let ix = x * s - p + kx
                        guard ix >= 0, ix < before.width else { continue }
                        let pos = ky * k + kx
                        mem.denseSynapses += inPerNeuron * vertex.channels.count
                        for m in vertex.channels { mem.keptSynapses += keptAt[m * positions + pos] }
                    }
                }
            }
        }
        return mem
    }
}
