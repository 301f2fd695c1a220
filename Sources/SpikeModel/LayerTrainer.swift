import SpikeCluster

/// Spike times of a whole dataset at one layer's input, present in full on every rank.
public struct SpikeDataset: Sendable {
    public var shape: Shape
    public var count: Int
    /// `count * shape.count` bytes: step 0..<T or `noSpike`.
    public var times: [UInt8]
    public init(shape: Shape, count: Int, times: [UInt8]) {
        self.shape = shape; self.count = count; self.times = times
    }
}

/// A rank's best neuron for one training sample; the global winner is the candidate with the
/// earliest step, then the largest potential, then the lowest map index.
public struct WinnerCandidate: BitwiseCopyable, Equatable, Sendable {
    public var step: Int32
    public var potential: Float
    public var map: Int32
    public static let none = WinnerCandidate(step: .max, potential: 0, map: .max)
    public init(step: Int32, potential: Float, map: Int32) {
        self.step = step; self.potential = potential; self.map = map
    }

    public func beats(_ o: WinnerCandidate) -> Bool {
        if step != o.step { return step < o.step }
        if potential != o.potential { return potential > o.potential }
        return map < o.map
    }

    /// A 64-bit key whose minimum over ranks is the best candidate: step (8 bits), then the
    /// potential's bits inverted (a non-negative float's bit pattern grows with its value), then the
    /// map (20 bits). Potentials are sums of weights in [0, 1], so never negative.
    public var key: UInt64 {
        if step == .max { return .max }
        return UInt64(step) << 52 | UInt64(UInt32.max - potential.bitPattern) << 20 | UInt64(map)
    }

    public init(key: UInt64) {
        if key == .max { self = .none; return }
        step = Int32(key >> 52)
        potential = Float(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: key >> 20))
        map = Int32(key & 0xFFFFF)
    }

    public static func best(_ all: [WinnerCandidate]) -> WinnerCandidate {
        var b = WinnerCandidate.none
        for c in all where c.beats(b) { b = c }
        return b
    }
}

public struct EpochStats: Sendable {
    public var epoch: Int
    public var samples: Int
    /// Samples in which some neuron fired (and so learned).
    public var winners: Int
    /// Distinct maps that won at least once this epoch.
    public var activeMaps: Int
    public var seconds: Double
}

/// Trains one convolution layer exactly as the reference does, on a rank's slice of its maps:
/// per sample one random patch, the first neuron to fire (agreed over all ranks) wins, STDP on the
/// winner's kernel, threshold adaptation everywhere, annealing after each epoch.
public struct LayerTrainer {
    public let slice: ConvSlice
    public let timesteps: Int
    public let comm: Communicator
    public let seed: UInt64
    public let layerIndex: Int
    /// Layers with more weights than this (bytes, on the smallest rank's slice) train in groups of
    /// samples (`train` calls `runEpochGrouped`, same results; `runEpoch` is always the plain loop);
    /// tests lower it to exercise that path on small layers.
    /// 128 KB: MNIST conv2 on 2 ranks (200 KB per rank) trains 1.16x faster grouped than plain
    /// (0.155 against 0.18 s per 20000 samples); conv1 (6 KB) stays on the plain loop.
    public var groupWeightBytes = 128 << 10
    /// The weights of one block of maps on the grouped path, read from L2 by every sample of a
    /// group: 512 KB is 64 maps of MNIST fc1 (2048 synapses), the width of one pass of its
    /// trajectory loop (the L2 of the Zen 4 machine is 1 MB per core). Tests lower it for narrow blocks.
    public var groupBlockBytes = 512 << 10
    /// Bounds on the grouped path's samples per group (`runEpochGrouped`): the weights stream from
    /// memory once per group, so a group of G samples cuts that traffic G-fold; fc1 at T = 128 on one
    /// rank has 32 MB of weights and 2 MB of trajectories per sample. MNIST fc1, one rank, 6000
    /// samples: 4.6 s per epoch in groups of 4, 2.8 s of 16, 2.6 s of 32, 2.2 s of 64.
    public var groupTrajectoryBytes = 128 << 20
    public var maxGroupSamples = 64
    /// Groups hold one sample per 256 KB of weights and at least this many.
    public var minGroupSamples = 16
    /// The grouped path prepares its patches a stretch at a time (`SharedPatches`): as many whole
    /// groups as this many bytes of the longest records hold (at least one group). 512 KB is 128
    /// samples of MNIST conv2 (800 synapses, T = 128).
    public var patchStretchBytes = 512 << 10
    /// Added to the grouped path's threshold bound; tests make it negative to force its fallback.
    var groupBoundOffset: Float = 0

    public init(slice: ConvSlice, timesteps: Int, comm: Communicator, seed: UInt64, layerIndex: Int) {
        self.slice = slice; self.timesteps = timesteps; self.comm = comm; self.seed = seed
        self.layerIndex = layerIndex
    }

    /// Runs all epochs; `afterEpoch` runs on every rank after each epoch (pruning, progress).
    public func train(on data: SpikeDataset, afterEpoch: (EpochStats) -> Void) {
        var stdp = slice.spec.stdp
        var adaptation = slice.spec.thresholds
        // The grouped path reads each patch from a random image: its input goes into memory
        // backed by 2 MB pages, so those reads stop missing the TLB (`HugePageBytes`).
        let input = trainsGrouped ? HugePageBytes(copying: data.times) : nil
        for epoch in 0..<slice.spec.epochs {
            let start = monotonicSeconds()
            var stats: EpochStats
            if let input {
                stats = withExtendedLifetime(input) {
                    runEpochGrouped(epoch, on: data, input: input.bytes, stdp: stdp, adaptation: adaptation)
                }
            } else {
                stats = runEpoch(epoch, on: data, stdp: stdp, adaptation: adaptation)
            }
            stats.seconds = monotonicSeconds() - start
            stdp.anneal(slice.spec.anneal)
            adaptation.eta *= slice.spec.anneal
            afterEpoch(stats)
        }
    }

    /// Whether the layer trains on the grouped path (`runEpochGrouped`). Decided from the smallest
    /// slice of the layer's maps over the ranks (`MapSlices`), so that every rank decides the same:
    /// the grouped path's collectives (a gather of patch records per stretch) must match on all.
    var trainsGrouped: Bool {
        let smallest = sliceSizes.smallest
        return smallest >= 8 && slice.synapsesPerMap * smallest * 4 > groupWeightBytes
    }

    /// The smallest and the largest slice of the layer's maps over the ranks (`MapSlices`, as
    /// `train` slices them): the same on every rank, unlike this rank's own slice.
    var sliceSizes: (smallest: Int, largest: Int) {
        let counts = MapSlices(count: slice.spec.maps, ranks: comm.size).counts
        return (counts.min() ?? 0, counts.max() ?? 0)
    }

    /// One pass over the samples in an order drawn from the epoch's stream, on the plain loop.
    public func runEpoch(_ epoch: Int, on data: SpikeDataset, stdp: STDP, adaptation: ThresholdAdaptation) -> EpochStats {
        let spec = slice.spec
        let k = spec.kernel, inShape = data.shape
        let cin = inShape.channels, rowLen = k * cin
        let synapses = k * k * cin, m = slice.localMaps
        let firstMap = slice.maps.lowerBound, totalMaps = spec.maps
        let T = timesteps
        let maxY = inShape.height - k + 1, maxX = inShape.width - k + 1
        var rng = RandomStream(seed: seed, 2, UInt64(layerIndex), UInt64(epoch))
        let order = rng.permutation(data.count)
        let distributed = comm.size > 1
        var winners = 0
        var won = [Bool](repeating: false, count: totalMaps)
        var integrated = 0, offered = 0   // input spikes integrated, and in the patches (WorkCounters)

        // Per-sample scratch, allocated once per epoch.
        var patch = [UInt8](repeating: 0, count: synapses)
        var sorted = [Int32](repeating: 0, count: synapses)
        var bucketStart = [Int32](repeating: 0, count: T + 2)
        var potential = [Float](repeating: 0, count: max(m, 1))
        let termTable = UnsafeMutablePointer<Float>.allocate(capacity: 256)
        defer { termTable.deallocate() }

        data.times.withUnsafeBufferPointer { times in
        slice.weights.withUnsafeMutableBufferPointer { w in
        slice.thresholds.withUnsafeMutableBufferPointer { th in
        slice.mask.withUnsafeBufferPointer { mask in
        patch.withUnsafeMutableBufferPointer { patch in
        sorted.withUnsafeMutableBufferPointer { sorted in
        bucketStart.withUnsafeMutableBufferPointer { bucket in
        potential.withUnsafeMutableBufferPointer { pot in
            for sampleIndex in order {
                let y0 = rng.int(below: maxY), x0 = rng.int(below: maxX)
                // The patch, kernel-ordered, then its spiking inputs sorted by step (counting sort,
                // stable, so ties keep synapse order: the same order on every rank).
                let base = Int(sampleIndex) * inShape.count
                for ky in 0..<k {
                    let src = base + ((y0 + ky) * inShape.width + x0) * cin
                    for j in 0..<rowLen { patch[ky * rowLen + j] = times[src + j] }
                }
                for s in 0..<(T + 2) { bucket[s] = 0 }
                for i in 0..<synapses where patch[i] != noSpike { bucket[Int(patch[i]) + 1] += 1 }
                for s in 0..<T { bucket[s + 1] += bucket[s] }
                for i in 0..<synapses where patch[i] != noSpike {
                    let s = Int(patch[i])
                    sorted[Int(bucket[s])] = Int32(i)
                    bucket[s] += 1
                }
                // bucket[s] now ends step s; spikes of step s sit at [end(s-1), end(s)).

                var local = WinnerCandidate.none
                if m > 0 {
                    for j in 0..<m { pot[j] = 0 }
                    var at = 0
                    for s in 0..<T {
                        let end = Int(bucket[s])
                        if at == end { continue }
                        while at < end {
                            addRow(w.baseAddress! + Int(sorted[at]) * m, into: pot.baseAddress!, count: m)
                            at += 1
                        }
                        let best = bestReached(pot.baseAddress!, th.baseAddress!, count: m)
                        if best >= 0 {
                            local = WinnerCandidate(step: Int32(s), potential: pot[best], map: Int32(firstMap + best))
                            break
                        }
                    }
                    integrated += at
                }
                offered += Int(bucket[T - 1])
                let winner = distributed ? WinnerCandidate(key: comm.allreduceMin(local.key)) : local
                if winner.step == .max {
                    if bucket[T - 1] > 0 { adaptation.adaptSilent(th) }
                    continue
                }

                winners += 1
                won[Int(winner.map)] = true
                let post = Float(winner.step) / Float(T)
                adaptation.adapt(th, firstMap: firstMap, totalMaps: totalMaps, winner: Int(winner.map), t: post)
                if slice.maps.contains(Int(winner.map)) {
                    let j = Int(winner.map) - firstMap
                    stdp.updateKernel(synapses: synapses, timesteps: T, post: post, table: termTable,
                                      spike: { patch[$0] }, kept: { mask[$0 * m + j] != 0 },
                                      weight: { w[$0 * m + j] }, setWeight: { w[$0 * m + j] = $1 })
                }
            }
        }}}}}}}}
        WorkCounters.add(spikes: integrated, offered: offered, events: integrated * m, samples: data.count, steps: data.count * T)
        return EpochStats(epoch: epoch, samples: data.count, winners: winners,
                          activeMaps: won.filter { $0 }.count, seconds: 0)
    }
}

/// The map with the largest potential among those at or above threshold (lowest index on ties),
/// or -1. Eight maps are compared at once; a block with no crossing costs one compare.
@inline(__always)
func bestReached(_ p: UnsafePointer<Float>, _ th: UnsafePointer<Float>, count n: Int) -> Int {
    var best = -1
    var j = 0
    let pr = UnsafeRawPointer(p), tr = UnsafeRawPointer(th)
    while j + 8 <= n {
        let hit = pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) .>= tr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        if anyLane(hit) {
            for l in 0..<8 where hit[l] && (best < 0 || p[j + l] > p[best]) { best = j + l }
        }
        j += 8
    }
    while j < n {
        if p[j] >= th[j] && (best < 0 || p[j] > p[best]) { best = j }
        j += 1
    }
    return best
}

/// Whether some map's potential is at or above its threshold (`bestReached(...) >= 0`, stopping
/// at the first block of eight that has one).
@inline(__always)
func anyReached(_ p: UnsafePointer<Float>, _ th: UnsafePointer<Float>, count n: Int) -> Bool {
    var j = 0
    let pr = UnsafeRawPointer(p), tr = UnsafeRawPointer(th)
    while j + 8 <= n {
        if anyLane(pr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) .>= tr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)) { return true }
        j += 8
    }
    while j < n {
        if p[j] >= th[j] { return true }
        j += 1
    }
    return false
}

/// `dst[0..<n] += src[0..<n]`, eight lanes at a time: the inner loop of patch integration.
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
