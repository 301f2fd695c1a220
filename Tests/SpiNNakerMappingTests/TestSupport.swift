import Foundation
import SpiNNakerMapping

/// The repository root, found from this file's path (Tests/SpiNNakerMappingTests/...).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func chip(_ x: Int, _ y: Int) -> ChipCoordinate { ChipCoordinate(x, y) }

/// A convolutional chain like the trainer's: 7 + 72 + 18 + 16 + 4 + 1 = 118 vertices at 256.
let convolutionalChain = [
    NetworkLayer(name: "input", width: 28, height: 28, channels: 2),
    NetworkLayer(name: "conv1", width: 24, height: 24, channels: 32),
    NetworkLayer(name: "pool1", width: 12, height: 12, channels: 32),
    NetworkLayer(name: "conv2", width: 8, height: 8, channels: 64),
    NetworkLayer(name: "pool2", width: 4, height: 4, channels: 64),
    NetworkLayer(name: "output", width: 1, height: 1, channels: 10),
]

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

/// Every vertex of layer l must reach exactly the cores of layer l+1's vertices.
func checkEveryRoute(_ mapping: NetworkMapping, tables: [RoutingTable], on machine: Machine) -> [String] {
    var failures: [String] = []
    for l in 0..<(mapping.layers.count - 1) {
        let expected = Set(mapping.placements[l + 1].map(\.location))
        for source in mapping.placements[l] {
            let km = mapping.vertexKeys[l][source.vertex.index]
            // The vertex's first and last neuron keys must travel alike.
            let lastNeuron = km.key | UInt32(source.vertex.neurons.count - 1)
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
