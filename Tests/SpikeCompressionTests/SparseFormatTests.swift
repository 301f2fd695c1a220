import Testing
@testable import SpikeCompression

/// A hand-made layer: 2x2 kernel, 2 input channels, 3 maps, so 8 synapses per map
/// (i = (ky * 2 + kx) * 2 + c) and 24 weights, weight i * 3 + map.
///
/// Map 0 keeps synapses 1, 4, 6 with weights 0.5, 0.25 and 0 (a kept weight of 0 is still listed);
/// map 1 keeps nothing; map 2 keeps 0, 3, 5, 7 with 1, 0.75, 0.125, 0.375. 7 kept synapses,
/// 8 <= 65536 so 2-byte indices; 14 index bytes are padded to 16.
enum HandLayer {
    static let layout = KernelLayout(kernel: 2, inChannels: 2, maps: 3)
    static let kept: [(map: Int, synapse: Int, weight: Float)] = [
        (0, 1, 0.5), (0, 4, 0.25), (0, 6, 0), (2, 0, 1), (2, 3, 0.75), (2, 5, 0.125), (2, 7, 0.375),
    ]
    static var weights: [Float] {
        var w = [Float](repeating: 0, count: 24)
        for k in kept { w[k.synapse * 3 + k.map] = k.weight }
        return w
    }
    static var mask: [UInt8] {
        var m = [UInt8](repeating: 0, count: 24)
        for k in kept { m[k.synapse * 3 + k.map] = 1 }
        return m
    }

    /// The file, byte by byte.
    static let bytes: [UInt8] = [
        // header (24 bytes)
        0x53, 0x50, 0x53, 0x50,     // "SPSP"
        0x01, 0x00,                 // version 1
        0x02, 0x00,                 // index width 2
        0x02, 0x00, 0x00, 0x00,     // kernel 2
        0x02, 0x00, 0x00, 0x00,     // in_channels 2
        0x03, 0x00, 0x00, 0x00,     // maps 3
        0x07, 0x00, 0x00, 0x00,     // kept 7
        // offsets[4] at 24: 0, 3, 3, 7 (map 1 is empty)
        0x00, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00,
        0x07, 0x00, 0x00, 0x00,
        // synapse indices at 40 (uint16): map 0: 1, 4, 6; map 2: 0, 3, 5, 7
        0x01, 0x00, 0x04, 0x00, 0x06, 0x00,
        0x00, 0x00, 0x03, 0x00, 0x05, 0x00, 0x07, 0x00,
        // padding at 54 to 56
        0x00, 0x00,
        // weights at 56 (float32): 0.5, 0.25, 0, 1, 0.75, 0.125, 0.375
        0x00, 0x00, 0x00, 0x3F,
        0x00, 0x00, 0x80, 0x3E,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x80, 0x3F,
        0x00, 0x00, 0x40, 0x3F,
        0x00, 0x00, 0x00, 0x3E,
        0x00, 0x00, 0xC0, 0x3E,
    ]
}

/// A deterministic stream for the round trips (SplitMix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

func bits(_ w: [Float]) -> [UInt32] { w.map(\.bitPattern) }

@Suite struct SparseFormatTests {
    @Test("the hand-made layer encodes to the bytes worked out by hand (84 bytes against 96 dense)")
    func handBytes() throws {
        let file = try SparseFormat.encode(weights: HandLayer.weights, mask: HandLayer.mask, layout: HandLayer.layout)
        #expect(file == HandLayer.bytes)
        #expect(file.count == 84)
        #expect(SparseFormat.fileSize(maps: 3, kept: 7, indexWidth: 2) == 84)
        #expect(HandLayer.weights.count * 4 == 96)
    }

    @Test("the hand-made file decodes to the dense layer")
    func handDecode() throws {
        let layer = try SparseFormat.decode(HandLayer.bytes)
        #expect(layer.kernel == 2 && layer.inChannels == 2 && layer.maps == 3)
        #expect(layer.layout == HandLayer.layout)
        #expect(layer.mask == HandLayer.mask)
        #expect(bits(layer.weights) == bits(HandLayer.weights))
        #expect(layer.kept == 7)
    }

    @Test("round trip dense -> sparse -> dense is identical, bit for bit",
          arguments: [(1, 1, 1), (2, 2, 3), (3, 4, 5), (5, 2, 8), (5, 32, 16)])
    func roundTrip(kernel: Int, inChannels: Int, maps: Int) throws {
        let layout = KernelLayout(kernel: kernel, inChannels: inChannels, maps: maps)
        var rng = SplitMix(state: UInt64(kernel * 1000 + inChannels * 10 + maps))
        for keepFraction: Float in [0, 0.1, 0.5, 0.9, 1] {
            var w = [Float](repeating: 0, count: layout.count), m = [UInt8](repeating: 0, count: layout.count)
            for x in 0..<layout.count where rng.unit() < keepFraction || keepFraction == 1 {
                m[x] = 1
                w[x] = rng.unit()
            }
            let file = try SparseFormat.encode(weights: w, mask: m, layout: layout)
            let kept = m.reduce(0) { $0 + Int($1) }
            #expect(file.count == SparseFormat.fileSize(maps: maps, kept: kept, indexWidth: 2))
            let back = try SparseFormat.decode(file)
            #expect(back.mask == m)
            #expect(bits(back.weights) == bits(w))
            #expect(back.layout == layout)
        }
    }

    @Test("a pruning step's output round-trips (sparsity and kernel units, with reinforcement)")
    func afterPruningStep() throws {
        let layout = KernelLayout(kernel: 5, inChannels: 2, maps: 4)
        var rng = SplitMix(state: 7)
        let w0 = (0..<layout.count).map { _ in rng.unit() }
        let m0 = [UInt8](repeating: 1, count: layout.count)
        for schedule in [PruningSchedule(finalSparsity: 0.9, startEpoch: 0, endEpoch: 0, reinforcement: 1),
                         PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 0, unit: .kernel)] {
            let (w, m) = schedule.step(weights: w0, mask: m0, layout: layout, afterEpoch: 0)
            let back = try SparseFormat.decode(try SparseFormat.encode(weights: w, mask: m, layout: layout))
            #expect(back.mask == m)
            #expect(bits(back.weights) == bits(w))
        }
    }

    @Test("4-byte indices only when kernel^2 * in_channels exceeds 65536")
    func indexWidth() throws {
        #expect(SparseFormat.indexWidth(synapsesPerMap: 65536) == 2)
        #expect(SparseFormat.indexWidth(synapsesPerMap: 65537) == 4)
        // 1x1 kernel over 65537 channels, 1 map, keeping synapses 0 and 65536.
        let wide = KernelLayout(kernel: 1, inChannels: 65537, maps: 1)
        var w = [Float](repeating: 0, count: wide.count), m = [UInt8](repeating: 0, count: wide.count)
        (w[0], m[0], w[65536], m[65536]) = (0.5, 1, 0.25, 1)
        let file = try SparseFormat.encode(weights: w, mask: m, layout: wide)
        #expect(Array(file[6..<8]) == [4, 0])
        #expect(file.count == 24 + 8 + 8 + 8)
        #expect(Array(file[32..<40]) == [0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00])
        let back = try SparseFormat.decode(file)
        #expect(back.mask == m && bits(back.weights) == bits(w))
        // 65536 synapses still fit 2 bytes: the last index is 65535.
        let edge = KernelLayout(kernel: 1, inChannels: 65536, maps: 1)
        var m2 = [UInt8](repeating: 0, count: edge.count)
        m2[65535] = 1
        let file2 = try SparseFormat.encode(weights: [Float](repeating: 0, count: edge.count), mask: m2, layout: edge)
        #expect(Array(file2[6..<8]) == [2, 0])
        #expect(Array(file2[32..<34]) == [0xFF, 0xFF])
        #expect(try SparseFormat.decode(file2).mask == m2)
    }

    // MARK: corrupt files

    /// The hand file with `edit` applied; decoding it must fail with `expected` whose text contains `words`.
    func expectFailure(_ what: String, _ words: String, _ edit: (inout [UInt8]) -> Void,
                       _ matches: (SparseFormatError) -> Bool) {
        var file = HandLayer.bytes
        edit(&file)
        do {
            _ = try SparseFormat.decode(file)
            Issue.record("\(what): decoded without an error")
        } catch let e as SparseFormatError {
            #expect(matches(e), "\(what): wrong error \(e)")
            #expect(e.description.contains(words), "\(what): \"\(e.description)\" does not say \"\(words)\"")
        } catch {
            Issue.record("\(what): unexpected error type \(error)")
        }
    }

    /// Writes a little-endian uint32 at `at`.
    func put32(_ v: UInt32, at: Int, in f: inout [UInt8]) {
        for k in 0..<4 { f[at + k] = UInt8((v >> (8 * UInt32(k))) & 0xff) }
    }

    @Test("truncated files")
    func truncated() {
        expectFailure("one byte short", "truncated sparse file: 83 bytes, but the header (3 maps, 7 kept synapses, 2-byte indices) needs 84",
                      { $0.removeLast() }) { if case .truncated = $0 { true } else { false } }
        expectFailure("header cut", "truncated sparse file: 10 bytes, shorter than the 24-byte header",
                      { $0.removeLast($0.count - 10) }) { if case .truncated = $0 { true } else { false } }
        expectFailure("empty", "shorter than the 24-byte header", { $0 = [] }) { if case .truncated = $0 { true } else { false } }
        expectFailure("kept count raised to 8", "needs 88", { $0[20] = 8 }) { if case .truncated = $0 { true } else { false } }
        expectFailure("one byte too many", "trailing bytes: 85 bytes", { $0.append(0) }) {
            if case .trailingBytes = $0 { true } else { false }
        }
    }

    @Test("bad magic, version, width, dimensions")
    func badHeader() {
        expectFailure("magic", "bad magic 53 50 53 51", { $0[3] = 0x51 }) {
            $0 == .badMagic(found: [0x53, 0x50, 0x53, 0x51])
        }
        expectFailure("dense float file", "not a sparse layer file", { $0 = [UInt8](repeating: 0, count: 96) }) {
            if case .badMagic = $0 { true } else { false }
        }
        expectFailure("version", "version 2: this reader knows version 1", { $0[4] = 2 }) {
            if case .badHeader = $0 { true } else { false }
        }
        expectFailure("width", "index width 3 bytes: must be 2 or 4", { $0[6] = 3 }) {
            if case .badHeader = $0 { true } else { false }
        }
        expectFailure("maps 0", "maps 0: must be at least 1", { $0[16] = 0 }) {
            if case .badHeader = $0 { true } else { false }
        }
        expectFailure("kernel 0", "kernel 0: must be at least 1", { $0[8] = 0 }) {
            if case .badHeader = $0 { true } else { false }
        }
        expectFailure("kept beyond the layer", "kept count 25 exceeds the layer's 24 weights", { $0[20] = 25 }) {
            if case .badHeader = $0 { true } else { false }
        }
        expectFailure("huge dimensions", "too large", { f in
            for at in [8, 12, 16] { for k in 0..<4 { f[at + k] = 0xff } }
        }) { if case .badHeader = $0 { true } else { false } }
    }

    @Test("offsets beyond the end, decreasing, not starting at 0, not ending at the kept count")
    func badOffsets() {
        expectFailure("offset beyond the end", "offsets[1] = 9 points beyond the end of the 7 kept synapses",
                      { self.put32(9, at: 28, in: &$0) }) { if case .badOffsets = $0 { true } else { false } }
        expectFailure("huge offset", "offsets[2] = 4294967295 points beyond the end",
                      { self.put32(.max, at: 32, in: &$0) }) { if case .badOffsets = $0 { true } else { false } }
        expectFailure("decreasing", "offsets[2] = 2 is below offsets[1] = 3",
                      { self.put32(2, at: 32, in: &$0) }) { if case .badOffsets = $0 { true } else { false } }
        expectFailure("not from 0", "offsets[0] = 1: must be 0",
                      { self.put32(1, at: 24, in: &$0) }) { if case .badOffsets = $0 { true } else { false } }
        expectFailure("short of the kept count", "offsets[3] = 6, but the header's kept count is 7",
                      { self.put32(6, at: 36, in: &$0) }) { if case .badOffsets = $0 { true } else { false } }
    }

    @Test("indices out of range or not increasing, non-zero padding")
    func badIndices() {
        expectFailure("index out of range", "map 0, entry 0: synapse index 8 out of range (kernel^2 * in_channels = 8)",
                      { $0[40] = 8 }) { if case .badIndex = $0 { true } else { false } }
        expectFailure("index out of range in map 2", "map 2, entry 6: synapse index 65535 out of range",
                      { $0[52] = 0xff; $0[53] = 0xff }) { if case .badIndex = $0 { true } else { false } }
        expectFailure("duplicate", "map 0, entry 1: synapse index 1 after 1: indices must increase",
                      { $0[42] = 1 }) { if case .badIndex = $0 { true } else { false } }
        expectFailure("padding", "byte 55 after the synapse indices is 1, not 0",
                      { $0[55] = 1 }) { if case .badPadding = $0 { true } else { false } }
    }

    @Test("the encoder refuses what the file could not give back")
    func encoderErrors() {
        let l = HandLayer.layout
        func fails(_ what: String, _ words: String, weights: [Float] = HandLayer.weights, mask: [UInt8] = HandLayer.mask,
                   layout: KernelLayout = HandLayer.layout) {
            do {
                _ = try SparseFormat.encode(weights: weights, mask: mask, layout: layout)
                Issue.record("\(what): encoded without an error")
            } catch {
                #expect("\(error)".contains(words), "\(what): \"\(error)\" does not say \"\(words)\"")
            }
        }
        var w = HandLayer.weights
        w[0] = 0.5  // weight 0 is pruned (map 0, synapse 0)
        fails("pruned weight not 0", "weight 0 is pruned (mask 0) but is 0.5, not 0", weights: w)
        w[0] = -0.0
        fails("pruned weight -0", "weight 0 is pruned (mask 0) but is -0.0, not 0", weights: w)
        var m = HandLayer.mask
        m[3] = 2
        fails("mask value 2", "mask value 2 at 3: must be 0 (pruned) or 1 (kept)", mask: m)
        fails("short weights", "23 weights and 24 mask values for a layer of 24 (2x2x2x3)", weights: Array(HandLayer.weights.dropLast()))
        fails("non-square positions", "3 kernel positions is not a square",
              layout: KernelLayout(positions: 3, inChannels: 2, maps: 4))
        #expect(l.kernel == 2)
        #expect(KernelLayout(positions: 25, inChannels: 1, maps: 1).kernel == 5)
        #expect(KernelLayout(positions: 24, inChannels: 1, maps: 1).kernel == nil)
    }
}
