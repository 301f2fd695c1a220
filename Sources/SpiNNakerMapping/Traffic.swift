/// Traffic emulation: real spike trains pushed through the mapped network. Every spike of a neuron
/// is one multicast packet with its vertex's key, injected at the vertex's chip and copied along
/// the vertex's routing tree: each chip of the tree routes it once, each link of the tree carries
/// it once. Counted per timestep of each sample, in network time: each projection delays by one
/// timestep (as on SpiNNaker, and in the PyNN export), so a spike of layer l at step s is sent at
/// timestep s + l; a sample spans `timesteps + layers - 1` timesteps.

/// What one link or router handles at most, in packets per timestep, and where.
public struct TrafficPeak: Equatable, Sendable {
    public var packets = 0
    public var chip = ChipCoordinate(0, 0)
    /// The link, for a link peak.
    public var link: Link? = nil
    public var image = 0
    public var timestep = 0

    public init(packets: Int = 0, chip: ChipCoordinate = ChipCoordinate(0, 0), link: Link? = nil, image: Int = 0, timestep: Int = 0) {
        self.packets = packets; self.chip = chip; self.link = link; self.image = image; self.timestep = timestep
    }
}

public struct TrafficReport: Sendable {
    public var images = 0
    public var timesteps = 0
    /// Spikes (packets injected) per layer, over all images; the last layer sends nothing.
    public var spikesPerLayer: [Int] = []
    /// Packets routed summed over routers, and carried summed over links, over all images.
    public var routerPackets = 0
    public var linkPackets = 0
    /// Link packets between chips of different boards (Ethernet chips): with one MPI rank per
    /// board, the spikes ranks would exchange.
    public var interBoardPackets = 0
    public var busiestRouter = TrafficPeak()
    public var busiestLink = TrafficPeak()
    /// Packets each chip's router handled over all images, and each link carried.
    public var perChip: [ChipCoordinate: Int] = [:]
    public var perLink: [ChipCoordinate: [Int]] = [:]

    /// Hardware figures a timestep is compared with, in packets per 1 ms timestep (sPyNNaker's
    /// default). Readings, not measurements: a link carries about 250 Mbit/s each way and a
    /// multicast packet without payload is 40 bits, so 6,250 packets per ms; the router handles
    /// about one packet per clock cycle, taken here as 100,000 per ms.
    public static let linkPacketsPerMs = 6_250
    public static let routerPacketsPerMs = 100_000
}

/// Counts the packets of images pushed through `mapping`. Feed it each image's spike times,
/// layer by layer (`add`), then `endImage()`; `report` holds the totals.
public final class TrafficCounter {
    public let mapping: NetworkMapping
    public let timesteps: Int
    public private(set) var report = TrafficReport()
    /// For each layer, vertex -> index in `routes` (nil: the vertex feeds nothing).
    private var routeOf: [[Int?]]
    private var routeChips: [[Int]] = []
    private var routeLinks: [[Int]] = []
    private let chips: [ChipCoordinate]
    /// This image's spikes per (timestep, layer, vertex).
    private var spikes: [[[Int32]]]
    private var routerLoad: [Int]
    private var linkLoad: [Int]

    /// Whether link k (`chip index * 6 + link`) joins two boards.
    private var crossesBoards: [Bool] = []

    public init(mapping: NetworkMapping, timesteps: Int, machine: Machine? = nil) {
        self.mapping = mapping
        self.timesteps = timesteps
        var chipSet = Set<ChipCoordinate>()
        for route in mapping.routes.joined() { chipSet.formUnion(route.tree.chips) }
        chips = chipSet.sorted()
        let chipIndex = Dictionary(uniqueKeysWithValues: chips.enumerated().map { ($1, $0) })
        routeOf = mapping.vertices.map { [Int?](repeating: nil, count: $0.count) }
        for route in mapping.routes.joined() {
            routeOf[route.source.layer][route.source.index] = routeChips.count
            let tree = route.tree
            routeChips.append(tree.chips.map { chipIndex[$0]! })
            routeLinks.append(tree.outgoing.flatMap { c, links in links.map { chipIndex[c]! * 6 + $0.rawValue } })
        }
        spikes = [[[Int32]]](repeating: mapping.vertices.map { [Int32](repeating: 0, count: $0.count) },
                             count: timesteps + mapping.layers.count - 1)
        if let machine {
            let chips = chips
            crossesBoards = (0..<(chips.count * 6)).map { k in
                let c = chips[k / 6]
                guard let next = machine.neighbour(of: c, via: Link(rawValue: k % 6)!) else { return false }
                return machine.chips[c]?.ethernet != machine.chips[next]?.ethernet
            }
        }
        routerLoad = [Int](repeating: 0, count: chips.count)
        linkLoad = [Int](repeating: 0, count: chips.count * 6)
        report.timesteps = timesteps
        report.spikesPerLayer = [Int](repeating: 0, count: mapping.layers.count)
        report.perLink = [:]
    }

    /// One image's spikes of layer `layer`: the step of every neuron, channel-fastest
    /// (`(y * width + x) * channels + c`), `noSpike` (or any step >= timesteps) for none. They are
    /// counted at network timestep `step + layer`.
    public func add(layer l: Int, times: UnsafeBufferPointer<UInt8>) {
        let layer = mapping.layers[l], tiling = mapping.tilings[l]
        precondition(times.count == layer.neuronCount, "layer \(layer.name): \(times.count) spike times for \(layer.neuronCount) neurons")
        var i = 0
        for y in 0..<layer.height {
            for x in 0..<layer.width {
                for c in 0..<layer.channels {
                    let t = Int(times[i])
                    i += 1
                    guard t < timesteps else { continue }
                    report.spikesPerLayer[l] += 1
                    spikes[t + l][l][tiling.vertexIndex(x: x, y: y, channel: c)] += 1
                }
            }
        }
    }

    /// Routes the image's spikes timestep by timestep and keeps the peaks.
    public func endImage() {
        var chipTotals = [Int](repeating: 0, count: chips.count), linkTotals = [Int](repeating: 0, count: chips.count * 6)
        for t in spikes.indices {
            for i in routerLoad.indices { routerLoad[i] = 0 }
            for i in linkLoad.indices { linkLoad[i] = 0 }
            for l in spikes[t].indices {
                for v in spikes[t][l].indices where spikes[t][l][v] > 0 {
                    let n = Int(spikes[t][l][v])
                    spikes[t][l][v] = 0
                    guard let r = routeOf[l][v] else { continue }
                    for c in routeChips[r] { routerLoad[c] += n }
                    for k in routeLinks[r] { linkLoad[k] += n }
                }
            }
            for (c, n) in routerLoad.enumerated() where n > 0 {
                chipTotals[c] += n
                report.routerPackets += n
                if n > report.busiestRouter.packets {
                    report.busiestRouter = TrafficPeak(packets: n, chip: chips[c], image: report.images, timestep: t)
                }
            }
            for (k, n) in linkLoad.enumerated() where n > 0 {
                linkTotals[k] += n
                report.linkPackets += n
                if !crossesBoards.isEmpty && crossesBoards[k] { report.interBoardPackets += n }
                if n > report.busiestLink.packets {
                    report.busiestLink = TrafficPeak(packets: n, chip: chips[k / 6], link: Link(rawValue: k % 6),
                                                     image: report.images, timestep: t)
                }
            }
        }
        for (c, n) in chipTotals.enumerated() where n > 0 { report.perChip[chips[c], default: 0] += n }
        for (k, n) in linkTotals.enumerated() where n > 0 {
            report.perLink[chips[k / 6], default: [Int](repeating: 0, count: 6)][k % 6] += n
        }
        report.images += 1
    }
}
