/// The network to map: a feed-forward chain of layers.

/// One layer of the chain. Element 0 of a chain is the input spike source; every next element
/// receives the spikes of the one before. Neurons are indexed channel-fastest:
/// index = (y * width + x) * channels + c.
public struct NetworkLayer: Hashable, Sendable {
    public var name: String
    public var width: Int
    public var height: Int
    public var channels: Int

    public init(name: String, width: Int, height: Int, channels: Int) {
        self.name = name
        self.width = width
        self.height = height
        self.channels = channels
    }

    public var neuronCount: Int { width * height * channels }

    public func neuronIndex(x: Int, y: Int, channel: Int) -> Int {
        (y * width + x) * channels + channel
    }
}

/// Checks a chain: at least two layers, positive sizes, unique non-empty names.
func validateChain(_ layers: [NetworkLayer]) throws {
    guard layers.count >= 2 else {
        throw MappingError.invalidNetwork("a chain needs an input layer and at least one more, got \(layers.count)")
    }
    var seen: Set<String> = []
    for layer in layers {
        guard !layer.name.isEmpty else { throw MappingError.invalidNetwork("a layer has an empty name") }
        guard seen.insert(layer.name).inserted else {
            throw MappingError.invalidNetwork("layer name \"\(layer.name)\" is used twice")
        }
        guard layer.width > 0, layer.height > 0, layer.channels > 0 else {
            throw MappingError.invalidNetwork(
                "layer \"\(layer.name)\" has size \(layer.width)x\(layer.height)x\(layer.channels)")
        }
    }
}
