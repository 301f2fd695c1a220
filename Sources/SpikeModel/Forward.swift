import SpikeCluster

/// A frozen convolution layer followed by any pooling layers, simulated over whole samples on a
/// rank's slice of maps. Pooling is per map, so it runs on the slice with no exchange; the spikes
/// the stage emits are exchanged each timestep when the caller needs the full output.
public struct Stage {
    public let conv: ConvSlice
    public let pools: [PoolSpec]
    public init(conv: ConvSlice, pools: [PoolSpec]) { self.conv = conv; self.pools = pools }

    public var outputShape: Shape {
        pools.reduce(conv.output) { $1.outputShape($0) }
    }
}

/// One image's simulation state for a stage: step-major, event-driven. A spike event is a neuron
/// index in HWC order with global channel numbers.
final class StageSimulator {
    let stage: Stage
    let m: Int
    let convOut: Shape
    // Potentials [y][x][m]; a neuron that fired is set to -infinity so it never fires again.
    var potential: [Float]
    var dirty: [UInt8]
    var dirtyList: [Int32] = []
    var fired: [Int32] = []
    // Per pool: 1 once the pooled neuron fired, [y][x][m].
    var poolFired: [[UInt8]]
    var poolShapes: [Shape]

    init(stage: Stage) {
        self.stage = stage
        m = stage.conv.localMaps
        convOut = stage.conv.output
        potential = [Float](repeating: 0, count: convOut.height * convOut.width * m)
        dirty = [UInt8](repeating: 0, count: convOut.height * convOut.width)
        var shapes: [Shape] = []
        var s = convOut
        for p in stage.pools { s = p.outputShape(s); shapes.append(s) }
        poolShapes = shapes
        poolFired = shapes.map { [UInt8](repeating: 0, count: $0.height * $0.width * stage.conv.localMaps) }
        fired.reserveCapacity(potential.count)
        dirtyList.reserveCapacity(dirty.count)
    }

    func reset() {
        potential.withUnsafeMutableBufferPointer { p in p.update(repeating: 0) }
        for i in poolFired.indices { poolFired[i].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Integrates the input events of one step (full input, ascending) and appends the events
    /// this rank's maps emit at this step after pooling (global indices) to `out` (emptied first).
    func step(input events: [Int32], into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        let spec = stage.conv.spec, inShape = stage.conv.input
        let k = spec.kernel, stride = spec.stride, pad = spec.pad
        let cin = inShape.channels, inW = inShape.width
        let oh = convOut.height, ow = convOut.width, m = self.m
        let firstMap = stage.conv.maps.lowerBound, cout = spec.maps
        guard m > 0 else { return }
        fired.removeAll(keepingCapacity: true)
        stage.conv.weights.withUnsafeBufferPointer { w in
        stage.conv.thresholds.withUnsafeBufferPointer { th in
        potential.withUnsafeMutableBufferPointer { pot in
        dirty.withUnsafeMutableBufferPointer { dirty in
            for e in events {
                let n = Int(e)
                let c = n % cin, pos = n / cin
                let x = pos % inW, y = pos / inW
                // Output rows oy with oy*stride - pad + ky = y for some ky in 0..<k.
                let oy0 = max(0, ceilDiv(y + pad - k + 1, stride)), oy1 = min(oh - 1, (y + pad) / stride)
                let ox0 = max(0, ceilDiv(x + pad - k + 1, stride)), ox1 = min(ow - 1, (x + pad) / stride)
                if oy0 > oy1 || ox0 > ox1 { continue }
                for oy in oy0...oy1 {
                    let ky = y + pad - oy * stride
                    for ox in ox0...ox1 {
                        let kx = x + pad - ox * stride
                        let cell = oy * ow + ox
                        addRow(w.baseAddress! + ((ky * k + kx) * cin + c) * m, into: pot.baseAddress! + cell * m, count: m)
                        if dirty[cell] == 0 { dirty[cell] = 1; dirtyList.append(Int32(cell)) }
                    }
                }
            }
            // Threshold check only where something arrived this step. The order of `fired` does
            // not matter: events are sorted wherever order could change a sum.
            for cell in dirtyList {
                let ci = Int(cell)
                dirty[ci] = 0
                fireReached(pot.baseAddress! + ci * m, th.baseAddress!, count: m, firstIndex: Int32(ci * m), into: &fired)
            }
            dirtyList.removeAll(keepingCapacity: true)
        }}}}
        // Pooling on the slice: a pooled neuron fires at the first spike in its window.
        var curShape = Shape(height: oh, width: ow, channels: m)
        for (pi, pool) in stage.pools.enumerated() {
            let ps = poolShapes[pi]
            var next: [Int32] = []
            poolFired[pi].withUnsafeMutableBufferPointer { done in
                for e in fired {
                    let n = Int(e)
                    let j = n % m, pos = n / m
                    let x = pos % curShape.width, y = pos / curShape.width
                    // Windows oy cover rows oy*stride-pad ..< oy*stride-pad+window.
                    let oy0 = max(0, ceilDiv(y + pool.pad - pool.window + 1, pool.stride))
                    let oy1 = min(ps.height - 1, (y + pool.pad) / pool.stride)
                    let ox0 = max(0, ceilDiv(x + pool.pad - pool.window + 1, pool.stride))
                    let ox1 = min(ps.width - 1, (x + pool.pad) / pool.stride)
                    if oy0 > oy1 || ox0 > ox1 { continue }
                    for oy in oy0...oy1 {
                        for ox in ox0...ox1 {
                            let o = (oy * ps.width + ox) * m + j
                            if done[o] == 0 { done[o] = 1; next.append(Int32(o)) }
                        }
                    }
                }
            }
            fired = next
            curShape = Shape(height: ps.height, width: ps.width, channels: m)
        }
        // Local (slice) indices to global HWC indices with global channels.
        for e in fired {
            let n = Int(e)
            let j = n % m, pos = n / m
            out.append(Int32(pos * cout + firstMap + j))
        }
    }
}

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? (a + b - 1) / b : -((-a) / b)
}

public struct ForwardStats: Sendable {
    public var images: Int = 0
    public var exchanges: Int = 0
    public var bytesExchanged: Int = 0
    public var seconds: Double = 0
    public init() {}
}

/// Runs a frozen stage over a dataset in batches. Each rank simulates its maps for every image of
/// the batch (image by image, so one image's potentials stay in cache); then, for
/// `exchange == true`, every timestep's spikes of the whole batch are allgathered in one collective
/// per timestep, so every rank holds the whole layer output.
///
/// With `exchange == false` nothing is exchanged: `consume(firstImage, images, times)` receives each
/// batch's spike times of this rank's maps only (`[image][y][x][localMap]`) and nothing is kept.
@discardableResult
public func runStage(_ stage: Stage, on data: SpikeDataset, timesteps: Int, batchSize: Int,
                     exchange: Bool, comm: Communicator, stats: inout ForwardStats,
                     consume: (Int, Int, UnsafeBufferPointer<UInt8>) -> Void = { _, _, _ in },
                     progress: (Int) -> Void = { _ in }) -> SpikeDataset? {
    let start = monotonicSeconds()
    let T = timesteps, inN = data.shape.count
    let outShape = stage.outputShape, per = outShape.count
    let m = stage.conv.localMaps
    let outN = exchange ? outShape.count : outShape.height * outShape.width * m
    let batch = max(1, min(batchSize, data.count))
    // Full output: the whole dataset; slice output: one batch at a time.
    var outTimes = [UInt8](repeating: noSpike, count: (exchange ? data.count : batch) * outN)
    let sim = StageSimulator(stage: stage)
    var buckets = [[Int32]](repeating: [], count: T)
    var stepEvents = [[Int32]](repeating: [], count: T)
    var emitted: [Int32] = []
    let firstMap = stage.conv.maps.lowerBound

    var b0 = 0
    while b0 < data.count {
        let nb = min(batch, data.count - b0)
        if !exchange {
            outTimes.withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] = noSpike } }
        }
        for s in 0..<T { stepEvents[s].removeAll(keepingCapacity: true) }
        for i in 0..<nb {
            sim.reset()
            for s in 0..<T { buckets[s].removeAll(keepingCapacity: true) }
            data.times.withUnsafeBufferPointer { t in
                let base = (b0 + i) * inN
                for n in 0..<inN where t[base + n] != noSpike { buckets[Int(t[base + n])].append(Int32(n)) }
            }
            for s in 0..<T where !buckets[s].isEmpty {   // no input, no change, no spike
                sim.step(input: buckets[s], into: &emitted)
                if exchange {
                    for e in emitted { stepEvents[s].append(Int32(i * per) + e) }
                } else {
                    outTimes.withUnsafeMutableBufferPointer { o in
                        for e in emitted {
                            let n = Int(e), j = n % outShape.channels - firstMap, pos = n / outShape.channels
                            o[i * outN + pos * m + j] = UInt8(s)
                        }
                    }
                }
            }
        }
        if exchange {
            for s in 0..<T {
                var events = stepEvents[s]
                if comm.size > 1 {
                    events = comm.allgatherv(events)
                    stats.exchanges += 2
                    stats.bytesExchanged += events.count * 4
                }
                // The next layer sums its inputs in event order: make it independent of the ranks.
                events.sort()
                outTimes.withUnsafeMutableBufferPointer { o in
                    for e in events {
                        let img = Int(e) / per, n = Int(e) - img * per
                        o[(b0 + img) * outN + n] = UInt8(s)
                    }
                }
            }
        } else {
            outTimes.withUnsafeBufferPointer { consume(b0, nb, UnsafeBufferPointer(rebasing: $0[0..<(nb * outN)])) }
        }
        b0 += nb
        stats.images += nb
        progress(b0)
    }
    stats.seconds += monotonicSeconds() - start
    return exchange ? SpikeDataset(shape: outShape, count: data.count, times: outTimes) : nil
}

/// `dst[0..<n] += src[0..<n]`, eight lanes at a time: the inner loop of event-driven convolution.
@inline(__always)
func addRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int) {
    var j = 0
    let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
    while j + 8 <= n {
        let v = d.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + s.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        d.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    while j < n { dst[j] += src[j]; j += 1 }
}

/// Fires every neuron of a cell with `p[j] >= th[j]`: marks it (-infinity) and appends
/// `firstIndex + j`. Eight lanes are compared at once; most blocks have nothing to fire.
@inline(__always)
func fireReached(_ p: UnsafeMutablePointer<Float>, _ th: UnsafePointer<Float>, count n: Int, firstIndex: Int32,
                 into fired: inout [Int32]) {
    var j = 0
    let pr = UnsafeMutableRawPointer(p), tr = UnsafeRawPointer(th)
    while j + 8 <= n {
        let a = pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        let b = tr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        let hit = a .>= b
        if any(hit) {
            for l in 0..<8 where hit[l] { fired.append(firstIndex + Int32(j + l)) }
            pr.storeBytes(of: a.replacing(with: -.infinity, where: hit), toByteOffset: j * 4, as: SIMD8<Float>.self)
        }
        j += 8
    }
    while j < n {
        if p[j] >= th[j] { p[j] = -.infinity; fired.append(firstIndex + Int32(j)) }
        j += 1
    }
}
