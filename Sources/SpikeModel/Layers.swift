import SpikeCluster

/// How a convolution layer is shaped and how it learns.
public struct ConvSpec: Sendable {
    public var name: String
    public var kernel: Int
    public var stride: Int
    public var pad: Int
    public var maps: Int
    public var epochs: Int
    public var stdp: STDP
    public var thresholds: ThresholdAdaptation
    public var initialThresholdMean: Float
    public var initialThresholdStd: Float
    /// Initial weights ~ U(low, high), or N(mean, std) clipped to [0, 1] when `weightNormal`.
    public var weightLow: Float
    public var weightHigh: Float
    public var weightNormal: (mean: Float, std: Float)?
    /// Multiplies the STDP rate and the threshold rate at the end of every epoch.
    public var anneal: Float
    /// Inference-time lateral inhibition (`wta_infer`): at each position only the first map to fire
    /// does (earliest step, then largest potential, then lowest map).
    public var inhibitInference = false

    public init(name: String, kernel: Int, stride: Int = 1, pad: Int = 0, maps: Int, epochs: Int, stdp: STDP,
                thresholds: ThresholdAdaptation, initialThresholdMean: Float, initialThresholdStd: Float,
                weightLow: Float = 0, weightHigh: Float = 1, anneal: Float = 0.95) {
        self.name = name; self.kernel = kernel; self.stride = stride; self.pad = pad; self.maps = maps
        self.epochs = epochs; self.stdp = stdp; self.thresholds = thresholds
        self.initialThresholdMean = initialThresholdMean; self.initialThresholdStd = initialThresholdStd
        self.weightLow = weightLow; self.weightHigh = weightHigh; self.anneal = anneal
    }

    public func outputShape(_ input: Shape) -> Shape {
        Shape(height: (input.height + 2 * pad - kernel) / stride + 1,
              width: (input.width + 2 * pad - kernel) / stride + 1, channels: maps)
    }
}

/// Spiking max pooling: a pooled neuron fires once, at the first spike in its window.
public struct PoolSpec: Sendable {
    public var name: String
    public var window: Int
    public var stride: Int
    public var pad: Int
    public init(name: String, window: Int, stride: Int, pad: Int = 0) {
        self.name = name; self.window = window; self.stride = stride; self.pad = pad
    }
    public func outputShape(_ input: Shape) -> Shape {
        Shape(height: (input.height + 2 * pad - window) / stride + 1,
              width: (input.width + 2 * pad - window) / stride + 1, channels: input.channels)
    }
}

public enum LayerSpec: Sendable {
    case conv(ConvSpec)
    case pool(PoolSpec)

    public var name: String {
        switch self { case .conv(let c): c.name; case .pool(let p): p.name }
    }
    public func outputShape(_ input: Shape) -> Shape {
        switch self { case .conv(let c): c.outputShape(input); case .pool(let p): p.outputShape(input) }
    }
}

/// One rank's share of a convolution layer: the kernels and thresholds of maps `maps`.
/// Weights are laid out `[k][m]` with `k = (ky * kernel + kx) * inChannels + c` and `m` the local
/// map, so one input spike adds one contiguous row of `m` weights (SIMD over maps).
public final class ConvSlice {
    public let spec: ConvSpec
    public let input: Shape
    public let output: Shape
    public let maps: Range<Int>
    public var weights: [Float]
    /// 1 keeps a synapse, 0 prunes it for good; same layout as `weights`.
    public var mask: [UInt8]
    public var thresholds: [Float]

    public var synapsesPerMap: Int { spec.kernel * spec.kernel * input.channels }
    public var localMaps: Int { maps.count }

    /// Draws each map's kernel and threshold from streams named by (seed, layer, map): the same
    /// values whichever rank owns the map.
    public init(spec: ConvSpec, input: Shape, maps: Range<Int>, seed: UInt64, layerIndex: Int) {
        self.spec = spec
        self.input = input
        self.output = spec.outputShape(input)
        self.maps = maps
        let k = spec.kernel * spec.kernel * input.channels, m = maps.count
        weights = [Float](repeating: 0, count: k * m)
        mask = [UInt8](repeating: 1, count: k * m)
        thresholds = [Float](repeating: 0, count: m)
        for (j, map) in maps.enumerated() {
            var rng = RandomStream(seed: seed, 1, UInt64(layerIndex), UInt64(map))
            for i in 0..<k {
                if let n = spec.weightNormal {
                    weights[i * m + j] = min(max(Float(rng.normal(mean: Double(n.mean), std: Double(n.std))), 0), 1)
                } else {
                    weights[i * m + j] = spec.weightLow + (spec.weightHigh - spec.weightLow) * Float(rng.uniform())
                }
            }
            thresholds[j] = Float(rng.normal(mean: Double(spec.initialThresholdMean),
                                             std: Double(spec.initialThresholdStd)))
        }
    }

    /// A slice holding the given parameters: weights and mask `[k][localMap]`, thresholds `[localMap]`
    /// (a trained layer re-sliced for another set of ranks, `resliced(to:slices:comm:)`).
    public init(spec: ConvSpec, input: Shape, maps: Range<Int>, weights: [Float], mask: [UInt8], thresholds: [Float]) {
        let k = spec.kernel * spec.kernel * input.channels
        precondition(weights.count == k * maps.count && mask.count == weights.count && thresholds.count == maps.count,
                     "ConvSlice: \(weights.count) weights, \(mask.count) mask entries and \(thresholds.count) thresholds for \(maps.count) maps of \(k) synapses")
        self.spec = spec
        self.input = input
        self.output = spec.outputShape(input)
        self.maps = maps
        self.weights = weights
        self.mask = mask
        self.thresholds = thresholds
    }

    /// Replaces the mask and zeroes the pruned weights.
    public func apply(mask newMask: [UInt8]) {
        mask = newMask
        for i in weights.indices where mask[i] == 0 { weights[i] = 0 }
    }
}
