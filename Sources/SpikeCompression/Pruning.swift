/// How a layer is pruned over its own training epochs: what rises on the ramp (a target sparsity or
/// a magnitude threshold), what is pruned (single weights or whole kernel slices), and how strongly
/// the kept weights are reinforced (DSWR) at each step.
public struct PruningSchedule: Sendable, Equatable, Codable {
    public enum Ramp: String, Sendable, Codable { case linear, cubic }
    /// `sparsity`: a target count `floor(s(e) * total)` of pruned units; `threshold`: every kept unit
    /// whose magnitude is below `theta(e)` is pruned.
    public enum Mode: String, Sendable, Codable { case sparsity, threshold }
    /// `weight`: single weights (unstructured); `kernel`: whole `(c_in, map)` kernel slices, the
    /// `kernel^2` weights of one input channel for one map (structured).
    public enum Unit: String, Sendable, Codable { case weight, kernel }

    /// Sparsity mode: fraction of the layer's units pruned once the ramp ends, in [0, 1).
    public var finalSparsity: Double
    /// First epoch (0-based) after which pruning happens.
    public var startEpoch: Int
    /// Epoch after which the final sparsity is reached (0-based, inclusive).
    public var endEpoch: Int
    public var ramp: Ramp
    public var mode: Mode
    /// Threshold mode: the magnitude threshold once the ramp ends, in (0, 1].
    public var finalThreshold: Double
    public var unit: Unit
    /// DSWR strength `lambda` in [0, 1]; 0 turns reinforcement off.
    public var reinforcement: Double

    public init(finalSparsity: Double, startEpoch: Int, endEpoch: Int, ramp: Ramp = .cubic,
                mode: Mode = .sparsity, finalThreshold: Double = 0, unit: Unit = .weight, reinforcement: Double = 0) {
        self.finalSparsity = finalSparsity; self.startEpoch = startEpoch; self.endEpoch = endEpoch; self.ramp = ramp
        self.mode = mode; self.finalThreshold = finalThreshold; self.unit = unit; self.reinforcement = reinforcement
    }

    /// A threshold-mode schedule: `theta(e) = finalThreshold * ramp(p)`.
    public static func threshold(_ finalThreshold: Double, startEpoch: Int, endEpoch: Int, ramp: Ramp = .cubic,
                                 unit: Unit = .weight, reinforcement: Double = 0) -> PruningSchedule {
        PruningSchedule(finalSparsity: 0, startEpoch: startEpoch, endEpoch: endEpoch, ramp: ramp, mode: .threshold,
                        finalThreshold: finalThreshold, unit: unit, reinforcement: reinforcement)
    }

    /// The ramp's value once epoch `epoch` (0-based) has ended, in [0, 1]: 0 before `startEpoch`;
    /// linear `p`, cubic (Zhu & Gupta 2017) `1 - (1 - p)^3`, with
    /// `p = (epoch - start + 1) / (end - start + 1)` clamped to [0, 1].
    public func progress(afterEpoch epoch: Int) -> Double {
        if epoch < startEpoch { return 0 }
        let span = Double(max(endEpoch - startEpoch + 1, 1))
        let p = min(1, Double(epoch - startEpoch + 1) / span)
        switch ramp {
        case .linear: return p
        case .cubic: return 1 - (1 - p) * (1 - p) * (1 - p)
        }
    }

    /// Whether a pruning step runs after epoch `epoch` (from `startEpoch` on).
    public func prunes(afterEpoch epoch: Int) -> Bool { epoch >= startEpoch }

    /// Target sparsity once epoch `epoch` has ended: `finalSparsity * ramp(p)` (0 in threshold mode).
    public func sparsity(afterEpoch epoch: Int) -> Double {
        mode == .sparsity ? finalSparsity * progress(afterEpoch: epoch) : 0
    }

    /// Magnitude threshold once epoch `epoch` has ended: `finalThreshold * ramp(p)` (0 in sparsity mode).
    public func threshold(afterEpoch epoch: Int) -> Double {
        mode == .threshold ? finalThreshold * progress(afterEpoch: epoch) : 0
    }

    /// Number of units (weights, or kernel slices) pruned out of `total` once epoch `epoch` has
    /// ended, in sparsity mode: `floor(s(e) * total)`.
    public func prunedCount(afterEpoch epoch: Int, total: Int) -> Int {
        Int((sparsity(afterEpoch: epoch) * Double(total)).rounded(.down))
    }

    /// One pruning step on a whole layer after epoch `epoch`; the coordinator runs it on the
    /// gathered layer. Returns the new mask (it only ever gains zeros) and the new weights: pruned
    /// ones set to 0 and, when `reinforcement > 0`, the kept ones reinforced (`reinforce`).
    /// - sparsity / weight: `extendMask` to `floor(s(e) * weights)` pruned weights;
    /// - sparsity / kernel: `extendKernelMask` to `floor(s(e) * slices)` pruned slices;
    /// - threshold / weight: `pruneWeights(below: theta(e))`;
    /// - threshold / kernel: `pruneKernels(below: theta(e))`.
    public func step(weights: [Float], mask: [UInt8], layout: KernelLayout,
                     afterEpoch epoch: Int) -> (weights: [Float], mask: [UInt8]) {
        precondition(weights.count == layout.count && mask.count == layout.count, "layer size does not match its layout")
        var newMask: [UInt8]
        switch (mode, unit) {
        case (.sparsity, .weight):
            newMask = mask
            extendMask(&newMask, weights: weights, prunedTarget: prunedCount(afterEpoch: epoch, total: layout.count))
        case (.sparsity, .kernel):
            newMask = extendKernelMask(mask, weights: weights, layout: layout,
                                       prunedSlices: prunedCount(afterEpoch: epoch, total: layout.slices))
        case (.threshold, .weight):
            newMask = pruneWeights(mask, weights: weights, below: threshold(afterEpoch: epoch))
        case (.threshold, .kernel):
            newMask = pruneKernels(mask, weights: weights, layout: layout, below: threshold(afterEpoch: epoch))
        }
        let newWeights = reinforce(weights, maskBefore: mask, maskAfter: newMask, maps: layout.maps, strength: reinforcement)
        return (newWeights, newMask)
    }
}

/// The shape of a whole convolution layer's weights, laid out `[ky][kx][c_in][map]`: synapse
/// `i = (ky * kernel + kx) * inChannels + c`, weight `i * maps + map`.
public struct KernelLayout: Sendable, Equatable {
    /// `kernel * kernel`: the weights of one kernel slice.
    public var positions: Int
    public var inChannels: Int
    public var maps: Int

    public init(positions: Int, inChannels: Int, maps: Int) {
        self.positions = positions; self.inChannels = inChannels; self.maps = maps
    }

    public var synapsesPerMap: Int { positions * inChannels }
    public var count: Int { positions * inChannels * maps }
    /// Number of `(c_in, map)` kernel slices.
    public var slices: Int { inChannels * maps }

    /// Slice `(c, map)` is numbered `c * maps + map`: the order in which ties are broken.
    public func slice(channel c: Int, map: Int) -> Int { c * maps + map }

    /// Index of the weight at kernel position `position` (`ky * kernel + kx`) of slice `slice`.
    public func index(position: Int, slice: Int) -> Int {
        (position * inChannels + slice / maps) * maps + slice % maps
    }
}

/// Magnitude pruning that only ever removes: extends `mask` (1 kept, 0 pruned) until `target`
/// weights are pruned, taking the smallest |w| among the kept ones, lowest index first on ties, so
/// the decision depends on the weights alone.
public func extendMask(_ mask: inout [UInt8], weights: [Float], prunedTarget target: Int) {
    let already = mask.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
    var need = target - already
    guard need > 0 else { return }
    var kept = [Int]()
    kept.reserveCapacity(mask.count - already)
    for i in mask.indices where mask[i] != 0 { kept.append(i) }
    kept.sort { (abs(weights[$0]), $0) < (abs(weights[$1]), $1) }
    for i in kept {
        if need == 0 { break }
        mask[i] = 0
        need -= 1
    }
}

/// Threshold mode, single weights: every kept weight with `|w| < theta` (compared in Double) is
/// pruned; a weight exactly at `theta` is kept.
public func pruneWeights(_ mask: [UInt8], weights: [Float], below theta: Double) -> [UInt8] {
    var out = mask
    for i in out.indices where out[i] != 0 && Double(abs(weights[i])) < theta { out[i] = 0 }
    return out
}

/// Each `(c_in, map)` slice's score, indexed `c * maps + map`: the L1 mass of its kept weights,
/// summed in Double over the kernel positions in order; `nil` for a slice with no kept weight
/// (already pruned).
public func kernelScores(weights: [Float], mask: [UInt8], layout: KernelLayout) -> [Double?] {
    (0..<layout.slices).map { s in
        var score = 0.0, kept = false
        for p in 0..<layout.positions {
            let i = layout.index(position: p, slice: s)
            if mask[i] != 0 { score += Double(abs(weights[i])); kept = true }
        }
        return kept ? score : nil
    }
}

/// Masks every weight of the given slices.
func maskSlices(_ mask: [UInt8], _ pruned: [Int], layout: KernelLayout) -> [UInt8] {
    var out = mask
    for s in pruned {
        for p in 0..<layout.positions { out[layout.index(position: p, slice: s)] = 0 }
    }
    return out
}

/// Sparsity mode, kernel slices: prunes whole slices, smallest score (`kernelScores`) first, lowest
/// `(c_in, map)` index on ties, until `target` slices have no kept weight. Never regrows.
public func extendKernelMask(_ mask: [UInt8], weights: [Float], layout: KernelLayout, prunedSlices target: Int) -> [UInt8] {
    let scores = kernelScores(weights: weights, mask: mask, layout: layout)
    let kept = scores.indices.filter { scores[$0] != nil }
    let need = target - (scores.count - kept.count)
    guard need > 0 else { return mask }
    let order = kept.sorted { (scores[$0]!, $0) < (scores[$1]!, $1) }
    return maskSlices(mask, Array(order.prefix(need)), layout: layout)
}

/// Threshold mode, kernel slices: a kept slice is pruned when its mean |w| over its `kernel^2`
/// positions (its score / `positions`; pruned weights count as 0) is below `theta`.
public func pruneKernels(_ mask: [UInt8], weights: [Float], layout: KernelLayout, below theta: Double) -> [UInt8] {
    let scores = kernelScores(weights: weights, mask: mask, layout: layout)
    let pruned = scores.indices.filter { s in scores[s].map { $0 / Double(layout.positions) < theta } ?? false }
    return maskSlices(mask, pruned, layout: layout)
}

/// Dynamic synaptic weight reinforcement (DSWR) after a pruning step, per map (weights laid out
/// `[synapse][map]`, `maps` maps). With `M_before` the L1 mass of the map's weights kept by
/// `maskBefore` and `M_after` that of the weights kept by `maskAfter` (sums in Double, in synapse
/// order), every kept weight of the map becomes
///
///     w' = min(1, w * (1 + lambda * (M_before / M_after - 1)))
///
/// (factor in Double, rounded to Float once); weights pruned by `maskAfter` become 0; a map with
/// `M_after == 0` or that lost nothing is left as it is; `lambda = 0` changes nothing but the zeroing.
///
/// What it restores: without clipping the map's kept mass becomes
/// `M_after + lambda * (M_before - M_after)`, a fraction `lambda` of the mass the step removed; with
/// `lambda = 1` the kernel's L1 mass after the step equals its mass before (up to Float rounding),
/// so a neuron whose inputs all spike gets the same total input drive as before the step. Clipping
/// at 1 gives less.
public func reinforce(_ weights: [Float], maskBefore: [UInt8], maskAfter: [UInt8], maps: Int, strength lambda: Double) -> [Float] {
    var out = weights
    for i in out.indices where maskAfter[i] == 0 { out[i] = 0 }
    guard lambda > 0, maps > 0 else { return out }
    let synapses = weights.count / maps
    for m in 0..<maps {
        var before = 0.0, after = 0.0
        for i in 0..<synapses {
            let x = i * maps + m
            if maskBefore[x] != 0 { before += Double(abs(weights[x])) }
            if maskAfter[x] != 0 { after += Double(abs(weights[x])) }
        }
        guard after > 0, before != after else { continue }
        let factor = 1 + lambda * (before / after - 1)
        for i in 0..<synapses {
            let x = i * maps + m
            if maskAfter[x] != 0 { out[x] = min(1, Float(Double(weights[x]) * factor)) }
        }
    }
    return out
}

/// Fraction of zeros in a mask.
public func sparsity(of mask: [UInt8]) -> Double {
    mask.isEmpty ? 0 : Double(mask.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) / Double(mask.count)
}
