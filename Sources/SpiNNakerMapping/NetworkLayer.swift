/// The network to map: a feed-forward chain of layers, each with the connection it receives.

/// How a layer receives the spikes of the layer before it.
public enum Connection: Hashable, Sendable {
    /// Every input channel to every map through a `kernel x kernel` window (a fully connected
    /// layer is a convolution whose kernel covers its whole input).
    case conv(kernel: Int, stride: Int, pad: Int)
    /// Channel c to channel c through a `window x window` window (spiking max pooling).
    case pool(window: Int, stride: Int, pad: Int)
    /// Every neuron of the layer before to every neuron of this one.
    case full
}

/// One layer of the chain. Element 0 of a chain is the input spike source; every next element
/// receives the spikes of the one before through `connection`. Neurons are indexed
/// channel-fastest: index = (y * width + x) * channels + c.
public struct NetworkLayer: Hashable, Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var channels: Int
    /// How this layer receives from the one before (ignored for the input layer).
    public var connection: Connection
    /// A conv layer's kept synapses, laid out `[ky][kx][c_in][map]` like the weight files (1 kept,
    /// 0 pruned); nil when nothing is pruned. Whole pruned `(c_in, map)` slices carry no traffic
    /// and need no route; the rest only saves synaptic memory.
    public var mask: [UInt8]?

    public init(name: String, width: Int, height: Int, channels: Int,
                connection: Connection = .full, mask: [UInt8]? = nil) {
        self.name = name
        self.width = width
        self.height = height
        self.channels = channels
        self.connection = connection
        self.mask = mask
    }

    public var neuronCount: Int { width * height * channels }

    public func neuronIndex(x: Int, y: Int, channel: Int) -> Int {
        (y * width + x) * channels + channel
    }
}

/// Checks a chain: at least two layers, positive sizes, unique non-empty names, windows that fit
/// the layer before and give this layer's size, masks of the kernel's size.
func validateChain(_ layers: [NetworkLayer]) throws {
    guard layers.count >= 2 else {
        throw MappingError.invalidNetwork("a chain needs an input layer and at least one more, got \(layers.count)")
    }
    var seen: Set<String> = []
    for (i, layer) in layers.enumerated() {
        guard !layer.name.isEmpty else { throw MappingError.invalidNetwork("a layer has an empty name") }
        guard seen.insert(layer.name).inserted else {
            throw MappingError.invalidNetwork("layer name \"\(layer.name)\" is used twice")
        }
        guard layer.width > 0, layer.height > 0, layer.channels > 0 else {
            throw MappingError.invalidNetwork(
                "layer \"\(layer.name)\" has size \(layer.width)x\(layer.height)x\(layer.channels)")
        }
        guard i > 0 else { continue }
        let before = layers[i - 1]
        func expect(_ k: Int, _ s: Int, _ p: Int) throws {
            guard k > 0, s > 0, p >= 0, before.width + 2 * p >= k, before.height + 2 * p >= k else {
                throw MappingError.invalidNetwork("layer \"\(layer.name)\": window \(k), stride \(s), pad \(p) over \(before.width)x\(before.height)")
            }
            let w = (before.width + 2 * p - k) / s + 1, h = (before.height + 2 * p - k) / s + 1
            guard w == layer.width, h == layer.height else {
                throw MappingError.invalidNetwork(
                    "layer \"\(layer.name)\" is \(layer.width)x\(layer.height), but a window of \(k), stride \(s), pad \(p) over \(before.width)x\(before.height) gives \(w)x\(h)")
            }
        }
        switch layer.connection {
        case let .conv(k, s, p):
            try expect(k, s, p)
            if let mask = layer.mask, mask.count != k * k * before.channels * layer.channels {
                throw MappingError.invalidNetwork("layer \"\(layer.name)\": mask of \(mask.count) synapses, the kernel has \(k * k * before.channels * layer.channels)")
            }
        case let .pool(k, s, p):
            try expect(k, s, p)
            guard layer.channels == before.channels else {
                throw MappingError.invalidNetwork("pooling layer \"\(layer.name)\" has \(layer.channels) channels, its input \(before.channels)")
            }
        case .full:
            break
        }
    }
}
