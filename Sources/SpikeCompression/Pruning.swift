/// How a layer's target sparsity rises over its own training epochs.
public struct PruningSchedule: Sendable, Equatable, Codable {
    public enum Ramp: String, Sendable, Codable { case linear, cubic }
    /// Fraction of the layer's weights pruned once the ramp ends, in [0, 1).
    public var finalSparsity: Double
    /// First epoch (0-based) after which pruning happens.
    public var startEpoch: Int
    /// Epoch after which the final sparsity is reached (0-based, inclusive).
    public var endEpoch: Int
    public var ramp: Ramp

    public init(finalSparsity: Double, startEpoch: Int, endEpoch: Int, ramp: Ramp = .cubic) {
        self.finalSparsity = finalSparsity; self.startEpoch = startEpoch; self.endEpoch = endEpoch; self.ramp = ramp
    }

    /// Target sparsity once epoch `epoch` (0-based) has ended. Linear: `s_f * p`; cubic (Zhu & Gupta
    /// 2017): `s_f * (1 - (1 - p)^3)`, with `p = (epoch - start + 1) / (end - start + 1)` clamped to [0, 1].
    public func sparsity(afterEpoch epoch: Int) -> Double {
        if epoch < startEpoch { return 0 }
        let span = Double(max(endEpoch - startEpoch + 1, 1))
        let p = min(1, Double(epoch - startEpoch + 1) / span)
        switch ramp {
        case .linear: return finalSparsity * p
        case .cubic: return finalSparsity * (1 - (1 - p) * (1 - p) * (1 - p))
        }
    }

    /// Number of weights pruned out of `total` once epoch `epoch` has ended (rounded down).
    public func prunedCount(afterEpoch epoch: Int, total: Int) -> Int {
        Int((sparsity(afterEpoch: epoch) * Double(total)).rounded(.down))
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

/// Fraction of zeros in a mask.
public func sparsity(of mask: [UInt8]) -> Double {
    mask.isEmpty ? 0 : Double(mask.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) / Double(mask.count)
}
