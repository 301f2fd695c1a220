import Testing
import SpikeCluster
import SpikeCompression
@testable import SpikeModel

@Suite struct STDPTests {
    @Test func biologicalHandValues() {
        let r = STDP(rule: .biological, a: 0.1, tau: 0.1)
        // pre 0, post 0.25: +0.1 * exp(-2.5) = +0.0082085
        #expect(abs(r.updated(0.2, pre: 0, post: 0.25) - 0.2082085) < 1e-6)
        // pre 0.5 after post 0.25: -0.1 * exp(-2.5)
        #expect(abs(r.updated(0.2, pre: 0.5, post: 0.25) - 0.1917915) < 1e-6)
        // no input spike: exp(-inf) = 0, unchanged (as in the reference)
        #expect(r.updated(0.3, pre: .infinity, post: 0.25) == 0.3)
        // clipped to [0, 1]
        #expect(r.updated(0.95, pre: 0.25, post: 0.25) == 1)
    }

    @Test func multiplicativeHandValues() {
        let r = STDP(rule: .multiplicative, a: 0.1, b: 1)
        #expect(abs(r.updated(0.2, pre: 0, post: 0.25) - 0.2818731) < 1e-6)      // 0.2 + 0.1 e^-0.2
        #expect(abs(r.updated(0.9, pre: 0.25, post: 0.25) - 0.9406570) < 1e-6)   // 0.9 + 0.1 e^-0.9
        #expect(abs(r.updated(0.1, pre: .infinity, post: 0.25) - 0.0593430) < 1e-6) // 0.1 - 0.1 e^-0.9
        #expect(r.updated(0.01, pre: .infinity, post: 0.5) == 0)                  // clipped at 0
    }

    @Test func biologicalMultiplicativeHandValues() {
        let r = STDP(rule: .biologicalMultiplicative, a: 0.1, b: 1, tau: 0.1)
        // 0.2 + 0.1 e^-2.5 e^-0.2 = 0.2 + 0.1 * 0.0820850 * 0.8187308
        #expect(abs(r.updated(0.2, pre: 0, post: 0.25) - 0.2067205) < 1e-6)
        // 0.5 - 0.1 e^-2.5 e^(1 * (0.5 - 1)) = 0.5 - 0.1 * 0.0820850 * 0.6065307
        #expect(abs(r.updated(0.5, pre: 0.5, post: 0.25) - 0.4950213) < 1e-6)
        #expect(r.updated(0.5, pre: .infinity, post: 0.25) == 0.5)
    }

    @Test func linearAndProportionalHandValues() {
        var lin = STDP(rule: .linear, a: 0.1, aMinus: 0.05)
        #expect(abs(lin.updated(0.3, pre: 0.5, post: 0.5) - 0.4) < 1e-7)
        #expect(abs(lin.updated(0.3, pre: .infinity, post: 0.5) - 0.25) < 1e-7)
        lin.anneal(0.5)                                   // both steps halve
        #expect(abs(lin.updated(0.3, pre: 0, post: 0.5) - 0.35) < 1e-7)
        #expect(abs(lin.updated(0.3, pre: 0.75, post: 0.5) - 0.275) < 1e-7)
        let prop = STDP(rule: .proportional, a: 0.1)
        #expect(abs(prop.updated(0.3, pre: 0, post: 0.25) - 0.325) < 1e-7)     // + 0.1 * 0.25
        #expect(abs(prop.updated(0.3, pre: 0.5, post: 0.25) - 0.275) < 1e-7)   // - 0.1 * 0.25
        #expect(prop.updated(0.3, pre: .infinity, post: 0.25) == 0)           // no input spike: to 0
    }

    @Test func thresholdAdaptationHandValues() {
        // Winner map 1 of 3 fires at t = 0.25, t_obj 0.75, eta 0.1: every threshold +0.05,
        // winner +0.1, others -0.1/2; floor 0.5.
        let a = ThresholdAdaptation(eta: 0.1, targetTime: 0.75, minThreshold: 0.5)
        var th: [Float] = [0.8, 1.0, 0.46]
        th.withUnsafeMutableBufferPointer { a.adapt($0, firstMap: 0, totalMaps: 3, winner: 1, t: 0.25) }
        #expect(abs(th[0] - 0.80) < 1e-6)
        #expect(abs(th[1] - 1.15) < 1e-6)
        #expect(th[2] == 0.5)
        // A slice (maps 1..<3 of 3) gives the same values for the maps it owns.
        var part: [Float] = [1.0, 0.46]
        part.withUnsafeMutableBufferPointer { a.adapt($0, firstMap: 1, totalMaps: 3, winner: 1, t: 0.25) }
        #expect(part == [th[1], th[2]])
    }

    @Test func winnerOrderIsStepThenPotentialThenIndex() {
        let a = WinnerCandidate(step: 2, potential: 1.0, map: 5)
        let b = WinnerCandidate(step: 1, potential: 0.5, map: 9)
        let c = WinnerCandidate(step: 1, potential: 0.7, map: 12)
        let d = WinnerCandidate(step: 1, potential: 0.7, map: 3)
        #expect(WinnerCandidate.best([a, b, c, d, .none]) == d)
        #expect(WinnerCandidate.best([a, b]) == b)
        #expect(WinnerCandidate.best([.none, .none]).step == .max)
    }

    @Test func packedKeyOrdersLikeTheRule() {
        // The minimum key over ranks must be the same candidate as `best`.
        let all = [WinnerCandidate(step: 2, potential: 1.0, map: 5), WinnerCandidate(step: 1, potential: 0.5, map: 9),
                   WinnerCandidate(step: 1, potential: 0.7, map: 12), WinnerCandidate(step: 1, potential: 0.7, map: 3),
                   WinnerCandidate(step: 0, potential: 0, map: 1_048_575), .none]
        for a in all {
            #expect(WinnerCandidate(key: a.key) == a)
            for b in all where a != b { #expect((a.key < b.key) == a.beats(b)) }
        }
        #expect(WinnerCandidate(key: all.map(\.key).min()!) == WinnerCandidate.best(all))
    }
}

/// One training step worked by hand. Layer: 2 maps, 1x1 kernel over 3 input channels, T = 4.
/// Input spikes at steps [0, 1, none]. Weights map0 [0.5, 0.5, 0.5], map1 [0.2, 0.9, 0.1];
/// thresholds [0.8, 1.0].
/// Step 0: potentials 0.5, 0.2 (none fires). Step 1: 1.0 >= 0.8 and 1.1 >= 1.0: both fire at
/// step 1; the larger potential wins: map 1, post = 1/4.
/// Thresholds (eta 0.1, t_obj 0.75, N = 2): +0.05 all; map1 +0.1 -> 1.15; map0 -0.1 -> 0.75.
/// STDP biological a 0.1 tau 0.1 on map1 only: 0.2 + 0.1 e^-2.5 = 0.2082085; 0.9 + 0.1 -> 1 (clip);
/// 0.1 unchanged (no input spike). Map 0 unchanged.
@Suite struct TrainingStepTests {
    func layer(maps: Range<Int>, total: Int = 2) -> ConvSlice {
        let spec = ConvSpec(name: "c", kernel: 1, maps: total, epochs: 1,
                            stdp: STDP(rule: .biological, a: 0.1, tau: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0.1, targetTime: 0.75, minThreshold: 0.5),
                            initialThresholdMean: 1, initialThresholdStd: 0)
        let s = ConvSlice(spec: spec, input: Shape(height: 1, width: 1, channels: 3), maps: maps, seed: 1, layerIndex: 0)
        let all: [[Float]] = [[0.5, 0.5, 0.5], [0.2, 0.9, 0.1]]
        let th: [Float] = [0.8, 1.0]
        for (j, map) in maps.enumerated() {
            for i in 0..<3 { s.weights[i * maps.count + j] = all[map][i] }
            s.thresholds[j] = th[map]
        }
        return s
    }

    let data = SpikeDataset(shape: Shape(height: 1, width: 1, channels: 3), count: 1, times: [0, 1, noSpike])

    @Test func oneSampleByHand() {
        let s = layer(maps: 0..<2)
        let t = LayerTrainer(slice: s, timesteps: 4, comm: LocalCommunicator(), seed: 1, layerIndex: 0)
        let stats = t.runEpoch(0, on: data, stdp: s.spec.stdp, adaptation: s.spec.thresholds)
        #expect(stats.winners == 1)
        // weights [k][m]: k = input, m = map
        #expect(s.weights[0] == 0.5 && s.weights[2] == 0.5 && s.weights[4] == 0.5)
        #expect(abs(s.weights[1] - 0.2082085) < 1e-6)
        #expect(s.weights[3] == 1)
        #expect(s.weights[5] == 0.1)
        #expect(abs(s.thresholds[0] - 0.75) < 1e-6)
        #expect(abs(s.thresholds[1] - 1.15) < 1e-6)
    }

    @Test func maskedSynapsesStayAtZero() {
        let s = layer(maps: 0..<2)
        var mask = s.mask
        mask[3] = 0                     // input 1 of map 1: the synapse that would grow to 1
        s.apply(mask: mask)
        let t = LayerTrainer(slice: s, timesteps: 4, comm: LocalCommunicator(), seed: 1, layerIndex: 0)
        _ = t.runEpoch(0, on: data, stdp: s.spec.stdp, adaptation: s.spec.thresholds)
        // Map 1 now reaches only 0.2 by step 1 (below 1.0); map 0 fires at step 1 with 1.0 and learns.
        #expect(s.weights[3] == 0)
        #expect(abs(s.weights[0] - 0.5082085) < 1e-6)
        #expect(s.weights[2] == 0.6)
    }

    /// A pruning step with reinforcement, then STDP. Sparsity floor(0.2 * 6) = 1: the smallest
    /// weight, 0.1 (input 2 of map 1), goes. DSWR lambda 1 on map 1: mass 1.2 before, 1.1 after,
    /// factor 12/11: 0.2 -> 0.2181818, 0.9 -> 0.9818182; map 0 lost nothing. Then thresholds (5, 1)
    /// and input steps (0, 1, 0): map 1 reaches 0.2181818 at step 0 (input 2 is pruned), 1.2 at
    /// step 1 and wins (map 0 stays below 5). STDP on map 1, post = 1/4: input 0 +0.1 e^-2.5 ->
    /// 0.2263903; input 1 +0.1 -> 1 (clip); input 2 spiked before the post spike, so it would grow,
    /// but it is pruned and stays exactly 0.
    @Test func reinforcedLayerKeepsPrunedSynapsesAtZero() {
        let s = layer(maps: 0..<2)
        let schedule = PruningSchedule(finalSparsity: 0.2, startEpoch: 0, endEpoch: 0, ramp: .linear, reinforcement: 1)
        let rate = s.prune(schedule, afterEpoch: 0, slices: MapSlices(count: 2, ranks: 1), comm: LocalCommunicator())
        #expect(rate == 1.0 / 6)
        #expect(s.mask == [1, 1, 1, 1, 1, 0])
        let want: [Float] = [0.5, 0.2181818, 0.5, 0.9818182, 0.5, 0]
        #expect(zip(s.weights, want).allSatisfy { abs($0 - $1) < 1e-6 }, "\(s.weights)")
        s.thresholds = [5, 1]
        let spiking = SpikeDataset(shape: Shape(height: 1, width: 1, channels: 3), count: 1, times: [0, 1, 0])
        let t = LayerTrainer(slice: s, timesteps: 4, comm: LocalCommunicator(), seed: 1, layerIndex: 0)
        let stats = t.runEpoch(0, on: spiking, stdp: s.spec.stdp, adaptation: s.spec.thresholds)
        #expect(stats.winners == 1)
        #expect(s.weights[5] == 0)
        #expect(abs(s.weights[1] - 0.2263903) < 1e-6)
        #expect(s.weights[3] == 1)
        #expect(s.weights[0] == 0.5 && s.weights[2] == 0.5 && s.weights[4] == 0.5)
        // A second step changes nothing: the weight is already pruned, the target still 1.
        _ = s.prune(schedule, afterEpoch: 1, slices: MapSlices(count: 2, ranks: 1), comm: LocalCommunicator())
        #expect(s.mask == [1, 1, 1, 1, 1, 0] && s.weights[3] == 1 && abs(s.weights[1] - 0.2263903) < 1e-6)
    }

    /// `on_silence: lower`: thresholds 5 and 1.1, eta 1, target 0.75: both drop by 0.25, the second
    /// stops at the floor 1; `keep` leaves them.
    @Test func silentSampleLowersThresholds() {
        var th: [Float] = [5, 1.1]
        th.withUnsafeMutableBufferPointer { ThresholdAdaptation(eta: 1, targetTime: 0.75, minThreshold: 1, lowerOnSilence: true).adaptSilent($0) }
        #expect(th == [4.75, 1])
        th.withUnsafeMutableBufferPointer { ThresholdAdaptation(eta: 1, targetTime: 0.75, minThreshold: 1).adaptSilent($0) }
        #expect(th == [4.75, 1])
    }

    /// The additive rules' tabulated term gives `updated`'s weights bit for bit (the kernel update
    /// of training adds the term of the input's step instead of calling `updated`).
    @Test func additiveTermMatchesUpdated() {
        var rng = RandomStream(seed: 9, 1)
        for rule in [STDPRule.biological, .linear, .proportional] {
            let stdp = STDP(rule: rule, a: 0.0371, tau: 0.1, aMinus: 0.0213)
            #expect(stdp.isAdditive)
            for _ in 0..<2000 {
                let T = 1 + rng.int(below: 254)
                let w = rng.int(below: 10) == 0 ? Float(rng.int(below: 2)) : Float(rng.uniform())
                let s = rng.int(below: T + 1)
                let pre: Float = s == T ? .infinity : Float(s) / Float(T)
                let post = Float(rng.int(below: T)) / Float(T)
                let viaTerm = min(max(w + stdp.term(pre: pre, post: post), 0), 1)
                #expect(viaTerm.bitPattern == stdp.updated(w, pre: pre, post: post).bitPattern, "\(rule) w \(w) pre \(pre) post \(post)")
            }
        }
        #expect(!STDP(rule: .multiplicative, a: 0.1, b: 1).isAdditive)
    }

    /// Updates that compute `0 * inf` (the proportional rule with a = 0 and a missing input; a
    /// multiplicative rule whose `expf` overflows) give weight 0, never NaN; ordinary updates are
    /// clamped to [0, 1] as before (-0 becomes +0, as `max(-0, 0)` gave).
    @Test func updatesNeverGiveNaN() {
        #expect(STDP(rule: .proportional, a: 0).updated(0.4, pre: .infinity, post: 0.5) == 0)
        #expect(STDP(rule: .proportional, a: 0).updated(0.4, pre: 0.25, post: 0.5) == 0.4)
        #expect(STDP(rule: .multiplicative, a: 0, b: -300).updated(0.4, pre: 0.25, post: 0.5) == 0)   // 0 * expf(120)
        #expect(clampWeight(-0.0).bitPattern == Float(0).bitPattern)
        #expect(clampWeight(1.5) == 1 && clampWeight(-3) == 0 && clampWeight(0.25) == 0.25)
        #expect(clampWeight(.nan) == 0 && clampWeight(.infinity) == 1 && clampWeight(-.infinity) == 0)
    }

    /// The grouped training of wide layers (trajectories of a group of samples block by block, then
    /// the samples decided in order) gives bit for bit the plain loop's weights and thresholds: with
    /// blocks of 8, 16, 32, 64 and 72 maps (passes of 64 maps and of 8), groups of 1 to 64 samples, and with the trajectory bound forced so
    /// low that every sample takes the fallback. A mask is applied; 3 epochs with annealing. With
    /// `on_silence: lower` as well (thresholds that fall on silent samples keep the group bound valid).
    @Test(arguments: [false, true])
    func groupedTrainingEqualsThePlainLoop(lowerOnSilence: Bool) {
        let data = GroupedCase.data()
        let stdp = STDP(rule: .biological, a: 0.1, tau: 0.1)
        let plain = GroupedCase.train(data, stdp: stdp, groupBytes: Int.max, lower: lowerOnSilence)
        #expect(plain.winners > 60)
        if lowerOnSilence {
            // Some samples are silent here (fewer winners than samples), so lowering changes the outcome.
            let kept = GroupedCase.train(data, stdp: stdp, groupBytes: Int.max, lower: false)
            #expect(kept.winners < 3 * GroupedCase.count)
            #expect(kept.thresholds != plain.thresholds)
        }
        // Groups of 1, 7 (40 samples: a short last group), 16 and 64 (one group for all 40) samples;
        // blocks (72 synapses of 4 bytes per map) of 8, 16, 32, 64 (then 16) and 72 (then 8) maps.
        for (bytes, offset, group) in [(0, Float(0), 16), (72 * 4 * 16, 0, 7), (72 * 4 * 40 - 1, 0, 64), (72 * 4 * 40 - 1, -1000, 16),
                                       (0, -1000, 7), (72 * 4 * 16, 0, 1), (0, 0, 64), (72 * 4 * 64, 0, 7), (72 * 4 * 80 - 1, 0, 16),
                                       (72 * 4 * 80 - 1, -1000, 64)] {
            let grouped = GroupedCase.train(data, stdp: stdp, groupBytes: bytes, offset: offset, groupSamples: group, lower: lowerOnSilence)
            GroupedCase.expectSame(grouped, plain, "block budget \(bytes), bound offset \(offset), groups of \(group)")
        }
    }

    /// The same equality for the update paths the biological case above does not take: `linear`
    /// (a missing input has a term of its own, so the update is dense), `multiplicative` (no term
    /// table: `updateKernel`), and `biological` on initial weights outside [0, 1] (the sparse update
    /// is only exact while every weight is in range). Patches are prepared in stretches as short as
    /// one group (a 1-byte stretch budget), so records cross several stretches, the last one short.
    /// And with T = 200: steps from 128 on, whose record words have the sign bit set.
    @Test(arguments: [("linear", false, 16), ("multiplicative", false, 16), ("biological", true, 16), ("biological", false, 200),
                      ("multiplicative", false, 200)])
    func groupedTrainingEqualsThePlainLoopOnEveryUpdatePath(rule: String, outOfRange: Bool, timesteps: Int) {
        let data = GroupedCase.data(timesteps: timesteps)
        let stdp = switch rule {
        case "linear": STDP(rule: .linear, a: 0.05, aMinus: 0.03)
        case "multiplicative": STDP(rule: .multiplicative, a: 0.1, b: 1)
        default: STDP(rule: .biological, a: 0.1, tau: 0.1)
        }
        let plain = GroupedCase.train(data, stdp: stdp, groupBytes: Int.max, outOfRange: outOfRange, timesteps: timesteps)
        #expect(plain.winners > 60)
        if outOfRange {
            // Some weights stay out of range (every epoch takes the dense update), fewer than were set
            // (the masked ones are 0, updated ones are clamped).
            #expect(plain.weights.allSatisfy { $0 >= 0 && $0 <= 1 } == false)
            #expect(plain.weights.filter { $0 > 1 || $0 < 0 }.count < GroupedCase.outOfRangeCount)
        }
        for (bytes, group, stretch) in [(0, 7, 1), (72 * 4 * 16, 16, 1), (0, 64, 1), (72 * 4 * 40 - 1, 16, 512 << 10)] {
            let grouped = GroupedCase.train(data, stdp: stdp, groupBytes: bytes, groupSamples: group, stretchBytes: stretch,
                                            outOfRange: outOfRange, timesteps: timesteps)
            GroupedCase.expectSame(grouped, plain, "\(rule): block budget \(bytes), groups of \(group), stretch budget \(stretch)")
        }
    }
}

/// The layer of the grouped-training tests: 80 maps of 3x3x8 on 6x6x8 random spike times, T = 16
/// unless said otherwise.
enum GroupedCase {
    static let shape = Shape(height: 6, width: 6, channels: 8), count = 40
    /// Initial weights set to 1.5 and -0.25 in the out-of-range variant (every 11th and 13th).
    static let outOfRangeCount = (0..<(72 * 80)).filter { $0 % 11 == 0 || $0 % 13 == 0 }.count

    static func data(timesteps T: Int = 16) -> SpikeDataset {
        var rng = RandomStream(seed: 5, 1)
        let times = (0..<(count * shape.count)).map { _ in rng.int(below: 3) == 0 ? noSpike : UInt8(rng.int(below: T)) }
        return SpikeDataset(shape: shape, count: count, times: times)
    }

    static func train(_ data: SpikeDataset, stdp: STDP, groupBytes: Int, offset: Float = 0, groupSamples: Int = 64,
                      stretchBytes: Int? = nil, lower: Bool = false, outOfRange: Bool = false, timesteps T: Int = 16)
        -> (weights: [Float], thresholds: [Float], winners: Int) {
        let spec = ConvSpec(name: "c", kernel: 3, maps: 80, epochs: 3, stdp: stdp,
                            thresholds: ThresholdAdaptation(eta: 1, targetTime: 0.75, minThreshold: 1, lowerOnSilence: lower),
                            initialThresholdMean: 6, initialThresholdStd: 0.5)
        let s = ConvSlice(spec: spec, input: shape, maps: 0..<80, seed: 3, layerIndex: 0)
        if outOfRange {
            for i in 0..<s.weights.count where i % 11 == 0 || i % 13 == 0 { s.weights[i] = i % 11 == 0 ? 1.5 : -0.25 }
        }
        var mask = s.mask
        for i in stride(from: 0, to: mask.count, by: 7) { mask[i] = 0 }
        s.apply(mask: mask)
        var t = LayerTrainer(slice: s, timesteps: T, comm: LocalCommunicator(), seed: 1, layerIndex: 0)
        t.groupWeightBytes = groupBytes
        t.groupBlockBytes = groupBytes
        t.groupBoundOffset = offset
        t.maxGroupSamples = groupSamples
        t.minGroupSamples = groupSamples
        if let stretchBytes { t.patchStretchBytes = stretchBytes }
        var winners = 0
        t.train(on: data) { winners += $0.winners }
        return (s.weights, s.thresholds, winners)
    }

    static func expectSame(_ grouped: (weights: [Float], thresholds: [Float], winners: Int),
                           _ plain: (weights: [Float], thresholds: [Float], winners: Int), _ label: String) {
        // Compared as Bools: a failure should not print thousands of weights.
        let sameWeights = grouped.weights == plain.weights, sameThresholds = grouped.thresholds == plain.thresholds
        #expect(sameWeights, "\(label)")
        #expect(sameThresholds, "\(label)")
        #expect(grouped.winners == plain.winners, "\(label)")
    }
}
