import Testing
import SpikeCluster
import SpikeCompression
@testable import SpikeModel

/// A 3x3 input through a 2x2 convolution (one map, threshold 0.7) worked by hand.
/// Kernel w[ky][kx] = [[0.5, 0.25], [0.25, 0.5]]; input steps (T = 4, "-" = no spike):
///     0  1  -
///     2  -  0
///     -  3  1
/// Output (0,0): 0.5 at step 0, +0.25 at step 1 -> 0.75 >= 0.7: fires at 1.
/// Output (0,1): 0.5 (w11, step 0) + 0.5 (w00, step 1) -> fires at 1.
/// Output (1,0): 0.5 at step 2, +0.5 at step 3 -> fires at 3.
/// Output (1,1): 0.25 at step 0, +0.5 at step 1 -> 0.75: fires at 1.
@Suite struct ForwardTests {
    let input = SpikeDataset(shape: Shape(height: 3, width: 3, channels: 1), count: 1,
                             times: [0, 1, noSpike, 2, noSpike, 0, noSpike, 3, 1])

    func conv() -> ConvSlice {
        let spec = ConvSpec(name: "c", kernel: 2, maps: 1, epochs: 0, stdp: STDP(rule: .biological, a: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 0.7, initialThresholdStd: 0)
        let s = ConvSlice(spec: spec, input: input.shape, maps: 0..<1, seed: 1, layerIndex: 0)
        s.weights = [0.5, 0.25, 0.25, 0.5]
        s.thresholds = [0.7]
        return s
    }

    func run(_ pools: [PoolSpec], exchange: Bool) -> [UInt8] {
        var stats = ForwardStats()
        var got: [UInt8] = []
        let out = runStage(Stage(conv: conv(), pools: pools), on: input, timesteps: 4, batchSize: 8, exchange: exchange,
                           comm: LocalCommunicator(), stats: &stats, inspectConv: { _, t in got = Array(t) })
        return out?.times ?? got
    }

    @Test func convolutionSpikeTimes() {
        #expect(run([], exchange: true) == [1, 1, 3, 1])
        #expect(run([], exchange: false) == [1, 1, 3, 1])
    }

    /// Two layers by hand: the 2x2 output above ([1, 1, 3, 1]) feeds a second 2x2 convolution with
    /// all weights 0.4 and threshold 1.3: at step 1 three inputs give 1.2 (below), at step 3 the
    /// fourth gives 1.6: the single output neuron fires at step 3. With threshold 1.1 it fires at 1.
    @Test func twoLayerNetworkByHand() {
        var stats = ForwardStats()
        let first = runStage(Stage(conv: conv(), pools: []), on: input, timesteps: 4, batchSize: 8, exchange: true,
                             comm: LocalCommunicator(), stats: &stats)!
        #expect(first.shape == Shape(height: 2, width: 2, channels: 1))
        func second(threshold: Float) -> [UInt8] {
            let spec = ConvSpec(name: "c2", kernel: 2, maps: 1, epochs: 0, stdp: STDP(rule: .biological, a: 0.1),
                                thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                                initialThresholdMean: threshold, initialThresholdStd: 0)
            let c2 = ConvSlice(spec: spec, input: first.shape, maps: 0..<1, seed: 1, layerIndex: 1)
            c2.weights = [0.4, 0.4, 0.4, 0.4]
            c2.thresholds = [threshold]
            return runStage(Stage(conv: c2, pools: []), on: first, timesteps: 4, batchSize: 8, exchange: true,
                            comm: LocalCommunicator(), stats: &stats)!.times
        }
        #expect(second(threshold: 1.3) == [3])
        #expect(second(threshold: 1.1) == [1])
    }

    /// Random images through a 3x3x6 -> 43-map convolution (padding 1) against a plain event-driven
    /// simulation written here (inputs in (step, synapse) order, threshold checked at each step's
    /// end), with the weights read in one block (conv layers) and in blocks of 32 and 8 maps over
    /// groups of images (as for fc layers): every fire step identical.
    @Test func blockedIntegrationMatchesPlainSimulation() {
        let T = 16, shape = Shape(height: 4, width: 4, channels: 6), images = 21, maps = 43
        var rng = RandomStream(seed: 7, 1)
        let times = (0..<(images * shape.count)).map { _ in rng.int(below: 3) == 0 ? noSpike : UInt8(rng.int(below: T)) }
        let data = SpikeDataset(shape: shape, count: images, times: times)
        let spec = ConvSpec(name: "c", kernel: 3, pad: 1, maps: maps, epochs: 0, stdp: STDP(rule: .biological, a: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 3, initialThresholdStd: 0)
        let c = ConvSlice(spec: spec, input: shape, maps: 0..<maps, seed: 1, layerIndex: 0)
        c.weights = (0..<c.weights.count).map { _ in Float(rng.int(below: 1000)) / 1000 }
        c.thresholds = (0..<maps).map { _ in 2 + Float(rng.int(below: 3000)) / 1000 }
        let synapses = 3 * 3 * 6

        var expected = [UInt8](repeating: noSpike, count: images * 16 * maps)
        for img in 0..<images {
            for oy in 0..<4 { for ox in 0..<4 {
                for map in 0..<maps {
                    var p: Float = 0
                    steps: for s in 0..<T {
                        for ky in 0..<3 { for kx in 0..<3 {
                            let y = oy - 1 + ky, x = ox - 1 + kx
                            guard y >= 0, y < 4, x >= 0, x < 4 else { continue }
                            for ch in 0..<6 where times[img * shape.count + (y * 4 + x) * 6 + ch] == UInt8(s) {
                                p += c.weights[((ky * 3 + kx) * 6 + ch) * maps + map]
                            }
                        }}
                        if p >= c.thresholds[map] { expected[(img * 16 + oy * 4 + ox) * maps + map] = UInt8(s); break steps }
                    }
                }
            }}
        }
        #expect(expected.contains { $0 != noSpike } && expected.contains(noSpike))
        for budget in [StageKernel.weightBlockBytes, synapses * 4 * 32, synapses * 4 * 8] {
            var stats = ForwardStats()
            var got = [UInt8](repeating: 0, count: images * 16 * maps)
            _ = runStage(Stage(conv: c, pools: []), on: data, timesteps: T, batchSize: 8, exchange: false,
                         comm: LocalCommunicator(), stats: &stats,
                         inspectConv: { img, t in for i in 0..<t.count { got[img * 16 * maps + i] = t[i] } },
                         weightBlockBytes: budget)
            #expect(got == expected, "weight block budget \(budget) bytes")
        }
    }

    /// Receptive fields built from one sort of the image (`runScattered`, conv layers) against the
    /// plain simulation, with strides, paddings and a non-square input; the output rows in one band,
    /// and in bands of one and of two rows.
    @Test(arguments: [(1, 0), (2, 1), (2, 2), (3, 1)])
    func scatteredFieldsMatchPlainSimulation(stride: Int, pad: Int) {
        let T = 12, shape = Shape(height: 7, width: 5, channels: 3), images = 9, maps = 19, k = 3
        var rng = RandomStream(seed: UInt64(11 + stride * 10 + pad), 1)
        let times = (0..<(images * shape.count)).map { _ in rng.int(below: 2) == 0 ? noSpike : UInt8(rng.int(below: T)) }
        let data = SpikeDataset(shape: shape, count: images, times: times)
        let spec = ConvSpec(name: "c", kernel: k, stride: stride, pad: pad, maps: maps, epochs: 0,
                            stdp: STDP(rule: .biological, a: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 3, initialThresholdStd: 0)
        let c = ConvSlice(spec: spec, input: shape, maps: 0..<maps, seed: 1, layerIndex: 0)
        c.weights = (0..<c.weights.count).map { _ in Float(rng.int(below: 1000)) / 1000 }
        c.thresholds = (0..<maps).map { _ in 1 + Float(rng.int(below: 3000)) / 1000 }
        let out = spec.outputShape(shape), cells = out.height * out.width
        var expected = [UInt8](repeating: noSpike, count: images * cells * maps)
        for img in 0..<images {
            for oy in 0..<out.height { for ox in 0..<out.width { for map in 0..<maps {
                var p: Float = 0
                steps: for s in 0..<T {
                    for ky in 0..<k { for kx in 0..<k {
                        let y = oy * stride - pad + ky, x = ox * stride - pad + kx
                        guard y >= 0, y < shape.height, x >= 0, x < shape.width else { continue }
                        for ch in 0..<3 where times[img * shape.count + (y * shape.width + x) * 3 + ch] == UInt8(s) {
                            p += c.weights[((ky * k + kx) * 3 + ch) * maps + map]
                        }
                    }}
                    if p >= c.thresholds[map] { expected[(img * cells + oy * out.width + ox) * maps + map] = UInt8(s); break steps }
                }
            }}}
        }
        #expect(expected.contains { $0 != noSpike } && expected.contains(noSpike))
        let rowBytes = 5 * k * k * 3 * out.width
        for band in [StageKernel.scatterBandBytes, rowBytes, 2 * rowBytes] {
            let kernel = StageKernel(stage: Stage(conv: c, pools: []), timesteps: T, capacity: images, scatterBandBytes: band)
            #expect(kernel.scatter)
            #expect(kernel.scatterRows == (band == rowBytes ? 1 : band == 2 * rowBytes ? 2 : out.height))
            data.times.withUnsafeBufferPointer { kernel.run($0.baseAddress!, stride: shape.count, count: images) }
            let got = (0..<images).flatMap { Array(kernel.conv(slot: $0)) }
            #expect(got == expected, "stride \(stride), pad \(pad), band \(band) bytes")
        }
    }

    @Test func poolingTakesTheFirstSpikeOfEachWindow() {
        #expect(run([PoolSpec(name: "p", window: 2, stride: 2)], exchange: true) == [1])
        // Window 2, stride 1, pad 1 over the 2x2 map [1 1; 3 1] gives 3x3 windows; the corner
        // (2,0) sees only the 3.
        #expect(run([PoolSpec(name: "p", window: 2, stride: 1, pad: 1)], exchange: true) == [1, 1, 1, 1, 1, 1, 3, 1, 1])
    }

    /// Inference-time inhibition, by hand. Map 0 as above fires at [1, 1, 3, 1]. Map 1 has only
    /// w[0][0] = 0.6 (threshold 0.5), so cell (y, x) fires when input (y, x) does: [0, 1, 2, never].
    /// Cell (0,0): map 1 at step 0 wins. Cell (0,1): both at step 1, potentials 1.0 vs 0.6: map 0.
    /// Cell (1,0): map 1 at 2 beats map 0 at 3. Cell (1,1): map 0 alone, at 1.
    @Test func inferenceInhibitionKeepsTheFirstMapPerPosition() {
        func run(_ inhibit: Bool) -> [UInt8] {
            var spec = conv().spec
            spec.maps = 2
            spec.inhibitInference = inhibit
            let s = ConvSlice(spec: spec, input: input.shape, maps: 0..<2, seed: 1, layerIndex: 0)
            s.weights = [0.5, 0.6, 0.25, 0, 0.25, 0, 0.5, 0]   // [k][map]
            s.thresholds = [0.7, 0.5]
            var stats = ForwardStats()
            return runStage(Stage(conv: s, pools: []), on: input, timesteps: 4, batchSize: 8, exchange: true,
                            comm: LocalCommunicator(), stats: &stats)!.times
        }
        #expect(run(false) == [1, 0, 1, 1, 3, 2, 1, noSpike])
        #expect(run(true) == [noSpike, 0, 1, noSpike, noSpike, 2, 1, noSpike])
    }

    @Test func strideAndPaddingShapes() {
        let c = ConvSpec(name: "c", kernel: 5, stride: 2, pad: 2, maps: 4, epochs: 0, stdp: STDP(rule: .biological, a: 0),
                         thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                         initialThresholdMean: 1, initialThresholdStd: 0)
        #expect(c.outputShape(Shape(height: 28, width: 28, channels: 2)) == Shape(height: 14, width: 14, channels: 4))
        #expect(PoolSpec(name: "p", window: 7, stride: 6, pad: 3).outputShape(Shape(height: 250, width: 160, channels: 3))
                == Shape(height: 42, width: 27, channels: 3))
    }
}

/// Progressive pruning: cubic ramp, final 0.5 over epochs 0...3, on 1000 weights:
/// p = 1/4: 0.5 (1 - 0.75^3) = 0.2890625 -> 289; p = 2/4: 0.4375 -> 437; p = 3/4: 0.4921875 -> 492;
/// p = 1: 500. Linear: 125, 250, 375, 500.
@Suite struct PruningTests {
    @Test func scheduleCounts() {
        let cubic = PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 3, ramp: .cubic)
        #expect((0..<5).map { cubic.prunedCount(afterEpoch: $0, total: 1000) } == [289, 437, 492, 500, 500])
        let linear = PruningSchedule(finalSparsity: 0.5, startEpoch: 1, endEpoch: 4, ramp: .linear)
        #expect((0..<6).map { linear.prunedCount(afterEpoch: $0, total: 1000) } == [0, 125, 250, 375, 500, 500])
    }

    @Test func maskOnlyGrowsAndTakesSmallestMagnitudes() {
        var mask: [UInt8] = [1, 0, 1, 1, 1]
        let w: [Float] = [0.3, 0.9, 0.1, 0.3, 0.8]
        extendMask(&mask, weights: w, prunedTarget: 3)
        // already pruned: index 1 (although its weight is large); next smallest: 0.1 (index 2), then
        // 0.3 at index 0 before the equal 0.3 at index 3.
        #expect(mask == [0, 0, 0, 1, 1])
        extendMask(&mask, weights: w, prunedTarget: 2)   // never regrows
        #expect(mask == [0, 0, 0, 1, 1])
    }

    @Test func gatherAndScatterOverOneRankRoundTrip() {
        let spec = ConvSpec(name: "c", kernel: 1, maps: 3, epochs: 0, stdp: STDP(rule: .biological, a: 0),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 1, initialThresholdStd: 0)
        let s = ConvSlice(spec: spec, input: Shape(height: 1, width: 1, channels: 2), maps: 0..<3, seed: 7, layerIndex: 0)
        let comm = LocalCommunicator(), slices = MapSlices(count: 3, ranks: 1)
        let before = s.weights
        let rate = s.prune(toCount: 3, slices: slices, comm: comm)
        #expect(rate == 0.5)
        #expect(s.weights.filter { $0 == 0 }.count == 3)
        let smallest = before.sorted().prefix(3)
        #expect(Set(before.indices.filter { s.mask[$0] == 0 }.map { before[$0] }) == Set(smallest))
    }
}

@Suite struct OwnershipTests {
    @Test func slicesAreContiguousAndBalanced() {
        let s = MapSlices(count: 32, ranks: 3)
        #expect(s.counts == [11, 11, 10])
        #expect(s.range(of: 2) == 22..<32)
        #expect(s.owner(of: 21) == 1 && s.owner(of: 22) == 2)
        #expect(MapSlices(count: 2, ranks: 4).counts == [1, 1, 0, 0])
    }

    @Test func normalInitialWeightsAreClippedAndCentred() {
        var spec = ConvSpec(name: "c", kernel: 5, maps: 64, epochs: 0, stdp: STDP(rule: .biological, a: 0),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 5, initialThresholdStd: 1)
        spec.weightNormal = (0.8, 0.3)
        let s = ConvSlice(spec: spec, input: Shape(height: 5, width: 5, channels: 2), maps: 0..<64, seed: 2, layerIndex: 0)
        #expect(s.weights.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(s.weights.contains(1))                  // N(0.8, 0.3) exceeds 1 often: clipped
        let kept = s.weights.filter { $0 < 1 && $0 > 0 }
        #expect(kept.count > s.weights.count / 3)
        let mean = s.weights.reduce(0, +) / Float(s.weights.count)
        #expect(mean > 0.65 && mean < 0.8)              // clipping at 1 pulls the mean below 0.8
    }

    @Test func initialWeightsDoNotDependOnTheSlice() {
        let spec = ConvSpec(name: "c", kernel: 3, maps: 5, epochs: 0, stdp: STDP(rule: .biological, a: 0),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 8, initialThresholdStd: 0.1)
        let shape = Shape(height: 5, width: 5, channels: 2)
        let whole = ConvSlice(spec: spec, input: shape, maps: 0..<5, seed: 3, layerIndex: 1)
        let part = ConvSlice(spec: spec, input: shape, maps: 3..<5, seed: 3, layerIndex: 1)
        for i in 0..<18 { for j in 0..<2 { #expect(part.weights[i * 2 + j] == whole.weights[i * 5 + 3 + j]) } }
        #expect(part.thresholds == Array(whole.thresholds[3..<5]))
    }
}
