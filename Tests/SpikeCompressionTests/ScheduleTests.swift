import Testing
@testable import SpikeCompression

/// Number of zeros in a mask.
func zeros(_ mask: [UInt8]) -> Int { mask.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

/// Whether two Float arrays agree element by element within `tolerance`.
func close(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

/// The promised pruned counts, applied step by step to a layer of 5x5 kernels, 2 input channels,
/// 4 maps: 200 weights, 8 kernel slices.
///
/// Cubic, final 0.9, epochs 1...4 (6 epochs): ramp(p) = 1 - (1 - p)^3 with p = 1/4, 1/2, 3/4, 1:
/// 37/64, 7/8, 63/64, 1, so s = 0.5203125, 0.7875, 0.8859375, 0.9 (0 after epoch 0; 0.9 after 5).
/// Of 200 weights: floor(104.0625) = 104, floor(157.5) = 157, floor(177.1875) = 177, 180, 180.
/// Of 8 slices: floor(4.1625) = 4, floor(6.3) = 6, floor(7.0875) = 7, floor(7.2) = 7, 7.
/// Linear, final 0.5, epochs 2...5 (7 epochs): s = 0, 0, 0.125, 0.25, 0.375, 0.5, 0.5:
/// of 200 weights 0, 0, 25, 50, 75, 100, 100; of 8 slices 0, 0, 1, 2, 3, 4, 4.
@Suite struct ScheduleCountTests {
    let layout = KernelLayout(positions: 25, inChannels: 2, maps: 4)

    /// Distinct magnitudes rising with the index: the smallest are the lowest indices.
    var risingWeights: [Float] { (0..<200).map { Float($0 + 1) / 256 } }

    /// Slice `s` holds the value `sliceValue[s]` at all 25 positions (score 25 * value). Ascending
    /// scores: s7 0.0625, s1 0.125, s3 0.25, s5 0.375, s0 0.5, s6 0.625, s4 0.75, s2 0.875.
    let sliceValue: [Float] = [0.5, 0.125, 0.875, 0.25, 0.75, 0.375, 0.625, 0.0625]
    var sliceWeights: [Float] {
        var w = [Float](repeating: 0, count: layout.count)
        for s in 0..<layout.slices {
            for p in 0..<layout.positions { w[layout.index(position: p, slice: s)] = sliceValue[s] }
        }
        return w
    }

    /// Runs the schedule over `epochs` epochs; the mask after each.
    func masks(_ schedule: PruningSchedule, epochs: Int, weights: [Float]) -> [[UInt8]] {
        var w = weights, m = [UInt8](repeating: 1, count: layout.count)
        var out: [[UInt8]] = []
        for e in 0..<epochs {
            if schedule.prunes(afterEpoch: e) { (w, m) = schedule.step(weights: w, mask: m, layout: layout, afterEpoch: e) }
            out.append(m)
        }
        return out
    }

    @Test func rampValues() {
        let cubic = PruningSchedule(finalSparsity: 0.9, startEpoch: 1, endEpoch: 4, ramp: .cubic)
        let ramp: [Double] = [0, 0.578125, 0.875, 0.984375, 1, 1]   // 0, 37/64, 7/8, 63/64, 1, 1
        #expect((0..<6).map { cubic.progress(afterEpoch: $0) } == ramp)
        #expect((0..<6).map { cubic.prunes(afterEpoch: $0) } == [false, true, true, true, true, true])
        let linear = PruningSchedule(finalSparsity: 0.5, startEpoch: 2, endEpoch: 5, ramp: .linear)
        #expect((0..<7).map { linear.sparsity(afterEpoch: $0) } == [0, 0, 0.125, 0.25, 0.375, 0.5, 0.5])
        // One-epoch ramp: the whole target after its only epoch.
        let oneShot = PruningSchedule(finalSparsity: 0.5, startEpoch: 3, endEpoch: 3, ramp: .cubic)
        #expect((0..<5).map { oneShot.sparsity(afterEpoch: $0) } == [0, 0, 0, 0.5, 0.5])
    }

    @Test func cubicWeightCountsEveryEpoch() {
        let s = PruningSchedule(finalSparsity: 0.9, startEpoch: 1, endEpoch: 4, ramp: .cubic)
        let ms = masks(s, epochs: 6, weights: risingWeights)
        #expect(ms.map(zeros) == [0, 104, 157, 177, 180, 180])
        // The pruned ones are the smallest: exactly the first `count` indices.
        for m in ms { #expect(m == (0..<200).map { $0 < zeros(m) ? UInt8(0) : 1 }) }
        #expect(sparsity(of: ms[5]) == 0.9)
    }

    @Test func linearWeightCountsEveryEpoch() {
        let s = PruningSchedule(finalSparsity: 0.5, startEpoch: 2, endEpoch: 5, ramp: .linear)
        #expect(masks(s, epochs: 7, weights: risingWeights).map(zeros) == [0, 0, 25, 50, 75, 100, 100])
    }

    @Test func cubicKernelCountsEveryEpoch() {
        let s = PruningSchedule(finalSparsity: 0.9, startEpoch: 1, endEpoch: 4, ramp: .cubic, unit: .kernel)
        let ms = masks(s, epochs: 6, weights: sliceWeights)
        #expect(ms.map(zeros) == [0, 4, 6, 7, 7, 7].map { $0 * 25 })
        // Whole slices, smallest score first: {7, 1, 3, 5}, then 0 and 6, then 4.
        let prunedSlices: [Set<Int>] = [[], [7, 1, 3, 5], [7, 1, 3, 5, 0, 6], [7, 1, 3, 5, 0, 6, 4],
                                        [7, 1, 3, 5, 0, 6, 4], [7, 1, 3, 5, 0, 6, 4]]
        for (m, want) in zip(ms, prunedSlices) {
            for s in 0..<8 {
                let slice = (0..<25).map { m[layout.index(position: $0, slice: s)] }
                #expect(slice == [UInt8](repeating: want.contains(s) ? 0 : 1, count: 25), "slice \(s)")
            }
        }
    }

    @Test func linearKernelCountsEveryEpoch() {
        let s = PruningSchedule(finalSparsity: 0.5, startEpoch: 2, endEpoch: 5, ramp: .linear, unit: .kernel)
        #expect(masks(s, epochs: 7, weights: sliceWeights).map(zeros) == [0, 0, 1, 2, 3, 4, 4].map { $0 * 25 })
    }

    @Test func layoutIndices() {
        // [ky][kx][c_in][map]: weight ((p * cin) + c) * maps + map; slice c * maps + map.
        #expect(layout.slice(channel: 1, map: 2) == 6)
        #expect(layout.index(position: 0, slice: 6) == 6)
        #expect(layout.index(position: 3, slice: 6) == (3 * 2 + 1) * 4 + 2)
        #expect(layout.count == 200 && layout.slices == 8 && layout.synapsesPerMap == 50)
    }
}

/// Threshold mode: theta(e) = final * ramp(p). Linear, final 0.5 over epochs 0...3: theta = 0.125,
/// 0.25, 0.375, 0.5; cubic, final 0.5 over epochs 1...2: 0, 0.5 (1 - 1/8) = 0.4375, 0.5, 0.5.
/// Hand layer (2x2 kernel, 1 channel, 2 maps; weight p * 2 + map):
///     w = [0.1, 0.6, 0.125, 0.3, 0.25, 0.05, 0.4, 0.2]
/// after epoch 0 (< 0.125): 0.1 (0), 0.05 (5); 0.125 (2) is at theta and kept.
/// after epoch 1 (< 0.25): + 0.125 (2), 0.2 (7); 0.25 (4) kept.
/// after epoch 2 (< 0.375): + 0.25 (4), 0.3 (3).  after epoch 3 (< 0.5): + 0.4 (6). 0.6 (1) stays.
@Suite struct ThresholdPruningTests {
    let layout = KernelLayout(positions: 4, inChannels: 1, maps: 2)
    let w: [Float] = [0.1, 0.6, 0.125, 0.3, 0.25, 0.05, 0.4, 0.2]

    @Test func thresholdRamp() {
        let linear = PruningSchedule.threshold(0.5, startEpoch: 0, endEpoch: 3, ramp: .linear)
        #expect((0..<5).map { linear.threshold(afterEpoch: $0) } == [0.125, 0.25, 0.375, 0.5, 0.5])
        #expect(linear.sparsity(afterEpoch: 3) == 0)
        let cubic = PruningSchedule.threshold(0.5, startEpoch: 1, endEpoch: 2, ramp: .cubic)
        #expect((0..<4).map { cubic.threshold(afterEpoch: $0) } == [0, 0.4375, 0.5, 0.5])
    }

    @Test func prunesExactlyTheWeightsBelowTheta() {
        let s = PruningSchedule.threshold(0.5, startEpoch: 0, endEpoch: 3, ramp: .linear)
        var weights = w, mask = [UInt8](repeating: 1, count: 8)
        let want: [[UInt8]] = [[0, 1, 1, 1, 1, 0, 1, 1], [0, 1, 0, 1, 1, 0, 1, 0],
                               [0, 1, 0, 0, 0, 0, 1, 0], [0, 1, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0]]
        for e in 0..<5 {
            (weights, mask) = s.step(weights: weights, mask: mask, layout: layout, afterEpoch: e)
            #expect(mask == want[e], "after epoch \(e)")
            // Pruned weights are 0, the kept ones untouched (no reinforcement).
            #expect(weights == w.indices.map { want[e][$0] == 0 ? 0 : w[$0] }, "after epoch \(e)")
        }
    }

    @Test func neverRegrows() {
        // A pruned weight that is large stays pruned; the threshold only adds zeros.
        var mask: [UInt8] = [1, 0, 1, 1, 1, 1, 1, 1]
        mask = pruneWeights(mask, weights: w, below: 0.125)
        #expect(mask == [0, 0, 1, 1, 1, 0, 1, 1])
        #expect(pruneWeights(mask, weights: w, below: 0) == mask)
    }
}

/// Kernel slices on a hand layer: 2x2 kernels, 2 input channels, 2 maps; slice (c, map) is
/// c * 2 + map, weight (p * 2 + c) * 2 + map.
///     s0 (0,0): 0.5, 0.5, 0.5, 0.5            L1 2.0    mean 0.5
///     s1 (0,1): 0.125, 0.25, 0.125, 0.25      L1 0.75   mean 0.1875
///     s2 (1,0): 0.375, 0, 0.375, 0            L1 0.75   mean 0.1875
///     s3 (1,1): 0.0625, 0.0625, 0.875, 0.125  L1 1.125  mean 0.28125
/// s1 and s2 tie; s1, the lower (c_in, map) index, goes first (map-major numbering would pick s2).
@Suite struct KernelPruningTests {
    let layout = KernelLayout(positions: 4, inChannels: 2, maps: 2)
    let w: [Float] = [0.5, 0.125, 0.375, 0.0625,
                      0.5, 0.25, 0, 0.0625,
                      0.5, 0.125, 0.375, 0.875,
                      0.5, 0.25, 0, 0.125]
    let all = [UInt8](repeating: 1, count: 16)
    /// The weight indices of each slice.
    let members: [[Int]] = [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15]]

    func mask(pruning slices: [Int]) -> [UInt8] {
        var m = all
        for s in slices { for i in members[s] { m[i] = 0 } }
        return m
    }

    @Test func scoresByHand() {
        #expect(kernelScores(weights: w, mask: all, layout: layout) == [2.0, 0.75, 0.75, 1.125])
        // Pruned weights leave the score; a slice with none kept has no score.
        var m = all
        m[11] = 0
        #expect(kernelScores(weights: w, mask: m, layout: layout) == [2.0, 0.75, 0.75, 0.25])
        #expect(kernelScores(weights: w, mask: mask(pruning: [2]), layout: layout) == [2.0, 0.75, nil, 1.125])
    }

    @Test func sparsityModeSlicesInScoreOrder() {
        // Linear 0.5 over epochs 0...1: floor(0.25 * 4) = 1 slice, then 2.
        let linear = PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 1, ramp: .linear, unit: .kernel)
        let e0 = linear.step(weights: w, mask: all, layout: layout, afterEpoch: 0)
        #expect(e0.mask == mask(pruning: [1]))
        #expect(e0.weights == w.indices.map { members[1].contains($0) ? 0 : w[$0] })
        let e1 = linear.step(weights: e0.weights, mask: e0.mask, layout: layout, afterEpoch: 1)
        #expect(e1.mask == mask(pruning: [1, 2]))
        // Cubic 0.75 over epochs 0...1: floor(0.65625 * 4) = 2 slices, then floor(0.75 * 4) = 3.
        let cubic = PruningSchedule(finalSparsity: 0.75, startEpoch: 0, endEpoch: 1, ramp: .cubic, unit: .kernel)
        let c0 = cubic.step(weights: w, mask: all, layout: layout, afterEpoch: 0)
        #expect(c0.mask == mask(pruning: [1, 2]))
        let c1 = cubic.step(weights: c0.weights, mask: c0.mask, layout: layout, afterEpoch: 1)
        #expect(c1.mask == mask(pruning: [1, 2, 3]))
        #expect(sparsity(of: c1.mask) == 0.75)
    }

    @Test func alreadyPrunedSlicesCount() {
        // s0 already pruned although it is the largest: a target of 1 slice adds nothing, 2 adds s1.
        let m = mask(pruning: [0])
        #expect(extendKernelMask(m, weights: w, layout: layout, prunedSlices: 1) == m)
        #expect(extendKernelMask(m, weights: w, layout: layout, prunedSlices: 2) == mask(pruning: [0, 1]))
    }

    @Test func thresholdModeByMean() {
        // Linear 0.5 over epochs 0...3: theta 0.125 prunes nothing; 0.25: s1, s2 (0.1875);
        // 0.375: s3 (0.28125); 0.5: s0 (mean 0.5) is at theta and kept.
        let s = PruningSchedule.threshold(0.5, startEpoch: 0, endEpoch: 3, ramp: .linear, unit: .kernel)
        var weights = w, m = all
        let want = [mask(pruning: []), mask(pruning: [1, 2]), mask(pruning: [1, 2, 3]), mask(pruning: [1, 2, 3])]
        for e in 0..<4 {
            (weights, m) = s.step(weights: weights, mask: m, layout: layout, afterEpoch: e)
            #expect(m == want[e], "after epoch \(e)")
        }
        #expect(weights == w.indices.map { members[0].contains($0) ? w[$0] : 0 })
    }

    @Test func kernelUnitWithReinforcement() {
        // Linear 0.5 over 0...1, lambda 1, after epoch 0: s1 pruned (map 1). Map 1 kept mass
        // 0.75 + 1.125 = 1.875 before, 1.125 after: factor 5/3 on s3: 0.0625 -> 0.1041667 (twice),
        // 0.875 -> 1.4583 clipped to 1, 0.125 -> 0.2083333. Map 0 lost nothing: unchanged.
        let s = PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 1, ramp: .linear, unit: .kernel, reinforcement: 1)
        let r = s.step(weights: w, mask: all, layout: layout, afterEpoch: 0)
        #expect(r.mask == mask(pruning: [1]))
        let want: [Float] = [0.5, 0, 0.375, 0.1041667,
                             0.5, 0, 0, 0.1041667,
                             0.5, 0, 0.375, 1,
                             0.5, 0, 0, 0.2083333]
        #expect(close(r.weights, want), "\(r.weights)")
        #expect(r.weights[11] == 1)
    }
}

/// DSWR on a hand layer: 2x2 kernels, 1 channel, 2 maps (weight p * 2 + map); positions 2 and 3
/// pruned in both maps.
///     map 0: 0.5, 0.25 | 0.125, 0.125   M_before 1.0, M_after 0.75
///     map 1: 0.95, 0.25 | 0.125, 0.125  M_before 1.45, M_after 1.2
/// lambda 1: map 0 factor 4/3: 0.6666667, 0.3333333 (mass 1.0 = M_before, restored);
///   map 1 factor 1.45/1.2 = 1.2083333: 0.95 -> 1.1479 clipped to 1, 0.25 -> 0.3020833 (mass 1.3020833).
/// lambda 0.5: map 0 factor 1 + 0.5 (4/3 - 1) = 7/6: 0.5833333, 0.2916667 (mass 0.875 = 0.75 + 0.5 * 0.25);
///   map 1 factor 1.1041667: 0.95 -> 1.0489583 clipped to 1, 0.25 -> 0.2760417.
@Suite struct ReinforcementTests {
    let w: [Float] = [0.5, 0.95, 0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    let before = [UInt8](repeating: 1, count: 8)
    let after: [UInt8] = [1, 1, 1, 1, 0, 0, 0, 0]

    func mass(_ w: [Float], map: Int) -> Double {
        stride(from: map, to: w.count, by: 2).reduce(0) { $0 + Double(w[$1]) }
    }

    @Test func fullStrengthRestoresTheKernelMass() {
        let r = reinforce(w, maskBefore: before, maskAfter: after, maps: 2, strength: 1)
        #expect(close(r, [0.6666667, 1, 0.3333333, 0.3020833, 0, 0, 0, 0]), "\(r)")
        #expect(abs(mass(r, map: 0) - 1.0) < 1e-6)            // = M_before of map 0
        #expect(abs(mass(r, map: 1) - 1.3020833) < 1e-6)      // clipped: below M_before 1.45
        #expect(r[1] == 1)
    }

    @Test func halfStrengthRestoresHalfTheLoss() {
        let r = reinforce(w, maskBefore: before, maskAfter: after, maps: 2, strength: 0.5)
        #expect(close(r, [0.5833333, 1, 0.2916667, 0.2760417, 0, 0, 0, 0]), "\(r)")
        #expect(abs(mass(r, map: 0) - 0.875) < 1e-6)          // M_after + 0.5 (M_before - M_after)
    }

    @Test func offOnlyZeroesThePruned() {
        #expect(reinforce(w, maskBefore: before, maskAfter: after, maps: 2, strength: 0) == [0.5, 0.95, 0.25, 0.25, 0, 0, 0, 0])
    }

    @Test func untouchedAndEmptyMaps() {
        // Map 0 loses everything (M_after = 0: nothing to scale); map 1 loses nothing: bit for bit as it was.
        let m: [UInt8] = [0, 1, 0, 1, 0, 1, 0, 1]
        #expect(reinforce(w, maskBefore: before, maskAfter: m, maps: 2, strength: 1) == [0, 0.95, 0, 0.25, 0, 0.125, 0, 0.125])
        // Mass already pruned earlier does not count: map 0 had positions 2, 3 pruned before this
        // step (weights 0), loses position 1 now: 0.5 -> 0.5 * 0.75 / 0.5 = 0.75.
        let w2: [Float] = [0.5, 0.95, 0.25, 0.25, 0, 0.125, 0, 0.125]
        let b2: [UInt8] = [1, 1, 1, 1, 0, 1, 0, 1], a2: [UInt8] = [1, 1, 0, 1, 0, 1, 0, 1]
        #expect(reinforce(w2, maskBefore: b2, maskAfter: a2, maps: 2, strength: 1) == [0.75, 0.95, 0, 0.25, 0, 0.125, 0, 0.125])
    }

    @Test func throughTheScheduleStep() {
        // Sparsity 0.5 of 8 weights in one epoch: the four 0.125 go; then the same values as above.
        let layout = KernelLayout(positions: 4, inChannels: 1, maps: 2)
        let s = PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 0, ramp: .linear, reinforcement: 1)
        let r = s.step(weights: w, mask: before, layout: layout, afterEpoch: 0)
        #expect(r.mask == after)
        #expect(r.weights == reinforce(w, maskBefore: before, maskAfter: after, maps: 2, strength: 1))
    }
}
