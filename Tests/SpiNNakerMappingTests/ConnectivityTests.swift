import Testing
import SpiNNakerMapping

@Suite struct ConnectivityTests {
    /// At 16 neurons per core: input 12x12 in 4x4 tiles (9 vertices, 3 x 3), conv 3x3 to 10x10 in
    /// 5x2 tiles (10 vertices, 2 across, 5 down). Sink (tx, ty) reads x in 5 tx ... 5 tx + 6 and y in
    /// 2 ty ... 2 ty + 3, so input column 0 feeds tx 0, column 1 both, column 2 tx 1; input row 0
    /// feeds ty 0-1, row 1 ty 1-3, row 2 ty 3-4. Sink index = ty * 2 + tx.
    let input = NetworkLayer(name: "input", width: 12, height: 12, channels: 1)
    let conv = NetworkLayer(name: "conv", width: 10, height: 10, channels: 1, connection: .conv(kernel: 3, stride: 1, pad: 0))

    @Test func receptiveFieldsPickTheTiles() throws {
        let m = try mapNetwork([input, conv], onto: Machine.spinn3(), maxNeuronsPerCore: 16)
        let tin = m.tilings[0], tout = m.tilings[1]
        #expect([tin.tileWidth, tin.tileHeight, tout.tileWidth, tout.tileHeight] == [4, 4, 5, 2])
        #expect(m.sinks[0][0] == [0, 2])
        #expect(m.sinks[0][1] == [0, 1, 2, 3])
        #expect(m.sinks[0][2] == [1, 3])
        #expect(m.sinks[0][3] == [2, 4, 6])
        #expect(m.sinks[0][4] == [2, 3, 4, 5, 6, 7])
        #expect(m.sinks[0][8] == [7, 9])
        #expect(checkEveryRoute(m, tables: m.routingTables, on: Machine.spinn3()).isEmpty)
    }

    /// Slice (c_in 1, map 0) pruned entirely: the channel-1 input vertices no longer feed map 0.
    /// Input vertex 9 is channel 1, tile (0, 0); conv map 1 starts at vertex 10.
    @Test func prunedSlicesNeedNoRoute() throws {
        let input2 = NetworkLayer(name: "input", width: 12, height: 12, channels: 2)
        var mask = [UInt8](repeating: 1, count: 9 * 2 * 2)
        for pos in 0..<9 { mask[(pos * 2 + 1) * 2 + 0] = 0 }
        var layer = NetworkLayer(name: "conv", width: 10, height: 10, channels: 2, connection: .conv(kernel: 3, stride: 1, pad: 0))
        let dense = try mapNetwork([input2, layer], onto: Machine.spinn5(), maxNeuronsPerCore: 16)
        layer.mask = mask
        let m = try mapNetwork([input2, layer], onto: Machine.spinn5(), maxNeuronsPerCore: 16)
        #expect(dense.sinks[0][9] == [0, 2, 10, 12])
        #expect(m.sinks[0][9] == [10, 12])
        #expect(m.sinks[0][0] == [0, 2, 10, 12])
        #expect(checkEveryRoute(m, tables: m.routingTables, on: Machine.spinn5()).isEmpty)
        #expect(checkEveryRoute(m, tables: m.uncompressedTables, on: Machine.spinn5()).isEmpty)
    }

    /// Strides, padding and pooling windows against the neuron-by-neuron reference: conv 3x3 stride
    /// 2 pad 1, a pool 3 stride 2 pad 1, a 1x1 conv of stride 2 (it skips every other column, so
    /// columns in between feed nothing), each with a few tile sizes; every route traced.
    @Test(arguments: [4, 6, 9, 16])
    func stridesAndPaddingMatchTheNeuronByNeuronSinks(perCore: Int) throws {
        let chain = [NetworkLayer(name: "in", width: 10, height: 8, channels: 2),
                     NetworkLayer(name: "c1", width: 5, height: 4, channels: 3, connection: .conv(kernel: 3, stride: 2, pad: 1)),
                     NetworkLayer(name: "p1", width: 3, height: 2, channels: 3, connection: .pool(window: 3, stride: 2, pad: 1)),
                     NetworkLayer(name: "c2", width: 2, height: 1, channels: 2, connection: .conv(kernel: 1, stride: 2, pad: 0))]
        let m = try mapNetwork(chain, onto: Machine.spinn5(), maxNeuronsPerCore: perCore)
        for l in 0..<3 {
            let expected = expectedSinks(m, layer: l)
            #expect(m.sinks[l].map(Set.init) == expected, "layer \(l) at \(perCore) per core")
        }
        #expect(checkEveryRoute(m, tables: m.routingTables, on: Machine.spinn5()).isEmpty)
        // With 1-wide columns (10x8 input at 4 per core: tiles 1x4... or 2x2), a stride-2 1x1 conv
        // reads only even columns of p1: p1's column-1 tiles feed nothing when tiles are 1 wide.
        if m.tilings[2].tileWidth == 1 {
            #expect(m.sinks[2][m.tilings[2].vertexIndex(x: 1, y: 0, channel: 0)].isEmpty)
        }
    }

    /// NER: (4,4) joins first (4 hops, north-east x 4). (7,3) is 4 hops from tree chips (3,3) and (4,4)
    /// and 7 from the source: with the default radius it hangs off (3,3) (the lower of the two),
    /// east x 4, 8 links in all; with radius 1 no tree chip is that close, so it is routed from the
    /// source, east x 4 then north-east x 3, 11 links.
    @Test func nerRadius() throws {
        let m = Machine.spinn5()
        let near = try routeTree(from: chip(0, 0), to: [chip(4, 4), chip(7, 3)], on: m)
        #expect(near.arrival[chip(7, 3)] == .west && near.contains(chip(5, 3)) && near.linkCount == 8)
        let far = try routeTree(from: chip(0, 0), to: [chip(4, 4), chip(7, 3)], on: m, radius: 1)
        #expect(far.arrival[chip(7, 3)] == .southWest && far.contains(chip(4, 0)) && far.linkCount == 11)
    }

    /// conv 3x3 from 4x4x2 to 2x2x2, one core. Dense kernel form: 2 maps x 2 channels x 9 x 2 B =
    /// 72 B; 8 neurons x 18 synapses x 4 B = 576 B of rows. Map 0 keeps all 9 weights of channel 0
    /// and none of channel 1; map 1 keeps 2 of channel 0 and 1 of channel 1. Pruned kernel form:
    /// slice (0,0) dense 18 B; (1,0) gone; (0,1) 2 pairs = 8 B; (1,1) 1 pair = 4 B: 30 B. Rows:
    /// 4 neurons x 9 + 4 x 3 = 48 synapses, 192 B.
    @Test func synapticMemoryByHand() throws {
        var mask = [UInt8](repeating: 0, count: 9 * 2 * 2)
        for pos in 0..<9 { mask[(pos * 2 + 0) * 2 + 0] = 1 }
        mask[(0 * 2 + 0) * 2 + 1] = 1; mask[(4 * 2 + 0) * 2 + 1] = 1; mask[(8 * 2 + 1) * 2 + 1] = 1
        let layers = [NetworkLayer(name: "input", width: 4, height: 4, channels: 2),
                      NetworkLayer(name: "conv", width: 2, height: 2, channels: 2, connection: .conv(kernel: 3, stride: 1, pad: 0), mask: mask)]
        let tilings = try tileLayers(layers, maxNeuronsPerCore: 8)
        let mem = synapticMemory(layers, tilings: tilings, layer: 1)
        #expect(mem.count == 1)
        #expect(mem[0].denseKernelBytes == 72 && mem[0].prunedKernelBytes == 30)
        #expect(mem[0].denseSynapses == 144 && mem[0].keptSynapses == 48)
        #expect(mem[0].denseBytes == 72 && mem[0].prunedBytes == 30)
        // With pad 1 over a 2x2 input, each of the four 2x2 outputs sees 4 of its 9 positions.
        let padded = [NetworkLayer(name: "input", width: 2, height: 2, channels: 1),
                      NetworkLayer(name: "conv", width: 2, height: 2, channels: 1, connection: .conv(kernel: 3, stride: 1, pad: 1))]
        let pm = synapticMemory(padded, tilings: try tileLayers(padded, maxNeuronsPerCore: 8), layer: 1)
        #expect(pm[0].denseSynapses == 16 && pm[0].denseKernelBytes == 18)
    }

    /// input/0 ... input/14 fill (0,0) (15 application cores), input/15 and out/0 sit on (1,0).
    /// Spikes: channels 0 and 3 at step 0, channel 15 at step 1, the output at step 2 (it sends
    /// nothing). Step 0: two packets through the routers of (0,0) and (1,0) and over (0,0)'s east
    /// link; step 1: one packet on (1,0)'s router only.
    @Test func trafficByHand() throws {
        let layers = [NetworkLayer(name: "input", width: 1, height: 1, channels: 16),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 1)]
        let m = try mapNetwork(layers, onto: Machine.spinn5(), maxNeuronsPerCore: 1, placer: .simple)
        #expect(m.placements[0][15].location == CoreLocation(chip: chip(1, 0), core: 1))
        let counter = TrafficCounter(mapping: m, timesteps: 4)
        var input = [UInt8](repeating: 255, count: 16)
        input[0] = 0; input[3] = 0; input[15] = 1
        input.withUnsafeBufferPointer { counter.add(layer: 0, times: $0) }
        [UInt8(2)].withUnsafeBufferPointer { counter.add(layer: 1, times: $0) }
        counter.endImage()
        let r = counter.report
        #expect(r.images == 1 && r.spikesPerLayer == [3, 1])
        #expect(r.routerPackets == 5 && r.linkPackets == 2)
        #expect(r.busiestRouter == TrafficPeak(packets: 2, chip: chip(0, 0), link: nil, image: 0, timestep: 0))
        #expect(r.busiestLink == TrafficPeak(packets: 2, chip: chip(0, 0), link: .east, image: 0, timestep: 0))
        #expect(r.perChip == [chip(0, 0): 2, chip(1, 0): 3])
        #expect(r.perLink[chip(0, 0)] == [2, 0, 0, 0, 0, 0])
    }

    /// The equivalence check finds a compression that sends some keys elsewhere.
    @Test func routingDifferencesAreFound() {
        let a = RoutingEntry(key: 0x00, mask: 0xF0, route: 1, defaultable: false)
        let b = RoutingEntry(key: 0x10, mask: 0xF0, route: 2, defaultable: false)
        let d = RoutingEntry(key: 0x20, mask: 0xF0, route: 1, defaultable: true)
        let original = RoutingTable(chip: chip(0, 0), entries: [a, b, d])
        // Right: a and b as they are, d left to default routing.
        #expect(routingDifferences(original: original, compressed: RoutingTable(chip: chip(0, 0), entries: [a, b])).isEmpty)
        // Wrong: 0x00/0xE0 captures b's keys with a's route.
        let wrong = RoutingTable(chip: chip(0, 0), entries: [RoutingEntry(key: 0x00, mask: 0xE0, route: 1, defaultable: false)])
        #expect(routingDifferences(original: original, compressed: wrong).count == 1)
        // Wrong: b dropped.
        #expect(routingDifferences(original: original, compressed: RoutingTable(chip: chip(0, 0), entries: [a])).count == 1)
        // Order matters: a partial overlap first splits the region; 0x18/0xF8 routes half of b's keys to 1.
        let half = RoutingTable(chip: chip(0, 0), entries: [RoutingEntry(key: 0x18, mask: 0xF8, route: 1, defaultable: false), a, b])
        #expect(routingDifferences(original: original, compressed: half).count == 1)
        // d's keys may also take the same route explicitly.
        #expect(routingDifferences(original: original, compressed: RoutingTable(chip: chip(0, 0), entries: [a, b, d])).isEmpty)
    }
}
