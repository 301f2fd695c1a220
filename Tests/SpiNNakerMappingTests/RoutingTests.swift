import Testing
import SpiNNakerMapping

@Suite struct RoutingTests {
    let spinn5 = Machine.spinn5()
    let vertexMask: UInt32 = 0xFFFF_FFF0
    let someVertex = MachineVertex(layer: 0, index: 0, xs: 0..<1, ys: 0..<1, channels: 0..<16, label: "v")

    @Test func straightRouteHasADefaultableMiddle() throws {
        let tree = try routeTree(from: chip(0, 0), to: [chip(2, 0)], on: spinn5)
        #expect(tree.chips == [chip(0, 0), chip(1, 0), chip(2, 0)])
        #expect(tree.outgoing[chip(0, 0)] == [.east] && tree.outgoing[chip(1, 0)] == [.east])
        #expect(tree.arrival[chip(1, 0)] == .west && tree.arrival[chip(2, 0)] == .west)
        let route = MulticastRoute(keyAndMask: KeyAndMask(key: 0x30, mask: vertexMask), source: someVertex, tree: tree,
                                   targets: [chip(2, 0): [1]])
        let tables = buildRoutingTables([route])
        #expect(tables == [
            RoutingTable(chip: chip(0, 0), entries: [RoutingEntry(key: 0x30, mask: vertexMask, route: 0x1, defaultable: false)]),
            RoutingTable(chip: chip(1, 0), entries: [RoutingEntry(key: 0x30, mask: vertexMask, route: 0x1, defaultable: true)]),
            RoutingTable(chip: chip(2, 0), entries: [RoutingEntry(key: 0x30, mask: vertexMask, route: 1 << 7, defaultable: false)]),
        ])
        // Compressed, (1,0) has nothing left and default routing carries the packet.
        let compressed = try compressTables(tables, zoneMask: 0xFFFF_FF00)
        #expect(compressed.map(\.chip) == [chip(0, 0), chip(2, 0)])
        let d = simulate(key: 0x35, from: chip(0, 0), tables: compressed, on: spinn5)
        #expect(d.problems.isEmpty)
        #expect(d.cores == [CoreLocation(chip: chip(2, 0), core: 1)])
    }

    @Test func treeJoinsTheNearestChip() throws {
        // (2,0) is nearer the source and joins first (E, E); (3,1) then hangs off (2,0) by NE.
        let tree = try routeTree(from: chip(0, 0), to: [chip(3, 1), chip(2, 0)], on: spinn5)
        #expect(tree.chips == [chip(0, 0), chip(1, 0), chip(2, 0), chip(3, 1)])
        #expect(tree.outgoing[chip(2, 0)] == [.northEast])
        #expect(tree.arrival[chip(3, 1)] == .southWest)
        // Two sinks along one line: (0,0) -> (0,2) -> (0,3) shares the path.
        let line = try routeTree(from: chip(0, 0), to: [chip(0, 3), chip(0, 2)], on: spinn5)
        #expect(line.chips == [chip(0, 0), chip(0, 1), chip(0, 2), chip(0, 3)])
    }

    @Test func deadLinkFallsBackToALivePath() throws {
        let m = try spinn5.removing(chips: [], breaking: [(chip(1, 0), .east)])
        #expect(longestDimensionFirstPath(from: chip(0, 0), to: chip(2, 0), on: m) == nil)
        let tree = try routeTree(from: chip(0, 0), to: [chip(2, 0)], on: m)
        #expect(tree.chips.count == 4)   // three hops is the shortest way round
        #expect(tree.outgoing[chip(1, 0)]?.contains(.east) != true)
        let route = MulticastRoute(keyAndMask: KeyAndMask(key: 0, mask: vertexMask), source: someVertex, tree: tree, targets: [chip(2, 0): [3]])
        let d = simulate(key: 0, from: chip(0, 0), tables: try compressTables(buildRoutingTables([route]), zoneMask: 0), on: m)
        #expect(d.problems.isEmpty)
        #expect(d.cores == [CoreLocation(chip: chip(2, 0), core: 3)])
    }

    @Test func unreachableChipIsAnError() throws {
        let m = try spinn5.removing(chips: [], breaking: [
            (chip(1, 0), .east), (chip(3, 0), .west), (chip(3, 1), .southWest), (chip(2, 1), .south),
        ])
        #expect(throws: MappingError.noRoute(from: chip(0, 0), to: chip(2, 0))) {
            try routeTree(from: chip(0, 0), to: [chip(2, 0)], on: m)
        }
    }

    /// input (15 vertices) fills (0,0); hidden (16) fills (1,0); out (2) sits on (1,1) p1-2.
    /// Keys: 2 layer bits, 4 vertex bits, 4 neuron bits. (0,0) sends east to (1,0), (1,0)
    /// sends north to (1,1); each layer's entries merge into one over the vertex field.
    @Test func handWorkedSpiNN3() throws {
        let layers = [NetworkLayer(name: "input", width: 1, height: 1, channels: 240),
                      NetworkLayer(name: "hidden", width: 1, height: 1, channels: 256),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 32)]
        let m = Machine.spinn3()
        let mapping = try mapNetwork(layers, onto: m, maxNeuronsPerCore: 16, placer: .simple)
        #expect(mapping.placements[0].allSatisfy { $0.location.chip == chip(0, 0) })
        #expect(mapping.placements[1].map(\.p) == Array(1...16))
        #expect(mapping.placements[1].allSatisfy { $0.location.chip == chip(1, 0) })
        #expect(mapping.placements[2].map(\.location) == [CoreLocation(chip: chip(1, 1), core: 1),
                                                          CoreLocation(chip: chip(1, 1), core: 2)])
        #expect(mapping.vertexKeys[1][3] == KeyAndMask(key: 0x130, mask: 0xFFFF_FFF0))
        #expect(mapping.uncompressedTables.map { $0.entries.count } == [15, 31, 16])
        let cores1to16: UInt32 = 0x7F_FF80
        #expect(mapping.routingTables == [
            RoutingTable(chip: chip(0, 0), entries: [RoutingEntry(key: 0x000, mask: 0xFFFF_FF00, route: 0x1, defaultable: false)]),
            RoutingTable(chip: chip(1, 0), entries: [RoutingEntry(key: 0x000, mask: 0xFFFF_FF00, route: cores1to16, defaultable: false),
                                                     RoutingEntry(key: 0x100, mask: 0xFFFF_FF00, route: 0x4, defaultable: false)]),
            RoutingTable(chip: chip(1, 1), entries: [RoutingEntry(key: 0x100, mask: 0xFFFF_FF00, route: 0x180, defaultable: false)]),
        ])
        #expect([mapping.coresUsed, mapping.chipsUsed, mapping.maxTableSize] == [33, 3, 2])
        #expect(checkEveryRoute(mapping, tables: mapping.routingTables, on: m).isEmpty)
    }

    @Test func everyRouteOfTheConvolutionalChainOnSpiNN5() throws {
        let mapping = try mapNetwork(convolutionalChain, onto: spinn5, maxNeuronsPerCore: 64, placer: .simple)
        #expect(mapping.chipsUsed == 32)   // 493 cores: 15 on (0,0) and on the 17-core chips, else 16
        #expect(mapping.uncompressedTables.contains { $0.entries.contains(where: \.defaultable) })
        for tables in [mapping.routingTables, mapping.uncompressedTables] {
            let failures = checkEveryRoute(mapping, tables: tables, on: spinn5)
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
        // Dropping only the defaultable entries must also route everything.
        let dropped = mapping.uncompressedTables.map { RoutingTable(chip: $0.chip, entries: $0.entries.filter { !$0.defaultable }) }
        #expect(checkEveryRoute(mapping, tables: dropped, on: spinn5).isEmpty)
        #expect(mapping.routingTables.allSatisfy { $0.entries.count <= 1023 })
        #expect(mapping.maxTableSize < mapping.maxUncompressedTableSize)
    }

    @Test func everyRouteOnAFullBoard() throws {
        // 100 + 559 + 100 vertices of 16 neurons: all 759 application cores of the board.
        let layers = [NetworkLayer(name: "input", width: 1, height: 1, channels: 1600),
                      NetworkLayer(name: "hidden", width: 1, height: 1, channels: 559 * 16),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 1600)]
        let mapping = try mapNetwork(layers, onto: spinn5, maxNeuronsPerCore: 16)
        #expect(mapping.coresUsed == 759 && mapping.chipsUsed == 48)
        #expect(mapping.routingTables.allSatisfy { $0.entries.count <= 1023 })
        let failures = checkEveryRoute(mapping, tables: mapping.routingTables, on: spinn5)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func everyRouteAroundDeadChipsAndLinks() throws {
        let m = try spinn5.removing(chips: [chip(3, 3), chip(4, 4), chip(1, 4)],
                                    breaking: [(chip(2, 2), .east), (chip(4, 2), .north), (chip(5, 5), .southWest),
                                               (chip(0, 1), .east), (chip(6, 3), .west)])
        let mapping = try mapNetwork(convolutionalChain, onto: m, maxNeuronsPerCore: 48)
        #expect(mapping.placements.joined().allSatisfy { ![chip(3, 3), chip(4, 4), chip(1, 4)].contains($0.location.chip) })
        let failures = checkEveryRoute(mapping, tables: mapping.routingTables, on: m)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test func everyRouteOnSpiNN3() throws {
        // Input 8x8 in 4x2 tiles x 2 channels = 16, conv 6x6 in 3x2 tiles x 6 maps = 36, out 2.
        let layers = [NetworkLayer(name: "input", width: 8, height: 8, channels: 2),
                      NetworkLayer(name: "conv", width: 6, height: 6, channels: 6, connection: .conv(kernel: 3, stride: 1, pad: 0)),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 10)]
        let m = Machine.spinn3()
        let mapping = try mapNetwork(layers, onto: m, maxNeuronsPerCore: 8)
        #expect(mapping.coresUsed == 16 + 36 + 2)
        #expect(checkEveryRoute(mapping, tables: mapping.routingTables, on: m).isEmpty)
    }
}
