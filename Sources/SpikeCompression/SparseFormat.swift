/// The compressed model file of one convolution layer (`weights/<layer>.sparse`): per map (output
/// channel), the list of its kept synapses, what a SpiNNaker / PyNN exporter needs to build a
/// `FromListConnector`. Little-endian throughout; `docs/FORMATS.md` has the byte layout:
///
///     offset  size                 field
///     0       4                    magic "SPSP"
///     4       2  uint16            version (1)
///     6       2  uint16            index width W in bytes: 2 when kernel^2 * in_channels <= 65536, else 4
///     8       4  uint32            kernel
///     12      4  uint32            in_channels
///     16      4  uint32            maps
///     20      4  uint32            kept count K
///     24      4 (maps + 1)         uint32 offsets: map m's synapses are entries offsets[m] ..< offsets[m + 1];
///                                  offsets[0] = 0, non-decreasing, offsets[maps] = K
///     ...     W K                  synapse indices i = (ky * kernel + kx) * in_channels + c, strictly
///                                  increasing within a map
///     ...     0 or 2               zero padding to a multiple of 4 bytes
///     ...     4 K  float32         the kept weights, in the same order
///
/// Entry `j` of map `m` is the dense weight `i * maps + m` of the `[ky][kx][c_in][map]` layout. A
/// kept synapse (mask 1) is listed even when its weight is 0; a pruned one (mask 0, weight 0) is not.
public enum SparseFormat {
    public static let magic: [UInt8] = Array("SPSP".utf8)
    public static let version: UInt16 = 1
    public static let headerBytes = 24
    /// The layout in one line, for `model.json`'s `sparse_layout`.
    public static let layoutSummary = "little-endian; header: magic \"SPSP\", uint16 version 1, uint16 index width W (2 or 4), uint32 kernel, in_channels, maps, kept count K; uint32 offsets[maps + 1] (map m: entries offsets[m] ..< offsets[m + 1]); K synapse indices of W bytes, i = (ky * kernel + kx) * in_channels + c, increasing within a map; zero padding to a multiple of 4 bytes; K float32 weights (docs/FORMATS.md)"

    /// The narrowest index width (2 or 4 bytes) that holds every synapse index `0 ..< synapsesPerMap`.
    public static func indexWidth(synapsesPerMap: Int) -> Int { synapsesPerMap <= 1 << 16 ? 2 : 4 }

    /// Size in bytes of a file of `maps` maps, `kept` kept synapses and index width `width`.
    public static func fileSize(maps: Int, kept: Int, indexWidth width: Int) -> Int {
        headerBytes + 4 * (maps + 1) + paddedIndexBytes(kept: kept, width: width) + 4 * kept
    }

    static func paddedIndexBytes(kept: Int, width: Int) -> Int { (kept * width + 3) / 4 * 4 }

    /// Encodes a whole layer: `weights` and `mask` (1 kept, 0 pruned) laid out `[ky][kx][c_in][map]`
    /// as `layout` says, `layout.positions` a square `kernel^2`. Throws when the sizes do not match
    /// the layout, a mask value is not 0 or 1, or a pruned weight is not +0 (the file could not give
    /// it back).
    public static func encode(weights: [Float], mask: [UInt8], layout: KernelLayout) throws -> [UInt8] {
        guard let kernel = layout.kernel else {
            throw SparseFormatError.badLayout("\(layout.positions) kernel positions is not a square kernel^2")
        }
        guard layout.inChannels >= 1, layout.maps >= 1 else {
            throw SparseFormatError.badLayout("\(layout.inChannels) input channels and \(layout.maps) maps: both must be at least 1")
        }
        guard weights.count == layout.count, mask.count == layout.count else {
            throw SparseFormatError.badLayout("\(weights.count) weights and \(mask.count) mask values for a layer of \(layout.count) (\(kernel)x\(kernel)x\(layout.inChannels)x\(layout.maps))")
        }
        guard kernel <= Int(UInt32.max), layout.inChannels <= Int(UInt32.max), layout.maps <= Int(UInt32.max) else {
            throw SparseFormatError.badLayout("a dimension does not fit in 32 bits")
        }
        let maps = layout.maps, synapses = layout.synapsesPerMap
        var kept = 0
        for x in 0..<layout.count {
            switch mask[x] {
            case 1: kept += 1
            case 0:
                guard weights[x].bitPattern == 0 else {
                    throw SparseFormatError.badLayout("weight \(x) is pruned (mask 0) but is \(weights[x]), not 0")
                }
            default:
                throw SparseFormatError.badLayout("mask value \(mask[x]) at \(x): must be 0 (pruned) or 1 (kept)")
            }
        }
        guard kept <= Int(UInt32.max) else { throw SparseFormatError.badLayout("\(kept) kept synapses do not fit in 32 bits") }
        let width = indexWidth(synapsesPerMap: synapses)

        var out: [UInt8] = []
        out.reserveCapacity(fileSize(maps: maps, kept: kept, indexWidth: width))
        func put16(_ v: UInt16) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8)) }
        func put32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8((v >> (8 * UInt32(k))) & 0xff)) } }
        out += magic
        put16(version)
        put16(UInt16(width))
        put32(UInt32(kernel)); put32(UInt32(layout.inChannels)); put32(UInt32(maps)); put32(UInt32(kept))

        // Map by map, synapses in increasing order.
        var order: [Int] = []
        order.reserveCapacity(kept)
        put32(0)
        for m in 0..<maps {
            for i in 0..<synapses where mask[i * maps + m] != 0 { order.append(i * maps + m) }
            put32(UInt32(order.count))
        }
        for x in order {
            let i = x / maps
            if width == 2 { put16(UInt16(i)) } else { put32(UInt32(i)) }
        }
        while out.count % 4 != 0 { out.append(0) }
        for x in order { put32(weights[x].bitPattern) }
        return out
    }

    /// Decodes a file back to the dense layer: weights (pruned ones +0) and mask (1 kept, 0 pruned),
    /// `[ky][kx][c_in][map]`. Validates the header, the size, the offsets, the indices and the
    /// padding, and throws `SparseFormatError` naming the first problem found.
    public static func decode(_ bytes: [UInt8]) throws -> SparseLayer {
        guard bytes.count >= headerBytes else {
            throw SparseFormatError.truncated("\(bytes.count) bytes, shorter than the \(headerBytes)-byte header")
        }
        guard Array(bytes[0..<4]) == magic else {
            throw SparseFormatError.badMagic(found: Array(bytes[0..<4]))
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        let v = u16(4), width = u16(6)
        guard v == Int(version) else { throw SparseFormatError.badHeader("version \(v): this reader knows version \(version)") }
        guard width == 2 || width == 4 else { throw SparseFormatError.badHeader("index width \(width) bytes: must be 2 or 4") }
        let kernel = u32(8), inChannels = u32(12), maps = u32(16), kept = u32(20)
        for (name, value) in [("kernel", kernel), ("in_channels", inChannels), ("maps", maps)] where value < 1 {
            throw SparseFormatError.badHeader("\(name) \(value): must be at least 1")
        }
        // kernel^2 * in_channels * maps, without overflow (each factor < 2^32).
        let (positions, o1) = kernel.multipliedReportingOverflow(by: kernel)
        let (synapses, o2) = positions.multipliedReportingOverflow(by: inChannels)
        let (total, o3) = synapses.multipliedReportingOverflow(by: maps)
        guard !o1, !o2, !o3 else {
            throw SparseFormatError.badHeader("a \(kernel)x\(kernel)x\(inChannels)x\(maps) layer is too large")
        }
        guard kept <= total else {
            throw SparseFormatError.badHeader("kept count \(kept) exceeds the layer's \(total) weights (\(kernel)x\(kernel)x\(inChannels)x\(maps))")
        }
        // A reader takes either width (a 2-byte file of a wider layer is fine as long as every index
        // fits: they are checked below); writers use the narrowest.
        let expected = fileSize(maps: maps, kept: kept, indexWidth: width)
        guard bytes.count >= expected else {
            throw SparseFormatError.truncated("\(bytes.count) bytes, but the header (\(maps) maps, \(kept) kept synapses, \(width)-byte indices) needs \(expected)")
        }
        guard bytes.count == expected else {
            throw SparseFormatError.trailingBytes("\(bytes.count) bytes, but the header (\(maps) maps, \(kept) kept synapses, \(width)-byte indices) needs exactly \(expected)")
        }

        let offsetsAt = headerBytes
        let indicesAt = offsetsAt + 4 * (maps + 1)
        let weightsAt = indicesAt + paddedIndexBytes(kept: kept, width: width)
        var offsets = [Int](repeating: 0, count: maps + 1)
        for m in 0...maps {
            let o = u32(offsetsAt + 4 * m)
            guard o <= kept else {
                throw SparseFormatError.badOffsets("offsets[\(m)] = \(o) points beyond the end of the \(kept) kept synapses")
            }
            guard m == 0 || o >= offsets[m - 1] else {
                throw SparseFormatError.badOffsets("offsets[\(m)] = \(o) is below offsets[\(m - 1)] = \(offsets[m - 1])")
            }
            offsets[m] = o
        }
        guard offsets[0] == 0 else { throw SparseFormatError.badOffsets("offsets[0] = \(offsets[0]): must be 0") }
        guard offsets[maps] == kept else {
            throw SparseFormatError.badOffsets("offsets[\(maps)] = \(offsets[maps]), but the header's kept count is \(kept)")
        }
        for p in (indicesAt + kept * width)..<weightsAt where bytes[p] != 0 {
            throw SparseFormatError.badPadding("byte \(p) after the synapse indices is \(bytes[p]), not 0")
        }

        var layer = SparseLayer(kernel: kernel, inChannels: inChannels, maps: maps,
                                weights: [Float](repeating: 0, count: total), mask: [UInt8](repeating: 0, count: total))
        for m in 0..<maps {
            var previous = -1
            for j in offsets[m]..<offsets[m + 1] {
                let i = width == 2 ? u16(indicesAt + 2 * j) : u32(indicesAt + 4 * j)
                guard i < synapses else {
                    throw SparseFormatError.badIndex("map \(m), entry \(j): synapse index \(i) out of range (kernel^2 * in_channels = \(synapses))")
                }
                guard i > previous else {
                    throw SparseFormatError.badIndex("map \(m), entry \(j): synapse index \(i) after \(previous): indices must increase within a map")
                }
                previous = i
                layer.mask[i * maps + m] = 1
                layer.weights[i * maps + m] = Float(bitPattern: UInt32(u32(weightsAt + 4 * j)))
            }
        }
        return layer
    }
}

/// A decoded `.sparse` file: the dense layer it stands for.
public struct SparseLayer: Sendable, Equatable {
    public var kernel: Int
    public var inChannels: Int
    public var maps: Int
    /// `[ky][kx][c_in][map]` float32; pruned weights are +0.
    public var weights: [Float]
    /// Same layout; 1 kept, 0 pruned.
    public var mask: [UInt8]

    public init(kernel: Int, inChannels: Int, maps: Int, weights: [Float], mask: [UInt8]) {
        self.kernel = kernel; self.inChannels = inChannels; self.maps = maps; self.weights = weights; self.mask = mask
    }

    public var layout: KernelLayout { KernelLayout(kernel: kernel, inChannels: inChannels, maps: maps) }
    public var kept: Int { mask.reduce(0) { $0 + Int($1) } }
}

/// Why a layer cannot be encoded (`badLayout`) or a file cannot be decoded (the rest).
public enum SparseFormatError: Error, Equatable, CustomStringConvertible {
    case badLayout(String)
    case truncated(String)
    case trailingBytes(String)
    case badMagic(found: [UInt8])
    case badHeader(String)
    case badOffsets(String)
    case badIndex(String)
    case badPadding(String)

    public var description: String {
        switch self {
        case .badLayout(let s): "cannot encode the layer: \(s)"
        case .truncated(let s): "truncated sparse file: \(s)"
        case .trailingBytes(let s): "sparse file has trailing bytes: \(s)"
        case .badMagic(let found):
            "not a sparse layer file: bad magic \(found.map { String(format2: $0) }.joined(separator: " ")), expected 53 50 53 50 (\"SPSP\")"
        case .badHeader(let s): "bad sparse file header: \(s)"
        case .badOffsets(let s): "bad sparse file offsets: \(s)"
        case .badIndex(let s): "bad synapse index in sparse file: \(s)"
        case .badPadding(let s): "bad sparse file padding: \(s)"
        }
    }
}

private extension String {
    /// Two hex digits, without Foundation.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

extension KernelLayout {
    /// The layout of a `kernel x kernel` convolution over `inChannels` channels with `maps` maps.
    public init(kernel: Int, inChannels: Int, maps: Int) {
        self.init(positions: kernel * kernel, inChannels: inChannels, maps: maps)
    }

    /// The kernel side when `positions` is a square `kernel^2` (nil otherwise).
    public var kernel: Int? {
        guard positions >= 1 else { return nil }
        var k = Int(Double(positions).squareRoot())
        while k * k > positions { k -= 1 }
        while (k + 1) * (k + 1) <= positions { k += 1 }
        return k * k == positions ? k : nil
    }
}
