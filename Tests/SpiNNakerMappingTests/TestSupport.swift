import Foundation
import SpiNNakerMapping

/// The repository root, found from this file's path (Tests/SpiNNakerMappingTests/...).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func chip(_ x: Int, _ y: Int) -> ChipCoordinate { ChipCoordinate(x, y) }

/// A convolutional chain like the trainer's: 8 + 96 + 32 + 16 + 4 + 1 = 157 vertices at 256.
let convolutionalChain = [
    NetworkLayer(name: "input", width: 28, height: 28, channels: 2),
    NetworkLayer(name: "conv1", width: 24, height: 24, channels: 32, connection: .conv(kernel: 5, stride: 1, pad: 0)),
    NetworkLayer(name: "pool1", width: 12, height: 12, channels: 32, connection: .pool(window: 2, stride: 2, pad: 0)),
    NetworkLayer(name: "conv2", width: 8, height: 8, channels: 64, connection: .conv(kernel: 5, stride: 1, pad: 0)),
    NetworkLayer(name: "pool2", width: 4, height: 4, channels: 64, connection: .pool(window: 2, stride: 2, pad: 0)),
    NetworkLayer(name: "output", width: 1, height: 1, channels: 10),
]

/// The vertices of layer l + 1 that each vertex of layer l must reach, worked out neuron by
/// neuron from the connections (not from the library's tile arithmetic): a sink vertex needs a
/// source vertex when one of its neurons has a kept synapse from one of the source's neurons.
func expectedSinks(_ mapping: NetworkMapping, layer l: Int) -> [Set<Int>] {
    let before = mapping.layers[l], after = mapping.layers[l + 1]
    func owner(_ x: Int, _ y: Int, _ c: Int) -> Int {
        mapping.vertices[l].first { $0.xs.contains(x) && $0.ys.contains(y) && $0.channels.contains(c) }!.index
    }
    var result = [Set<Int>](repeating: [], count: mapping.vertices[l].count)
    for sink in mapping.vertices[l + 1] {
        var sources = Set<Int>()
        switch after.connection {
        case .full:
            sources = Set(mapping.vertices[l].map(\.index))
        case let .conv(k, s, p), let .pool(k, s, p):
            var isPool = false
            if case .pool = after.connection { isPool = true }
            for y in sink.ys { for x in sink.xs { for m in sink.channels {
                for ky in 0..<k { for kx in 0..<k {
                    let ix = x * s - p + kx, iy = y * s - p + ky
                    guard ix >= 0, iy >= 0, ix < before.width, iy < before.height else { continue }
                    for c in (isPool ? m..<(m + 1) : 0..<before.channels) {
                        if !isPool, let mask = after.mask, mask[((ky * k + kx) * before.channels + c) * after.channels + m] == 0 { continue }
                        sources.insert(owner(ix, iy, c))
                    }
                }}
            }}}
        }
        for u in sources { result[u].insert(sink.index) }
    }
    return result
}

/// What a packet did on its way through the routers.
struct Delivery {
    var cores: [CoreLocation] = []
    var chipsVisited: [ChipCoordinate] = []
    var problems: [String] = []
}

/// Sends one packet with `key` from a core of `source` through `tables`, written independently
/// of the library's routing code: on each chip the first entry with (key & mask) == key wins;
/// with no match the packet leaves by the link opposite the one it arrived on, except on the
/// source chip (locally injected packets are not default routed). A chip reached twice is a
/// loop or a duplicate; a route over a dead link is a problem.
func simulate(key: UInt32, from source: ChipCoordinate, tables: [RoutingTable], on machine: Machine) -> Delivery {
    let byChip = Dictionary(uniqueKeysWithValues: tables.map { ($0.chip, $0.entries) })
    var result = Delivery()
    var pending: [(chip: ChipCoordinate, arrivedOn: Link?)] = [(source, nil)]
    var visited: Set<ChipCoordinate> = []
    while let (here, arrivedOn) = pending.popLast() {
        guard visited.insert(here).inserted else {
            result.problems.append("chip \(here) reached twice")
            continue
        }
        result.chipsVisited.append(here)
        var links: [Int] = []
        if let entry = byChip[here]?.first(where: { key & $0.mask == $0.key }) {
            let word = entry.route
            links = (0..<6).filter { word & (1 << UInt32($0)) != 0 }
            for p in 0..<18 where word & (1 << UInt32(6 + p)) != 0 {
                result.cores.append(CoreLocation(chip: here, core: p))
            }
            if word >> 24 != 0 { result.problems.append("route word 0x\(String(word, radix: 16)) on \(here) too wide") }
        } else if let arrivedOn {
            links = [(arrivedOn.rawValue + 3) % 6]
        } else {
            result.problems.append("no entry for key 0x\(String(key, radix: 16)) on its source chip \(here)")
        }
        for l in links {
            let link = Link(rawValue: l)!
            guard let next = machine.neighbour(of: here, via: link) else {
                result.problems.append("chip \(here) sends on dead link \(l)")
                continue
            }
            pending.append((next, Link(rawValue: (l + 3) % 6)!))
        }
    }
    return result
}

/// Every vertex of layer l must reach exactly the cores of the layer l+1 vertices it feeds.
func checkEveryRoute(_ mapping: NetworkMapping, tables: [RoutingTable], on machine: Machine) -> [String] {
    var failures: [String] = []
    for l in 0..<(mapping.layers.count - 1) {
        let sinks = expectedSinks(mapping, layer: l)
        for source in mapping.placements[l] {
            let expected = Set(sinks[source.vertex.index].map { mapping.placements[l + 1][$0].location })
            let km = mapping.vertexKeys[l][source.vertex.index]
            // A vertex that feeds nothing sends nothing (no outgoing edge, as in sPyNNaker).
            if expected.isEmpty {
                if mapping.sinks[l][source.vertex.index].isEmpty { continue }
                failures.append("\(source.vertex.label) should feed nothing, has sinks \(mapping.sinks[l][source.vertex.index])")
            }
            if Set(mapping.sinks[l][source.vertex.index]) != sinks[source.vertex.index] {
                failures.append("\(source.vertex.label): library sinks \(mapping.sinks[l][source.vertex.index].count), expected \(sinks[source.vertex.index].count)")
            }
            // The vertex's first and last neuron keys must travel alike.
            let lastNeuron = km.key | UInt32(source.vertex.neuronCount - 1)
            for key in [km.key, lastNeuron] {
                let d = simulate(key: key, from: source.location.chip, tables: tables, on: machine)
                if !d.problems.isEmpty { failures.append("\(source.vertex.label): \(d.problems)") }
                if d.cores.count != Set(d.cores).count { failures.append("\(source.vertex.label): a core got two copies") }
                if Set(d.cores) != expected {
                    failures.append("\(source.vertex.label) key 0x\(String(key, radix: 16)): reached \(d.cores.count) cores, expected \(expected.count)")
                }
            }
        }
    }
    return failures
}
