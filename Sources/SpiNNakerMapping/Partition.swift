/// Partitioning: every layer split into machine vertices, one per core.

/// A slice of one layer that runs on one core.
public struct MachineVertex: Hashable, Sendable {
    /// Index of the layer in the chain.
    public let layer: Int
    /// Index of this vertex within its layer.
    public let index: Int
    /// The layer's neuron indices this vertex holds.
    public let neurons: Range<Int>
    /// "layerName/index", unique over the network.
    public let label: String

    public init(layer: Int, index: Int, neurons: Range<Int>, label: String) {
        self.layer = layer
        self.index = index
        self.neurons = neurons
        self.label = label
    }
}

/// Splits every layer into contiguous slices of at most `maxNeuronsPerCore` neurons: slice i
/// holds neurons i*max ..< min((i+1)*max, count). Result: one array of vertices per layer.
public func partitionLayers(_ layers: [NetworkLayer], maxNeuronsPerCore: Int) throws -> [[MachineVertex]] {
    guard maxNeuronsPerCore > 0 else {
        throw MappingError.invalidNetwork("maxNeuronsPerCore must be positive, got \(maxNeuronsPerCore)")
    }
    return layers.enumerated().map { layerIndex, layer in
        let count = layer.neuronCount
        let slices = (count + maxNeuronsPerCore - 1) / maxNeuronsPerCore
        return (0..<slices).map { i in
            MachineVertex(layer: layerIndex, index: i,
                          neurons: i * maxNeuronsPerCore ..< min((i + 1) * maxNeuronsPerCore, count),
                          label: "\(layer.name)/\(i)")
        }
    }
}
