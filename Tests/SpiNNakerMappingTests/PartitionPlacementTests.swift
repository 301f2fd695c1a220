import Testing
import SpiNNakerMapping

@Suite struct PartitionPlacementTests {
    /// At 256 neurons per core: input 28x28 in 14x14 tiles (196, the largest dividing tile) x 2
    /// channels = 8; conv1 24x24 in 24x8 tiles (192; 8x24 is as square, the wider wins) x 32 = 96;
    /// pool1 12x12 (144) one map per core = 32; conv2 8x8 (64) four maps per core = 16; pool2 4x4
    /// sixteen per core = 4; output 10 maps of 1x1 on one core.
    @Test func partitionTilesMapsIn2D() throws {
        let v = try partitionLayers(convolutionalChain, maxNeuronsPerCore: 256)
        #expect(v.map(\.count) == [8, 96, 32, 16, 4, 1])
        #expect(v[0].map(\.label) == (0..<8).map { "input/\($0)" })
        // Vertex 5 of the input: channel 1 (tiles 4 per channel), tile (1, 0).
        #expect(v[0][5].xs == 14..<28 && v[0][5].ys == 0..<14 && v[0][5].channels == 1..<2)
        // conv1 vertex 4: map 1 (3 tiles per map), second tile row.
        #expect(v[1][4].xs == 0..<24 && v[1][4].ys == 8..<16 && v[1][4].channels == 1..<2 && v[1][4].label == "conv1/4")
        #expect(v[3][3].channels == 12..<16 && v[3][3].neuronCount == 256)
        #expect(v[5][0].channels == 0..<10 && v[5][0].neuronCount == 10)
        #expect(v.joined().allSatisfy { $0.neuronCount <= 256 })
        // Neuron (3, 10) of map 1 is neuron (10 - 8) * 24 + 3 = 51 of conv1/4.
        #expect(v[1][4].localIndex(x: 3, y: 10, channel: 1) == 51)
        #expect(throws: MappingError.self) { try partitionLayers(convolutionalChain, maxNeuronsPerCore: 0) }
        // Every neuron of every layer in exactly one vertex.
        for (l, layer) in convolutionalChain.enumerated() {
            #expect(v[l].reduce(0) { $0 + $1.neuronCount } == layer.neuronCount)
        }
    }

    @Test(arguments: [
        // (width, height, max neurons) -> tile: largest area dividing the map, then squarest, then wider.
        (24, 24, 256, 24, 8), (24, 24, 64, 8, 8), (28, 28, 64, 14, 4), (92, 92, 256, 46, 4), (13, 7, 20, 13, 1), (10, 10, 16, 5, 2),
    ])
    func tileChoice(width: Int, height: Int, maxNeurons: Int, tileWidth: Int, tileHeight: Int) {
        let t = LayerTiling(width: width, height: height, channels: 3, maxNeurons: maxNeurons)
        #expect(t.tileWidth == tileWidth && t.tileHeight == tileHeight && t.channelsPerVertex == 1)
    }

    @Test func neuronIndexIsChannelFastest() {
        let layer = NetworkLayer(name: "conv1", width: 24, height: 24, channels: 32)
        #expect(layer.neuronIndex(x: 0, y: 0, channel: 1) == 1)
        #expect(layer.neuronIndex(x: 1, y: 0, channel: 0) == 32)
        #expect(layer.neuronIndex(x: 0, y: 1, channel: 0) == 24 * 32)
        #expect(layer.neuronIndex(x: 23, y: 23, channel: 31) == layer.neuronCount - 1)
    }

    @Test func snakeOrderWalksNeighbouringChips() {
        let m = Machine.spinn5()
        let order = placementOrder(of: m)
        #expect(order.count == 48)
        #expect(Array(order.prefix(8)) == [chip(0, 0), chip(1, 0), chip(2, 0), chip(3, 0), chip(4, 0),
                                           chip(5, 1), chip(4, 1), chip(3, 1)])
        for (a, b) in zip(order, order.dropFirst()) {
            #expect(m.hopDistance(a, b) == 1, "\(a) -> \(b)")
        }
    }

    /// The Hilbert curve of a 2x2 grid visits (0,0) (0,1) (1,1) (1,0); of 4x4, (0,0) (1,0) (1,1)
    /// (0,1) (0,2) ...; consecutive cells are always neighbours.
    @Test func hilbertCurve() {
        #expect([(0, 0), (0, 1), (1, 1), (1, 0)].map { hilbertIndex(x: $0.0, y: $0.1, n: 2) } == [0, 1, 2, 3])
        #expect([(0, 0), (1, 0), (1, 1), (0, 1), (0, 2)].map { hilbertIndex(x: $0.0, y: $0.1, n: 4) } == [0, 1, 2, 3, 4])
        var cells = [(Int, Int)](repeating: (0, 0), count: 64)
        for x in 0..<8 { for y in 0..<8 { cells[hilbertIndex(x: x, y: y, n: 8)] = (x, y) } }
        for (a, b) in zip(cells, cells.dropFirst()) { #expect(abs(a.0 - b.0) + abs(a.1 - b.1) == 1) }
    }

    @Test(arguments: [Placer.simple, .hilbert])
    func placementsUseDistinctApplicationCores(placer: Placer) throws {
        let m = Machine.spinn5()
        let mapping = try mapNetwork(convolutionalChain, onto: m, maxNeuronsPerCore: 64, placer: placer)
        let all = Array(mapping.placements.joined())
        // At 64: input 14x4 tiles x 2 = 28, conv1 8x8 x 32 = 288, pool1 12x4 x 32 = 96, conv2 one
        // 8x8 map per core = 64, pool2 four 4x4 maps per core = 16, output 1.
        #expect(all.count == 28 + 288 + 96 + 64 + 16 + 1)
        #expect(mapping.coresUsed == all.count)
        #expect(Set(all.map(\.location)).count == all.count)
        #expect(Set(all.map(\.vertex.label)).count == all.count)
        for p in all {
            let c = try #require(m.chips[p.location.chip])
            #expect(p.p >= 1 && p.p <= c.applicationCores, "\(p.vertex.label) on \(p.location)")
        }
        #expect(mapping.chipsUsed == Set(all.map(\.location.chip)).count)
        #expect(mapping.placer == placer)
        if placer == .simple {
            // (0,0) is an Ethernet chip with 15 application cores; the 16th vertex opens (1,0).
            #expect(all[0].location == CoreLocation(chip: chip(0, 0), core: 1))
            #expect(all[14].location == CoreLocation(chip: chip(0, 0), core: 15))
            #expect(all[15].location == CoreLocation(chip: chip(1, 0), core: 1))
        }
    }

    /// The Hilbert placer keeps a tile near the tiles it talks to: on this chain its trees use fewer
    /// links than the simple placer's, and `best` keeps it.
    @Test func hilbertPlacementShortensRoutes() throws {
        let m = Machine.spinn5()
        let best = try mapNetwork(convolutionalChain, onto: m, maxNeuronsPerCore: 64)
        let simple = try #require(best.routingDistance[.simple]), hilbert = try #require(best.routingDistance[.hilbert])
        #expect(hilbert < simple, "hilbert \(hilbert) links, simple \(simple)")
        #expect(best.placer == .hilbert)
        let total = best.routes.joined().reduce(0) { $0 + $1.tree.linkCount }
        #expect(total == hilbert)
    }

    @Test func tooLargeNetworkSaysWhatItNeeds() {
        let layers = [NetworkLayer(name: "input", width: 1, height: 1, channels: 380),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 380)]
        #expect(throws: MappingError.doesNotFit(coresNeeded: 760, coresAvailable: 759)) {
            try mapNetwork(layers, onto: Machine.spinn5(), maxNeuronsPerCore: 1)
        }
        let text = MappingError.doesNotFit(coresNeeded: 760, coresAvailable: 759).description
        #expect(text.contains("760") && text.contains("759"))
    }

    @Test func invalidChainsAreRejected() {
        let a = NetworkLayer(name: "a", width: 2, height: 2, channels: 1)
        #expect(throws: MappingError.self) { try mapNetwork([a], onto: Machine.spinn3()) }
        #expect(throws: MappingError.self) { try mapNetwork([a, a], onto: Machine.spinn3()) }
        let empty = NetworkLayer(name: "b", width: 0, height: 2, channels: 1)
        #expect(throws: MappingError.self) { try mapNetwork([a, empty], onto: Machine.spinn3()) }
        // A 3x3 window over 8x8 gives 6x6, not 7x7; a pool changes no channel count; a mask fits its kernel.
        let input = NetworkLayer(name: "in", width: 8, height: 8, channels: 2)
        #expect(throws: MappingError.self) {
            try mapNetwork([input, NetworkLayer(name: "c", width: 7, height: 7, channels: 4, connection: .conv(kernel: 3, stride: 1, pad: 0))], onto: Machine.spinn3())
        }
        #expect(throws: MappingError.self) {
            try mapNetwork([input, NetworkLayer(name: "p", width: 4, height: 4, channels: 3, connection: .pool(window: 2, stride: 2, pad: 0))], onto: Machine.spinn3())
        }
        #expect(throws: MappingError.self) {
            try mapNetwork([input, NetworkLayer(name: "c", width: 6, height: 6, channels: 4, connection: .conv(kernel: 3, stride: 1, pad: 0),
                                                mask: [UInt8](repeating: 1, count: 71))], onto: Machine.spinn3())
        }
    }
}
