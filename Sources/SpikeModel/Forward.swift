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

/// Spike times of one image through a stage, on a rank's slice of maps.
///
/// Without inference-time inhibition every output neuron is independent, so each output cell is
/// simulated on its own: the spiking inputs of its receptive field are put in time order (then
/// synapse order, which is also input-index order: the order of an event-driven simulation), and
/// eight maps at a time integrate them in one SIMD register, checking thresholds at every step
/// boundary. Potentials never leave registers; the kernel (k*k*c_in rows) stays in L1.
final class StageKernel {
    let stage: Stage
    let m: Int
    let mPadded: Int
    /// Weights `[k][mPadded]`, zero-padded to whole SIMD blocks.
    let weights: [Float]
    /// Thresholds, padded with +infinity (padding lanes never fire).
    let thresholds: [Float]
    let convTimes: UnsafeMutableBufferPointer<UInt8>
    var poolTimes: [UnsafeMutableBufferPointer<UInt8>]
    // Per-cell scratch: the receptive field's spiking inputs sorted by (step, synapse).
    let order: UnsafeMutablePointer<Int>
    let steps: UnsafeMutablePointer<UInt8>
    let sortedOrder: UnsafeMutablePointer<Int>
    let sortedSteps: UnsafeMutablePointer<UInt8>
    let counts: UnsafeMutablePointer<Int32>
    let timesteps: Int
    let inhibit: Bool
    /// With inhibition: this slice's candidate key per cell of the current image.
    let cellKeys: UnsafeMutablePointer<UInt64>

    init(stage: Stage, timesteps: Int) {
        self.stage = stage
        self.timesteps = timesteps
        let c = stage.conv
        m = c.localMaps
        mPadded = (m + 7) / 8 * 8
        let k = c.synapsesPerMap
        var w = [Float](repeating: 0, count: k * mPadded)
        for i in 0..<k { for j in 0..<m { w[i * mPadded + j] = c.weights[i * m + j] } }
        weights = w
        thresholds = c.thresholds + [Float](repeating: .infinity, count: mPadded - m)
        convTimes = .allocate(capacity: c.output.height * c.output.width * max(m, 1))
        var shape = c.output
        poolTimes = []
        for p in stage.pools {
            shape = p.outputShape(shape)
            poolTimes.append(.allocate(capacity: shape.height * shape.width * max(m, 1)))
        }
        order = .allocate(capacity: k)
        steps = .allocate(capacity: k)
        sortedOrder = .allocate(capacity: k)
        sortedSteps = .allocate(capacity: k)
        counts = .allocate(capacity: timesteps + 1)
        inhibit = c.spec.inhibitInference
        cellKeys = .allocate(capacity: c.output.height * c.output.width)
    }

    deinit {
        convTimes.deallocate()
        for p in poolTimes { p.deallocate() }
        order.deallocate(); steps.deallocate(); counts.deallocate()
        sortedOrder.deallocate(); sortedSteps.deallocate(); cellKeys.deallocate()
    }

    /// The stage output of one image (`[y][x][localMap]` steps or `noSpike`).
    var output: UnsafeMutableBufferPointer<UInt8> { poolTimes.last ?? convTimes }

    func run(_ input: UnsafePointer<UInt8>) {
        let c = stage.conv, spec = c.spec
        let inShape = c.input, k = spec.kernel, cin = inShape.channels
        let oh = c.output.height, ow = c.output.width, m = self.m, mp = mPadded
        let T = timesteps
        guard m > 0 else { return }
        weights.withUnsafeBufferPointer { wb in
        thresholds.withUnsafeBufferPointer { thb in
            let w = UnsafeRawPointer(wb.baseAddress!), th = UnsafeRawPointer(thb.baseAddress!)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    // Receptive field, counting-sorted by step; synapse order kept within a step.
                    let y0 = oy * spec.stride - spec.pad, x0 = ox * spec.stride - spec.pad
                    var n = 0
                    for s in 0...T { counts[s] = 0 }
                    for ky in 0..<k {
                        let y = y0 + ky
                        if y < 0 || y >= inShape.height { continue }
                        for kx in 0..<k {
                            let x = x0 + kx
                            if x < 0 || x >= inShape.width { continue }
                            let src = input + (y * inShape.width + x) * cin
                            let syn = (ky * k + kx) * cin
                            for ch in 0..<cin where src[ch] != noSpike {
                                // Byte offset of the synapse's weight row.
                                steps[n] = src[ch]; order[n] = (syn + ch) * mp * 4; n += 1
                                counts[Int(src[ch]) + 1] += 1
                            }
                        }
                    }
                    for s in 0..<T { counts[s + 1] += counts[s] }   // counts[s] = start of step s
                    sortByStep(n: n)
                    let cell = (oy * ow + ox) * m
                    if inhibit {
                        cellKeys[oy * ow + ox] = firstWinner(n: n, w: w, th: th).key
                        continue
                    }
                    for block in stride(from: 0, to: mp, by: 8) {
                        var p = SIMD8<Float>(repeating: 0)
                        let thv = th.loadUnaligned(fromByteOffset: block * 4, as: SIMD8<Float>.self)
                        let blockOffset = block * 4
                        // Fire step per lane; noSpike (255) until the lane fires.
                        var out = SIMD8<Int32>(repeating: Int32(noSpike))
                        let unfired = SIMD8<Int32>(repeating: Int32(noSpike))
                        var i = 0
                        while i < n {
                            let s = Int(sortedSteps[i])
                            let end = Int(counts[s])   // end of step s after the sort (see sortByStep)
                            while i < end {
                                p += w.loadUnaligned(fromByteOffset: sortedOrder[i] + blockOffset, as: SIMD8<Float>.self)
                                i += 1
                            }
                            let hit = (p .>= thv) .& (out .== unfired)
                            if any(hit) {
                                out.replace(with: Int32(s), where: hit)
                                if !any(out .== unfired) { break }
                            }
                        }
                        let lanes = min(8, m - block)
                        for l in 0..<lanes { convTimes[cell + block + l] = UInt8(truncatingIfNeeded: out[l]) }
                    }
                }
            }
        }}
        if !inhibit { pool() }
    }

    /// With inference-time lateral inhibition, the first neuron of a cell to fire silences the other
    /// maps there. Returns this slice's candidate for the current cell (earliest step, then largest
    /// potential, then lowest map), from the sorted receptive field; the global winner is agreed over
    /// the ranks afterwards (`applyWinners`).
    private func firstWinner(n: Int, w: UnsafeRawPointer, th: UnsafeRawPointer) -> WinnerCandidate {
        var best = WinnerCandidate.none
        let firstMap = Int32(stage.conv.maps.lowerBound)
        for block in stride(from: 0, to: mPadded, by: 8) {
            var p = SIMD8<Float>(repeating: 0)
            let thv = th.loadUnaligned(fromByteOffset: block * 4, as: SIMD8<Float>.self)
            var i = 0
            while i < n {
                let s = Int(sortedSteps[i])
                if s > Int(best.step) && best.step != .max { break }   // cannot beat the candidate
                let end = Int(counts[s])
                while i < end {
                    p += w.loadUnaligned(fromByteOffset: sortedOrder[i] + block * 4, as: SIMD8<Float>.self)
                    i += 1
                }
                let hit = p .>= thv
                if any(hit) {
                    for l in 0..<8 where hit[l] {
                        let c = WinnerCandidate(step: Int32(s), potential: p[l], map: firstMap + Int32(block + l))
                        if c.beats(best) { best = c }
                    }
                    break
                }
            }
        }
        return best
    }

    /// Conv output from the agreed winners (one `WinnerCandidate.key` per cell), then pooling.
    func applyWinners(_ keys: UnsafePointer<UInt64>) {
        let cells = stage.conv.output.height * stage.conv.output.width, m = self.m
        let maps = stage.conv.maps
        for i in 0..<(cells * m) { convTimes[i] = noSpike }
        for cell in 0..<cells {
            let c = WinnerCandidate(key: keys[cell])
            if c.step != .max, maps.contains(Int(c.map)) { convTimes[cell * m + Int(c.map) - maps.lowerBound] = UInt8(c.step) }
        }
        pool()
    }

    /// Stable counting sort of the `n` gathered inputs by step; afterwards `counts[s]` is the end
    /// of step s's entries.
    private func sortByStep(n: Int) {
        for i in 0..<n {
            let s = Int(steps[i])
            let at = Int(counts[s])
            sortedOrder[at] = order[i]; sortedSteps[at] = steps[i]
            counts[s] += 1
        }
    }

    /// Spiking max pooling on the slice: a pooled neuron fires at the first spike in its window.
    private func pool() {
        var src = UnsafeBufferPointer(convTimes)
        var shape = Shape(height: stage.conv.output.height, width: stage.conv.output.width, channels: m)
        for (pi, p) in stage.pools.enumerated() {
            let outShape = p.outputShape(shape)
            let dst = poolTimes[pi]
            for oy in 0..<outShape.height {
                for ox in 0..<outShape.width {
                    let o = (oy * outShape.width + ox) * m
                    for j in 0..<m { dst[o + j] = noSpike }
                    for wy in 0..<p.window {
                        let y = oy * p.stride - p.pad + wy
                        if y < 0 || y >= shape.height { continue }
                        for wx in 0..<p.window {
                            let x = ox * p.stride - p.pad + wx
                            if x < 0 || x >= shape.width { continue }
                            let s = (y * shape.width + x) * m
                            for j in 0..<m { dst[o + j] = min(dst[o + j], src[s + j]) }
                        }
                    }
                }
            }
            src = UnsafeBufferPointer(dst)
            shape = Shape(height: outShape.height, width: outShape.width, channels: m)
        }
    }
}

/// What the spike exchange cost: collectives called and bytes gathered.
public struct ForwardStats: Sendable {
    public var exchanges: Int = 0
    public var bytesExchanged: Int = 0
    public init() {}
}

/// Runs a frozen stage over a dataset in batches. Each rank simulates its maps for every image of
/// the batch; `inspectConv(image, times)` sees each image's convolution output (before pooling) on
/// the rank's slice, `[y][x][localMap]`. With `exchange == true`, every timestep's spikes of the
/// whole batch are then allgathered in one collective per timestep and the full stage output of
/// every image is returned on every rank; with `exchange == false` nothing is kept or exchanged.
@discardableResult
public func runStage(_ stage: Stage, on data: SpikeDataset, timesteps: Int, batchSize: Int,
                     exchange: Bool, comm: Communicator, stats: inout ForwardStats,
                     inspectConv: ((Int, UnsafeBufferPointer<UInt8>) -> Void)? = nil,
                     progress: (Int) -> Void = { _ in }) -> SpikeDataset? {
    let T = timesteps, inN = data.shape.count
    let outShape = stage.outputShape, per = outShape.count
    let m = stage.conv.localMaps, cout = outShape.channels, firstMap = stage.conv.maps.lowerBound
    let cells = outShape.height * outShape.width
    let convCells = stage.conv.output.height * stage.conv.output.width
    // Exchanged events are Int32 (image-in-batch, neuron) indices: keep a batch under 2^31 of them.
    let batch = max(1, min(batchSize, data.count, Int(Int32.max) / max(per, 1)))
    let kernel = StageKernel(stage: stage, timesteps: T)
    var outTimes = [UInt8](repeating: noSpike, count: exchange ? data.count * per : 0)
    var stepEvents = [[Int32]](repeating: [], count: T)
    var batchKeys: [UInt64] = []

    var b0 = 0
    while b0 < data.count {
        let nb = min(batch, data.count - b0)
        for s in 0..<T { stepEvents[s].removeAll(keepingCapacity: true) }
        // With inference-time inhibition, each cell's winner is agreed over the ranks for the whole
        // batch in one collective before any output exists.
        if kernel.inhibit {
            if batchKeys.count < nb * convCells { batchKeys = [UInt64](repeating: .max, count: nb * convCells) }
            for i in 0..<nb {
                data.times.withUnsafeBufferPointer { t in kernel.run(t.baseAddress! + (b0 + i) * inN) }
                batchKeys.withUnsafeMutableBufferPointer { (UnsafeMutableRawPointer($0.baseAddress!) + i * convCells * 8)
                    .copyMemory(from: kernel.cellKeys, byteCount: convCells * 8) }
            }
            if comm.size > 1 {
                batchKeys.withUnsafeMutableBufferPointer { comm.allreduceMin(UnsafeMutableBufferPointer(rebasing: $0[0..<(nb * convCells)])) }
                stats.exchanges += 1
                stats.bytesExchanged += nb * convCells * 8
            }
        }
        for i in 0..<nb {
            if kernel.inhibit {
                batchKeys.withUnsafeBufferPointer { kernel.applyWinners($0.baseAddress! + i * convCells) }
            } else {
                data.times.withUnsafeBufferPointer { t in kernel.run(t.baseAddress! + (b0 + i) * inN) }
            }
            inspectConv?(b0 + i, UnsafeBufferPointer(kernel.convTimes))
            guard exchange else { continue }
            // This rank's spikes of the image, as global neuron indices, by step.
            let o = kernel.output
            for cell in 0..<cells {
                for j in 0..<m where o[cell * m + j] != noSpike {
                    stepEvents[Int(o[cell * m + j])].append(Int32(i * per + cell * cout + firstMap + j))
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
                outTimes.withUnsafeMutableBufferPointer { o in
                    for e in events {
                        let img = Int(e) / per, n = Int(e) - img * per
                        o[(b0 + img) * per + n] = UInt8(s)
                    }
                }
            }
        }
        b0 += nb
        progress(b0)
    }
    return exchange ? SpikeDataset(shape: outShape, count: data.count, times: outTimes) : nil
}
