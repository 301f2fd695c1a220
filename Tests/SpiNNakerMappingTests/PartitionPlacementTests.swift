import Testing
import SpiNNakerMapping

@Suite struct PartitionPlacementTests {
    @Test func partitionSlicesContiguously() throws {
        let v = try partitionLayers(convolutionalChain, maxNeuronsPerCore: 256)
        #expect(v.map(\.count) == [7, 72, 18, 16, 4, 1])
        #expect(v[0].map(\.label) == (0..<7).map { "input/\($0)" })
        #expect(v[0][6].neurons == 1536..<1568)
        #expect(v[1][3].neurons == 768..<1024 && v[1][3].label == "conv1/3")
        #expect(v[5][0].neurons == 0..<10)
        #expect(throws: MappingError.self) { try partitionLayers(convolutionalChain, maxNeuronsPerCore: 0) }
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

    @Test func placementsUseDistinctApplicationCores() throws {
        let m = Machine.spinn5()
        let mapping = try mapNetwork(convolutionalChain, onto: m, maxNeuronsPerCore: 64)
        let all = Array(mapping.placements.joined())
        #expect(all.count == 25 + 288 + 72 + 64 + 16 + 1)
        #expect(mapping.coresUsed == all.count)
        #expect(Set(all.map(\.location)).count == all.count)
        #expect(Set(all.map(\.vertex.label)).count == all.count)
        for p in all {
            let c = try #require(m.chips[p.location.chip])
            #expect(p.p >= 1 && p.p <= c.applicationCores, "\(p.vertex.label) on \(p.location)")
        }
        // (0,0) is an Ethernet chip with 15 application cores; the 16th vertex opens (1,0).
        #expect(all[0].location == CoreLocation(chip: chip(0, 0), core: 1))
        #expect(all[14].location == CoreLocation(chip: chip(0, 0), core: 15))
        #expect(all[15].location == CoreLocation(chip: chip(1, 0), core: 1))
        #expect(mapping.chipsUsed == Set(all.map(\.location.chip)).count)
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
    }
}
