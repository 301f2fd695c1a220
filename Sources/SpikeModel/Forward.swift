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

/// Spike times of a few images through a stage, on a rank's slice of maps.
///
/// Without inference-time inhibition every output neuron is independent, so each output cell of
/// each image (a "job") is simulated on its own: the spiking inputs of its receptive field are put
/// in time order (then synapse order, which is also input-index order: the order of an event-driven
/// simulation), and 32 (or 8) maps at a time integrate them in SIMD registers, checking thresholds at
/// every step boundary. Potentials never leave registers.
///
/// Weights are `[synapse][map]`. When they fit in L2 (conv layers) the jobs run one by one over all
/// maps. When they do not (an fc layer of 4096 maps holds 32 MB), the maps are cut into blocks
/// whose weights fit in L2 and the sorted inputs of many jobs (several images) are kept, so each
/// block is read from memory once per group of images instead of once per image. Each lane adds the
/// same weights in the same order either way: the output does not depend on the blocking.
public final class StageKernel {
    let stage: Stage
    let m: Int
    let mPadded: Int
    /// Weights `[k][mPadded]`, zero-padded to whole SIMD blocks.
    let weights: [Float]
    /// Thresholds, padded with +infinity (padding lanes never fire).
    let thresholds: [Float]
    /// Images per `run`.
    let capacity: Int
    /// Output cells of the convolution per image.
    let cells: Int
    /// Conv output of each image slot, `[slot][y][x][localMap]`.
    let convTimes: UnsafeMutableBufferPointer<UInt8>
    /// Pooled output of the last `pool(slot:)`, one image.
    var poolTimes: [UnsafeMutableBufferPointer<UInt8>]
    /// Maps integrated per pass over a group of jobs (all of them when the weights fit in L2).
    let mapBlock: Int
    /// Sorted receptive-field entries of the current group of jobs: weight-row byte offset and step.
    let entryCapacity: Int
    let entryOffsets: UnsafeMutablePointer<Int32>
    let entrySteps: UnsafeMutablePointer<UInt8>
    let jobStart: UnsafeMutablePointer<Int>
    let jobLength: UnsafeMutablePointer<Int>
    let jobCapacity: Int
    // Per-job scratch for sorting a receptive field: `step << 24 | synapse` keys, step counters.
    let keys: UnsafeMutablePointer<UInt32>
    let counts: UnsafeMutablePointer<Int32>
    let timesteps: Int
    let inhibit: Bool
    /// With inhibition: this slice's candidate key per cell of each image slot.
    let cellKeys: UnsafeMutablePointer<UInt64>
    /// Conv layers without inference-time inhibition build every cell's sorted receptive field
    /// from one sort of the image (`runScattered`); `scatterRows` output rows at a time.
    let scatter: Bool
    let scatterRows: Int
    /// The image's inputs by step (then input order): step, row, column and channel.
    let spikeSteps: UnsafeMutablePointer<UInt8>
    let spikeY: UnsafeMutablePointer<UInt16>
    let spikeX: UnsafeMutablePointer<UInt16>
    let spikeC: UnsafeMutablePointer<UInt16>
    let stepStarts: UnsafeMutablePointer<Int32>
    /// Receptive-field spikes gathered so far, over every `run` (WorkCounters).
    var gathered = 0

    /// L2 budget for one block of weights.
    public static let weightBlockBytes = 256 << 10

    /// Budget for the receptive-field entries of one band of output rows (`runScattered`).
    public static let scatterBandBytes = 512 << 10

    init(stage: Stage, timesteps: Int, capacity: Int, weightBlockBytes: Int = StageKernel.weightBlockBytes,
         scatterBandBytes: Int = StageKernel.scatterBandBytes) {
        self.stage = stage
        self.timesteps = timesteps
        let c = stage.conv
        m = c.localMaps
        mPadded = (m + 7) / 8 * 8
        let k = c.synapsesPerMap
        thresholds = c.thresholds + [Float](repeating: .infinity, count: mPadded - m)
        cells = c.output.height * c.output.width
        inhibit = c.spec.inhibitInference
        let fits = k * mPadded * 4 <= weightBlockBytes
        // A block of whole 32-map groups (8 at the least) whose weights fit the budget.
        let perBlock = weightBlockBytes / max(k * 4, 1)
        let block = fits || inhibit ? max(mPadded, 8) : max(8, perBlock >= 32 ? perBlock / 32 * 32 : perBlock / 8 * 8)
        mapBlock = block
        // Each block of maps stored on its own, `[block][synapse][mapBlock]`: a block's rows are
        // contiguous (prefetch and TLB friendly). With one block this is `[synapse][mPadded]`.
        let blocks = (mPadded + block - 1) / block
        var w = [Float](repeating: 0, count: blocks * k * block)
        for i in 0..<k { for j in 0..<m { w[(j / block) * k * block + i * block + j % block] = c.weights[i * m + j] } }
        weights = w
        let inShape = c.input, ow = c.output.width
        scatter = fits && !inhibit && k > 0 && inShape.height < 1 << 16 && inShape.width < 1 << 16 && inShape.channels < 1 << 16
        // Scattered: the receptive fields of whole output rows, `scatterBandBytes` of entries (5 bytes each).
        scatterRows = scatter ? max(1, min(c.output.height, scatterBandBytes / max(5 * k * ow, 1))) : 0
        // Blocked: keep many jobs' sorted inputs (about 320 KB); otherwise one job at a time.
        entryCapacity = scatter ? scatterRows * ow * k : fits || inhibit ? max(k, 1) : max(k, 1 << 16)
        jobCapacity = scatter ? scatterRows * ow : fits || inhibit ? 1 : max(1, entryCapacity / max(k, 1))
        let inputs = scatter ? inShape.count : 0
        spikeSteps = .allocate(capacity: inputs); spikeY = .allocate(capacity: inputs)
        spikeX = .allocate(capacity: inputs); spikeC = .allocate(capacity: inputs)
        stepStarts = .allocate(capacity: 257)
        self.capacity = max(1, capacity)
        convTimes = .allocate(capacity: self.capacity * cells * max(m, 1))
        var shape = c.output
        poolTimes = []
        for p in stage.pools {
            shape = p.outputShape(shape)
            poolTimes.append(.allocate(capacity: shape.height * shape.width * max(m, 1)))
        }
        entryOffsets = .allocate(capacity: entryCapacity)
        entrySteps = .allocate(capacity: entryCapacity)
        jobStart = .allocate(capacity: jobCapacity)
        jobLength = .allocate(capacity: jobCapacity)
        precondition(k < 1 << 24, "a receptive field of \(k) synapses (at most 2^24 - 1)")
        keys = .allocate(capacity: max(k, 1))
        counts = .allocate(capacity: timesteps + 1)
        cellKeys = .allocate(capacity: self.capacity * cells)
    }

    deinit {
        convTimes.deallocate()
        for p in poolTimes { p.deallocate() }
        entryOffsets.deallocate(); entrySteps.deallocate(); jobStart.deallocate(); jobLength.deallocate()
        keys.deallocate(); counts.deallocate(); cellKeys.deallocate()
        spikeSteps.deallocate(); spikeY.deallocate(); spikeX.deallocate(); spikeC.deallocate(); stepStarts.deallocate()
    }

    /// The stage output of the image last pooled (`[y][x][localMap]` steps or `noSpike`), or the conv
    /// output of `slot` when the stage has no pooling.
    func output(slot: Int) -> UnsafeMutableBufferPointer<UInt8> {
        poolTimes.last ?? conv(slot: slot)
    }

    func conv(slot: Int) -> UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(rebasing: convTimes[(slot * cells * m)..<((slot + 1) * cells * m)])
    }

    /// The convolution of `count <= capacity` images (`input + i * stride`) into slots 0..<count;
    /// with inhibition, each cell's candidate key into `cellKeys` instead.
    func run(_ input: UnsafePointer<UInt8>, stride inStride: Int, count: Int) {
        precondition(count <= capacity)
        guard m > 0 else { return }
        let total = count * cells
        var next = 0
        weights.withUnsafeBufferPointer { wb in
        thresholds.withUnsafeBufferPointer { thb in
            let w = UnsafeRawPointer(wb.baseAddress!), th = UnsafeRawPointer(thb.baseAddress!)
            if scatter {
                for image in 0..<count { runScattered(input + image * inStride, slot: image, w: w, th: th) }
                return
            }
            while next < total {
                // A group of jobs whose sorted inputs fit the entry buffer.
                var jobs = 0, used = 0
                while next + jobs < total && jobs < jobCapacity && used + stage.conv.synapsesPerMap <= entryCapacity {
                    let job = next + jobs
                    let n = gather(input + (job / cells) * inStride, cell: job % cells, at: used)
                    jobStart[jobs] = used; jobLength[jobs] = n
                    used += n; jobs += 1
                }
                gathered += used
                if inhibit {
                    cellKeys[next] = firstWinner(start: 0, n: jobLength[0], w: w, th: th).key
                } else {
                    for block in Swift.stride(from: 0, to: mPadded, by: mapBlock) {
                        let blockEnd = min(block + mapBlock, mPadded)
                        let blockWeights = w + block * stage.conv.synapsesPerMap * 4
                        for j in 0..<jobs {
                            let out = convTimes.baseAddress! + (next + j) * m
                            var map = block
                            while map + 32 <= blockEnd {
                                integrate32(job: j, map: map, w: blockWeights + (map - block) * 4, th: th, out: out)
                                map += 32
                            }
                            while map < blockEnd {
                                integrate8(job: j, map: map, w: blockWeights + (map - block) * 4, th: th, out: out)
                                map += 8
                            }
                        }
                    }
                }
                next += jobs
            }
        }}
    }

    /// The spiking inputs of one cell's receptive field, counting-sorted by step (synapse order kept
    /// within a step), into the entry buffer at `at`. Returns how many. Used where `runScattered`
    /// is not: fc layers (blocked weights) and inference-time inhibition. Each input becomes a key
    /// `step << 24 | synapse`, collected in synapse order.
    private func gather(_ input: UnsafePointer<UInt8>, cell: Int, at: Int) -> Int {
        let c = stage.conv, spec = c.spec
        let inShape = c.input, k = spec.kernel, cin = inShape.channels, ow = c.output.width
        let y0 = (cell / ow) * spec.stride - spec.pad, x0 = (cell % ow) * spec.stride - spec.pad
        var n = 0
        for ky in 0..<k {
            let y = y0 + ky
            if y < 0 || y >= inShape.height { continue }
            for kx in 0..<k {
                let x = x0 + kx
                if x < 0 || x >= inShape.width { continue }
                let src = input + (y * inShape.width + x) * cin
                let syn = UInt32(truncatingIfNeeded: (ky * k + kx) * cin)
                for ch in 0..<cin where src[ch] != noSpike {
                    keys[n] = UInt32(src[ch]) << 24 | (syn + UInt32(truncatingIfNeeded: ch)); n += 1
                }
            }
        }
        let rowBytes = Int32(truncatingIfNeeded: mapBlock * 4)
        let T = timesteps
        for s in 0...T { counts[s] = 0 }
        for i in 0..<n { counts[Int(keys[i] >> 24) + 1] += 1 }
        for s in 0..<T { counts[s + 1] += counts[s] }   // counts[s] = start of step s
        for i in 0..<n {
            let s = Int(keys[i] >> 24)
            let to = at + Int(counts[s])
            entryOffsets[to] = Int32(truncatingIfNeeded: keys[i] & 0xFF_FFFF) &* rowBytes
            entrySteps[to] = UInt8(truncatingIfNeeded: s)
            counts[s] += 1
        }
        return n
    }

    /// One image's convolution into `slot`, for conv layers whose weights fit in L2, without
    /// inhibition. Sorting each receptive field on its own (`gather`) re-examines every input
    /// about k x k times and sorts each field again; here the image's spiking inputs are
    /// counting-sorted by step once, in input order (row, column, channel) within a step, and each
    /// is appended to the entry list of every output cell whose field holds it. Within a cell's
    /// field the synapse index `(ky * k + kx) * cin + ch` grows with (row, column, channel), so each
    /// list comes out in (step, synapse) order: the order `gather` produces, and the same sums.
    private func runScattered(_ input: UnsafePointer<UInt8>, slot: Int, w: UnsafeRawPointer, th: UnsafeRawPointer) {
        let c = stage.conv, spec = c.spec
        let inShape = c.input, h = inShape.height, wd = inShape.width, cin = inShape.channels
        let k = spec.kernel, stride = spec.stride, pad = spec.pad
        let oh = c.output.height, ow = c.output.width
        let syn = c.synapsesPerMap, rowBytes = Int32(truncatingIfNeeded: mapBlock * 4)
        // Counting sort by step; the no-spike bucket (255) comes last and is never read.
        for s in 0..<257 { stepStarts[s] = 0 }
        let n = inShape.count
        for i in 0..<n { stepStarts[Int(input[i]) + 1] += 1 }
        for s in 0..<256 { stepStarts[s + 1] += stepStarts[s] }
        let spikes = Int(stepStarts[Int(noSpike)])
        var i = 0
        for y in 0..<h {
            for x in 0..<wd {
                for ch in 0..<cin {
                    let s = Int(input[i])
                    let to = Int(stepStarts[s])
                    spikeSteps[to] = UInt8(truncatingIfNeeded: s)
                    spikeY[to] = UInt16(truncatingIfNeeded: y); spikeX[to] = UInt16(truncatingIfNeeded: x)
                    spikeC[to] = UInt16(truncatingIfNeeded: ch)
                    stepStarts[s] += 1
                    i += 1
                }
            }
        }
        // Output rows in bands of `scatterRows`, each band's fields in the entry buffer.
        var oy0 = 0
        while oy0 < oh {
            let oy1 = min(oh, oy0 + scatterRows)
            let jobs = (oy1 - oy0) * ow
            for j in 0..<jobs { jobStart[j] = j * syn; jobLength[j] = 0 }
            var used = 0
            for e in 0..<spikes {
                let yy = Int(spikeY[e]) + pad, xx = Int(spikeX[e]) + pad
                // Output rows and columns whose field holds the input: o * stride <= yy < o * stride + k.
                let oyLo = max(oy0, yy - k + 1 <= 0 ? 0 : (yy - k + stride) / stride), oyHi = min(oy1 - 1, yy / stride)
                if oyLo > oyHi { continue }
                let oxLo = max(0, xx - k + 1 <= 0 ? 0 : (xx - k + stride) / stride), oxHi = min(ow - 1, xx / stride)
                if oxLo > oxHi { continue }
                let step = spikeSteps[e], ch = Int(spikeC[e])
                for oy in oyLo...oyHi {
                    let ky = yy - oy * stride
                    let rowJob = (oy - oy0) * ow
                    for ox in oxLo...oxHi {
                        let kx = xx - ox * stride
                        let job = rowJob + ox
                        let at = jobStart[job] + jobLength[job]
                        entryOffsets[at] = Int32(truncatingIfNeeded: (ky * k + kx) * cin + ch) &* rowBytes
                        entrySteps[at] = step
                        jobLength[job] += 1
                    }
                    used += oxHi - oxLo + 1
                }
            }
            gathered += used
            for j in 0..<jobs {
                let out = convTimes.baseAddress! + (slot * cells + oy0 * ow + j) * m
                var map = 0
                while map + 32 <= mPadded {
                    integrate32(job: j, map: map, w: w + map * 4, th: th, out: out)
                    map += 32
                }
                while map < mPadded {
                    integrate8(job: j, map: map, w: w + map * 4, th: th, out: out)
                    map += 8
                }
            }
            oy0 = oy1
        }
    }


    /// Fire steps of maps `map ..< map + 32` for job `j` (`w`: their weights in the first row of
    /// their block; rows `mapBlock` floats apart): four 8-lane accumulators over the job's
    /// entries in order; a lane fires at the first step boundary where its potential reaches its
    /// threshold. (Plain SIMD8 values: wider generic SIMD types spill to the stack.)
    @inline(__always)
    private func integrate32(job j: Int, map: Int, w: UnsafeRawPointer, th: UnsafeRawPointer,
                             out: UnsafeMutablePointer<UInt8>) {
        typealias F = SIMD8<Float>
        typealias I = SIMD8<Int32>
        var p0 = F(), p1 = F(), p2 = F(), p3 = F()
        // A lane that fired gets an infinite threshold, so the check at each step boundary is
        // one compare per register (a step mostly holds one or two inputs: the check costs more
        // than the additions).
        var t0 = th.loadUnaligned(fromByteOffset: map * 4, as: F.self)
        var t1 = th.loadUnaligned(fromByteOffset: map * 4 + 32, as: F.self)
        var t2 = th.loadUnaligned(fromByteOffset: map * 4 + 64, as: F.self)
        var t3 = th.loadUnaligned(fromByteOffset: map * 4 + 96, as: F.self)
        let never = F(repeating: .infinity)
        let unfired = I(repeating: Int32(noSpike))
        var o0 = unfired, o1 = unfired, o2 = unfired, o3 = unfired
        let wb = w
        var i = jobStart[j]
        let end = i + jobLength[j]
        while i < end {
            let s = entrySteps[i]
            repeat {
                let row = wb + Int(entryOffsets[i])
                p0 += row.loadUnaligned(fromByteOffset: 0, as: F.self)
                p1 += row.loadUnaligned(fromByteOffset: 32, as: F.self)
                p2 += row.loadUnaligned(fromByteOffset: 64, as: F.self)
                p3 += row.loadUnaligned(fromByteOffset: 96, as: F.self)
                i += 1
            } while i < end && entrySteps[i] == s
            let h0 = p0 .>= t0, h1 = p1 .>= t1, h2 = p2 .>= t2, h3 = p3 .>= t3
            if anyLane(h0 .| h1 .| h2 .| h3) {
                let step = Int32(s)
                o0.replace(with: step, where: h0); o1.replace(with: step, where: h1)
                o2.replace(with: step, where: h2); o3.replace(with: step, where: h3)
                t0.replace(with: never, where: h0); t1.replace(with: never, where: h1)
                t2.replace(with: never, where: h2); t3.replace(with: never, where: h3)
                if !anyLane((o0 .== unfired) .| (o1 .== unfired) .| (o2 .== unfired) .| (o3 .== unfired)) { break }
            }
        }
        let lanes = m - map
        for l in 0..<min(8, lanes) { out[map + l] = UInt8(truncatingIfNeeded: o0[l]) }
        for l in 0..<max(0, min(8, lanes - 8)) { out[map + 8 + l] = UInt8(truncatingIfNeeded: o1[l]) }
        for l in 0..<max(0, min(8, lanes - 16)) { out[map + 16 + l] = UInt8(truncatingIfNeeded: o2[l]) }
        for l in 0..<max(0, min(8, lanes - 24)) { out[map + 24 + l] = UInt8(truncatingIfNeeded: o3[l]) }
    }

    /// The same for maps `map ..< map + 8`.
    @inline(__always)
    private func integrate8(job j: Int, map: Int, w: UnsafeRawPointer, th: UnsafeRawPointer,
                            out: UnsafeMutablePointer<UInt8>) {
        var p = SIMD8<Float>()
        var t = th.loadUnaligned(fromByteOffset: map * 4, as: SIMD8<Float>.self)
        let unfired = SIMD8<Int32>(repeating: Int32(noSpike))
        var o = unfired
        let wb = w
        var i = jobStart[j]
        let end = i + jobLength[j]
        while i < end {
            let s = entrySteps[i]
            repeat {
                p += (wb + Int(entryOffsets[i])).loadUnaligned(as: SIMD8<Float>.self)
                i += 1
            } while i < end && entrySteps[i] == s
            let h = p .>= t   // fired lanes have an infinite threshold (see integrate32)
            if anyLane(h) {
                o.replace(with: Int32(s), where: h)
                t.replace(with: .infinity, where: h)
                if !anyLane(o .== unfired) { break }
            }
        }
        for l in 0..<min(8, m - map) { out[map + l] = UInt8(truncatingIfNeeded: o[l]) }
    }

    /// With inference-time lateral inhibition, the first neuron of a cell to fire silences the other
    /// maps there. Returns this slice's candidate for the current cell (earliest step, then largest
    /// potential, then lowest map), from the sorted receptive field; the global winner is agreed over
    /// the ranks afterwards (`applyWinners`).
    private func firstWinner(start: Int, n: Int, w: UnsafeRawPointer, th: UnsafeRawPointer) -> WinnerCandidate {
        var best = WinnerCandidate.none
        let firstMap = Int32(stage.conv.maps.lowerBound)
        let end = start + n
        for block in Swift.stride(from: 0, to: mPadded, by: 8) {
            var p = SIMD8<Float>(repeating: 0)
            let thv = th.loadUnaligned(fromByteOffset: block * 4, as: SIMD8<Float>.self)
            var i = start
            while i < end {
                let s = entrySteps[i]
                if best.step != .max && Int32(s) > best.step { break }   // cannot beat the candidate
                repeat {
                    p += w.loadUnaligned(fromByteOffset: Int(entryOffsets[i]) + block * 4, as: SIMD8<Float>.self)
                    i += 1
                } while i < end && entrySteps[i] == s
                let hit = p .>= thv
                if anyLane(hit) {
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

    /// Conv output of `slot` from the agreed winners (one `WinnerCandidate.key` per cell).
    func applyWinners(_ keys: UnsafePointer<UInt64>, slot: Int) {
        let m = self.m, maps = stage.conv.maps
        let conv = self.conv(slot: slot)
        for i in 0..<(cells * m) { conv[i] = noSpike }
        for cell in 0..<cells {
            let c = WinnerCandidate(key: keys[cell])
            if c.step != .max, maps.contains(Int(c.map)) { conv[cell * m + Int(c.map) - maps.lowerBound] = UInt8(c.step) }
        }
    }

    /// Spiking max pooling of `slot`'s conv output: a pooled neuron fires at the first spike in its window.
    func pool(slot: Int) {
        var src = UnsafeBufferPointer(conv(slot: slot))
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
/// `images` runs only those images of `data` (every rank of `comm` passes the same range): the
/// output then holds `images.count` images, and `inspectConv` and `progress` number them from 0 at
/// `images.lowerBound`. Each image's output does not depend on which other images run with it.
@discardableResult
public func runStage(_ stage: Stage, on data: SpikeDataset, images: Range<Int>? = nil, timesteps: Int, batchSize: Int,
                     exchange: Bool, comm: Communicator, stats: inout ForwardStats,
                     inspectConv: ((Int, UnsafeBufferPointer<UInt8>) -> Void)? = nil,
                     progress: (Int) -> Void = { _ in },
                     weightBlockBytes: Int = StageKernel.weightBlockBytes) -> SpikeDataset? {
    let range = images ?? 0..<data.count
    precondition(range.lowerBound >= 0 && range.upperBound <= data.count, "runStage: images \(range) of \(data.count)")
    let first = range.lowerBound, count = range.count
    let T = timesteps, inN = data.shape.count
    let outShape = stage.outputShape, per = outShape.count
    let m = stage.conv.localMaps, cout = outShape.channels, firstMap = stage.conv.maps.lowerBound
    let cells = outShape.height * outShape.width
    let convCells = stage.conv.output.height * stage.conv.output.width
    // Exchanged events are Int32 (image-in-batch, neuron) indices: keep a batch under 2^31 of them.
    let batch = max(1, min(batchSize, count, Int(Int32.max) / max(per, 1)))
    // Images per kernel call: a group shares each block of weights read from memory (fc layers).
    let group = min(batch, 64)
    let kernel = StageKernel(stage: stage, timesteps: T, capacity: group, weightBlockBytes: weightBlockBytes)
    var outTimes = [UInt8](repeating: noSpike, count: exchange ? count * per : 0)
    var stepEvents = [[Int32]](repeating: [], count: T)
    var batchKeys: [UInt64] = []

    var b0 = 0, batches = 0
    while b0 < count {
        let nb = min(batch, count - b0)
        for s in 0..<T { stepEvents[s].removeAll(keepingCapacity: true) }
        // With inference-time inhibition, each cell's winner is agreed over the ranks for the whole
        // batch in one collective before any output exists.
        if kernel.inhibit {
            if batchKeys.count < nb * convCells { batchKeys = [UInt64](repeating: .max, count: nb * convCells) }
            for g0 in stride(from: 0, to: nb, by: group) {
                let ng = min(group, nb - g0)
                data.times.withUnsafeBufferPointer { t in kernel.run(t.baseAddress! + (first + b0 + g0) * inN, stride: inN, count: ng) }
                batchKeys.withUnsafeMutableBufferPointer { (UnsafeMutableRawPointer($0.baseAddress!) + g0 * convCells * 8)
                    .copyMemory(from: kernel.cellKeys, byteCount: ng * convCells * 8) }
            }
            if comm.size > 1 {
                batchKeys.withUnsafeMutableBufferPointer { comm.allreduceMin(UnsafeMutableBufferPointer(rebasing: $0[0..<(nb * convCells)])) }
                stats.exchanges += 1
                stats.bytesExchanged += nb * convCells * 8
            }
        }
        for g0 in stride(from: 0, to: nb, by: group) {
            let ng = min(group, nb - g0)
            if kernel.inhibit {
                batchKeys.withUnsafeBufferPointer { k in
                    for i in 0..<ng { kernel.applyWinners(k.baseAddress! + (g0 + i) * convCells, slot: i) }
                }
            } else {
                data.times.withUnsafeBufferPointer { t in kernel.run(t.baseAddress! + (first + b0 + g0) * inN, stride: inN, count: ng) }
            }
            for slot in 0..<ng {
                let i = g0 + slot
                inspectConv?(b0 + i, UnsafeBufferPointer(kernel.conv(slot: slot)))
                guard exchange else { continue }
                kernel.pool(slot: slot)
                // This rank's spikes of the image, as global neuron indices, by step.
                let o = kernel.output(slot: slot)
                for cell in 0..<cells {
                    for j in 0..<m where o[cell * m + j] != noSpike {
                        stepEvents[Int(o[cell * m + j])].append(Int32(i * per + cell * cout + firstMap + j))
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
                outTimes.withUnsafeMutableBufferPointer { o in
                    for e in events {
                        let img = Int(e) / per, n = Int(e) - img * per
                        o[(b0 + img) * per + n] = UInt8(s)
                    }
                }
            }
        }
        b0 += nb
        batches += 1
        progress(b0)
    }
    WorkCounters.add(spikes: kernel.gathered, offered: kernel.gathered, events: kernel.gathered * m, samples: count, steps: batches * T)
    return exchange ? SpikeDataset(shape: outShape, count: count, times: outTimes) : nil
}
