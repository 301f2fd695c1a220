#if canImport(Glibc)
import Glibc
#endif

/// The STDP rules of the reference simulator. Times are in [0, 1] (`step / T`); an input that did
/// not spike has `pre = +infinity`. Weights stay in [0, 1].
public enum STDPRule: String, Sendable, Codable, CaseIterable {
    case multiplicative
    case biological
    case biologicalMultiplicative = "biological_multiplicative"
    case linear
    case proportional

    /// The parameters each rule reads (besides `a`).
    public var parameters: Set<String> {
        switch self {
        case .multiplicative: ["b"]
        case .biological: ["tau"]
        case .biologicalMultiplicative: ["b", "tau"]
        case .linear: ["a_minus"]
        case .proportional: []
        }
    }
}

public struct STDP: Sendable, Equatable {
    public var rule: STDPRule
    /// Learning rate, annealed each epoch.
    public var a: Float
    /// Multiplicative: the weight-dependence exponent.
    public var b: Float
    /// Biological: the time constant.
    public var tau: Float
    /// Linear: the depression step (the reference's alpha_m; `a` is alpha_p). Annealed with `a`.
    public var aMinus: Float

    public init(rule: STDPRule, a: Float, b: Float = 0, tau: Float = 0.1, aMinus: Float? = nil) {
        self.rule = rule; self.a = a; self.b = b; self.tau = tau; self.aMinus = aMinus ?? a
    }

    /// Annealing: every rate shrinks by `factor`.
    public mutating func anneal(_ factor: Float) {
        a *= factor
        aMinus *= factor
    }

    /// The new weight of a synapse whose input spiked at `pre` when its neuron fired at `post`.
    @inline(__always)
    public func updated(_ w: Float, pre: Float, post: Float) -> Float {
        let v: Float
        switch rule {
        case .multiplicative:
            v = pre <= post ? w + a * expf(-b * w) : w - a * expf(b * (w - 1))
        case .biological:
            // A missing input spike (pre = inf) gives exp(-inf) = 0: no depression, as in the reference.
            v = pre <= post ? w + a * expf(-(post - pre) / tau) : w - a * expf(-(pre - post) / tau)
        case .biologicalMultiplicative:
            v = pre <= post ? w + a * expf(-(post - pre) / tau) * expf(-b * w)
                            : w - a * expf(-(pre - post) / tau) * expf(b * (w - 1))
        case .linear:
            v = pre <= post ? w + a : w - aMinus
        case .proportional:
            // The step grows with the time between the spikes; a missing input spike drives w to 0.
            v = w + a * (post - pre)
        }
        return clampWeight(v)
    }
}

extension STDP {
    /// Whether the rule adds to the weight a term that depends on the spike times only (then
    /// `term`): biological, linear, proportional. The multiplicative rules also read the weight.
    public var isAdditive: Bool { rule == .biological || rule == .linear || rule == .proportional }

    /// The additive rules' term, `updated(w, pre:, post:) == min(max(w + term(pre:, post:), 0), 1)`
    /// bit for bit (`w - x` is `w + (-x)` in IEEE arithmetic).
    @inline(__always)
    public func term(pre: Float, post: Float) -> Float {
        switch rule {
        case .biological: pre <= post ? a * expf(-(post - pre) / tau) : -(a * expf(-(pre - post) / tau))
        case .linear: pre <= post ? a : -aMinus
        case .proportional: a * (post - pre)
        case .multiplicative, .biologicalMultiplicative: preconditionFailure("term(pre:post:) of a multiplicative rule")
        }
    }

    /// The new weights of one winner's kernel: `weight(i)` / `setWeight(i, _)` address synapse i,
    /// `spike(i)` is its input's step (or `noSpike`), `kept(i)` its mask. An additive rule's term
    /// takes one of T + 1 values (a step or no spike) per sample: they are tabulated first, so the
    /// kernel costs one add per synapse instead of one `expf` call (MNIST fc1: 2048 per sample).
    /// Kernels with fewer synapses than table entries (conv1: 50 synapses, T + 1 = 65 or 129) are
    /// updated directly: the table would cost more `expf` calls than it saves. Both give the same
    /// weights.
    @inline(__always)
    func updateKernel(synapses: Int, timesteps T: Int, post: Float, table: UnsafeMutablePointer<Float>,
                      spike: (Int) -> UInt8, kept: (Int) -> Bool,
                      weight: (Int) -> Float, setWeight: (Int, Float) -> Void) {
        if isAdditive && synapses > T + 1 {
            fillTerms(table, post: post, timesteps: T)
            applyTerms(table, synapses: synapses, spike: spike, kept: kept, weight: weight, setWeight: setWeight)
        } else {
            for i in 0..<synapses where kept(i) {
                let s = spike(i)
                let pre: Float = s == noSpike ? .infinity : Float(s) / Float(T)
                setWeight(i, updated(weight(i), pre: pre, post: post))
            }
        }
    }
}

extension STDP {
    /// An additive rule's terms for a neuron firing at `post`, by the input's byte: `row[s]` for
    /// an input at step s < T, `row[noSpike]` for none (256 entries).
    @inline(__always)
    func fillTerms(_ row: UnsafeMutablePointer<Float>, post: Float, timesteps T: Int) {
        for s in 0..<T { row[s] = term(pre: Float(s) / Float(T), post: post) }
        row[Int(noSpike)] = term(pre: .infinity, post: post)
    }

    /// The kept synapses' new weights from a row of `fillTerms`.
    @inline(__always)
    func applyTerms(_ row: UnsafePointer<Float>, synapses: Int, spike: (Int) -> UInt8, kept: (Int) -> Bool,
                    weight: (Int) -> Float, setWeight: (Int, Float) -> Void) {
        for i in 0..<synapses where kept(i) { setWeight(i, clampWeight(weight(i) + row[Int(spike(i))])) }
    }
}

/// Target-timestamp threshold adaptation (Falez et al., IJCNN 2019), as coded in the reference:
/// with the winner firing at `t`, every threshold moves by `-eta * (t - tObj)`; the winner then gains
/// `eta` and every other neuron loses `eta / (N - 1)`; thresholds never fall below `minThreshold`.
public struct ThresholdAdaptation: Sendable, Equatable {
    public var eta: Float
    public var targetTime: Float
    public var minThreshold: Float
    /// Whether a sample whose patch has input spikes but makes no map fire counts as a firing at
    /// the end of the window (t = 1): every threshold drops by `eta (1 - targetTime)`. Off in the
    /// reference, where such a sample changes nothing, so a layer whose thresholds all rise above
    /// what its (pruned) kernels can reach stays silent for good.
    public var lowerOnSilence: Bool

    public init(eta: Float, targetTime: Float, minThreshold: Float, lowerOnSilence: Bool = false) {
        self.eta = eta; self.targetTime = targetTime; self.minThreshold = minThreshold
        self.lowerOnSilence = lowerOnSilence
    }

    /// After a sample with input spikes and no winner: with `lowerOnSilence`, the timing term of a
    /// firing at t = 1 on every map (no winner term); otherwise nothing.
    public func adaptSilent(_ thresholds: UnsafeMutableBufferPointer<Float>) {
        guard lowerOnSilence else { return }
        let timing = eta * (1 - targetTime)
        for i in 0..<thresholds.count { thresholds[i] = max(minThreshold, thresholds[i] - timing) }
    }

    /// Adapts the thresholds of maps `firstMap ..< firstMap + thresholds.count` (a rank's slice of a
    /// layer of `totalMaps` maps) after `winner` fired at time `t`.
    public func adapt(_ thresholds: UnsafeMutableBufferPointer<Float>, firstMap: Int, totalMaps: Int,
                      winner: Int, t: Float) {
        let timing = eta * (t - targetTime)
        let loser = totalMaps > 1 ? eta / Float(totalMaps - 1) : 0
        for i in 0..<thresholds.count {
            var th = thresholds[i] - timing
            th += (firstMap + i == winner) ? eta : -loser
            thresholds[i] = max(minThreshold, th)
        }
    }
}

/// A weight after an STDP update, clamped to [0, 1]: `min(max(v, 0), 1)` for every number, and 0 for
/// NaN (a rule's `0 * inf`: `a = 0` with a missing input, or `expf` overflowing in a multiplicative
/// rule), so weights are never NaN: the grouped training's bisection relies on potentials that
/// never fall, and a NaN weight would make the winner depend on the path, hence on the rank count.
@inline(__always)
func clampWeight(_ v: Float) -> Float { min(v > 0 ? v : 0, 1) }
