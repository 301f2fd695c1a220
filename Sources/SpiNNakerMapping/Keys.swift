/// Keys: zoned routing keys | layer | vertex | neuron |, one (key, mask) per vertex.

/// A routing key and mask: a key k matches when (k & mask) == key.
public struct KeyAndMask: Hashable, Sendable, CustomStringConvertible {
    public let key: UInt32
    public let mask: UInt32

    public init(key: UInt32, mask: UInt32) {
        self.key = key
        self.mask = mask
    }

    public func matches(_ k: UInt32) -> Bool { k & mask == key }

    /// Whether some key matches both.
    public func overlaps(_ other: KeyAndMask) -> Bool {
        (key ^ other.key) & mask & other.mask == 0
    }

    public var description: String {
        "0x" + String(key, radix: 16) + "/0x" + String(mask, radix: 16)
    }
}

/// Field widths of the zoned keys. From the low bits up: neuron (within its vertex), vertex
/// (within its layer), layer. Bits above the layer field are zero in every key.
public struct KeySpace: Equatable, Sendable {
    public let layerBits: Int
    public let vertexBits: Int
    public let neuronBits: Int

    /// Fields just wide enough for the counts; the neuron field holds `maxNeuronsPerCore`.
    public init(layerCount: Int, maxVerticesPerLayer: Int, maxNeuronsPerCore: Int) throws {
        layerBits = KeySpace.bits(for: layerCount)
        vertexBits = KeySpace.bits(for: maxVerticesPerLayer)
        neuronBits = KeySpace.bits(for: maxNeuronsPerCore)
        let total = layerBits + vertexBits + neuronBits
        guard total <= 32 else { throw MappingError.keySpaceTooLarge(bitsNeeded: total) }
    }

    /// Bits needed to number `count` things 0 ..< count.
    public static func bits(for count: Int) -> Int {
        var bits = 0
        while (1 << bits) < count { bits += 1 }
        return bits
    }

    var vertexShift: Int { neuronBits }
    var layerShift: Int { neuronBits + vertexBits }

    /// Mask of all bits at and above the layer field: entries may only merge inside a zone.
    public var layerZoneMask: UInt32 { UInt32(truncatingIfNeeded: UInt64(0xFFFF_FFFF) << UInt64(layerShift)) }

    /// Mask of all bits at and above the vertex field: one vertex's keys.
    public var vertexMask: UInt32 { UInt32(truncatingIfNeeded: UInt64(0xFFFF_FFFF) << UInt64(vertexShift)) }

    /// The key of neuron `neuron` (counted within its vertex) of vertex `vertex` of layer `layer`.
    public func key(layer: Int, vertex: Int, neuron: Int = 0) -> UInt32 {
        UInt32(layer << layerShift | vertex << vertexShift | neuron)
    }

    /// The (key, mask) covering every neuron of one vertex.
    public func keyAndMask(layer: Int, vertex: Int) -> KeyAndMask {
        KeyAndMask(key: key(layer: layer, vertex: vertex), mask: vertexMask)
    }

    public func layer(ofKey k: UInt32) -> Int { Int(k >> UInt32(layerShift)) }
    public func vertex(ofKey k: UInt32) -> Int { Int(k >> UInt32(vertexShift)) & ((1 << vertexBits) - 1) }
    public func neuron(ofKey k: UInt32) -> Int { Int(k) & ((1 << neuronBits) - 1) }
}

/// The key space for a partitioned network and each vertex's (key, mask), parallel to `vertices`.
public func allocateKeys(_ vertices: [[MachineVertex]], maxNeuronsPerCore: Int) throws
    -> (space: KeySpace, keys: [[KeyAndMask]])
{
    let space = try KeySpace(layerCount: vertices.count,
                             maxVerticesPerLayer: vertices.map(\.count).max() ?? 0,
                             maxNeuronsPerCore: maxNeuronsPerCore)
    let keys = vertices.map { layer in layer.map { space.keyAndMask(layer: $0.layer, vertex: $0.index) } }
    return (space, keys)
}
