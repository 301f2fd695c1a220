import Testing
import SpiNNakerMapping

@Suite struct KeysTests {
    @Test(arguments: [(1, 0), (2, 1), (3, 2), (4, 2), (72, 7), (256, 8), (257, 9)])
    func fieldWidths(count: Int, bits: Int) {
        #expect(KeySpace.bits(for: count) == bits)
    }

    @Test func zonedKeysOfTheConvolutionalChain() throws {
        let mapping = try mapNetwork(convolutionalChain, onto: Machine.spinn5())
        let space = mapping.keySpace
        // 6 layers -> 3 bits, 96 vertices -> 7 bits, 256 neurons -> 8 bits.
        #expect([space.layerBits, space.vertexBits, space.neuronBits] == [3, 7, 8])
        #expect(mapping.vertexKeys[2][5] == KeyAndMask(key: 2 << 15 | 5 << 8, mask: 0xFFFF_FF00))
        #expect(space.layerZoneMask == 0xFFFF_8000)
        // conv1 neuron (3, 10) of map 1 is neuron (10 - 8) * 24 + 3 = 51 of vertex conv1/4.
        #expect(mapping.key(x: 3, y: 10, channel: 1, layer: 1) == 1 << 15 | 4 << 8 | 51)
        #expect(space.layer(ofKey: 0x10507) == 2 && space.vertex(ofKey: 0x10507) == 5 && space.neuron(ofKey: 0x10507) == 7)
        let all = Array(mapping.vertexKeys.joined())
        #expect(Set(all).count == all.count)
        for (i, a) in all.enumerated() {
            #expect(a.key & ~a.mask == 0)
            for b in all[(i + 1)...] where a.overlaps(b) { Issue.record("\(a) overlaps \(b)") }
        }
    }

    @Test func keysBeyondThirtyTwoBitsAreRejected() {
        #expect(throws: MappingError.keySpaceTooLarge(bitsNeeded: 33)) {
            try KeySpace(layerCount: 8, maxVerticesPerLayer: 4, maxNeuronsPerCore: 1 << 28)
        }
    }
}
