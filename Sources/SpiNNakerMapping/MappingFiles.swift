import Foundation

/// The files of a mapping besides PACMAN's three: the rig place-and-route interchange files
/// (`graph.json`, `routing_keys.json`), `traffic.json` and `mapping_report.md`.

/// `graph.json`: `{"vertices_resources": {label: {"cores": 1, "sdram": bytes}}, "edges": {label:
/// {"source": label, "sinks": [labels], "weight": 1, "type": "multicast"}}}`, one multicast edge
/// (net) per source vertex, named after it; sdram is the vertex's synaptic memory in its smaller
/// pruned form. `routing_keys.json`: `{label: [key, mask]}` for every vertex that sends.
public func rigFiles(_ mapping: NetworkMapping, memory: [[SynapticMemory]]) throws -> [(name: String, data: Data)] {
    struct Resources: Encodable { let cores: Int; let sdram: Int }
    struct Net: Encodable { let source: String; let sinks: [String]; let weight: Int; let type: String }
    struct Graph: Encodable { let vertices_resources: [String: Resources]; let edges: [String: Net] }
    var resources: [String: Resources] = [:], nets: [String: Net] = [:], keys: [String: [UInt32]] = [:]
    for (l, layer) in mapping.vertices.enumerated() {
        for v in layer {
            resources[v.label] = Resources(cores: 1, sdram: memory[l][v.index].prunedBytes)
            guard l + 1 < mapping.vertices.count, !mapping.sinks[l][v.index].isEmpty else { continue }
            nets[v.label] = Net(source: v.label, sinks: mapping.sinks[l][v.index].map { mapping.vertices[l + 1][$0].label },
                                weight: 1, type: "multicast")
            let km = mapping.vertexKeys[l][v.index]
            keys[v.label] = [km.key, km.mask]
        }
    }
    return [("graph.json", try encodeJSON(Graph(vertices_resources: resources, edges: nets))),
            ("routing_keys.json", try encodeJSON(keys))]
}

/// `traffic.json`: the emulation's totals and peaks, and every chip's and link's packets.
public func trafficJSON(_ t: TrafficReport) throws -> Data {
    struct Peak: Encodable { let packets: Int; let x: Int; let y: Int; let link: Int?; let image: Int; let timestep: Int }
    struct ChipLoad: Encodable { let x: Int; let y: Int; let router_packets: Int; let link_packets: [Int] }
    struct File: Encodable {
        let images: Int; let timesteps: Int; let spikes_per_layer: [Int]
        let router_packets: Int; let link_packets: Int; let inter_board_packets: Int
        let busiest_router: Peak; let busiest_link: Peak
        let limits_packets_per_ms: [String: Int]
        let chips: [ChipLoad]
    }
    func peak(_ p: TrafficPeak) -> Peak {
        Peak(packets: p.packets, x: p.chip.x, y: p.chip.y, link: p.link?.rawValue, image: p.image, timestep: p.timestep)
    }
    let chips = Set(t.perChip.keys).union(t.perLink.keys).sorted().map {
        ChipLoad(x: $0.x, y: $0.y, router_packets: t.perChip[$0] ?? 0, link_packets: t.perLink[$0] ?? [0, 0, 0, 0, 0, 0])
    }
    return try encodeJSON(File(images: t.images, timesteps: t.timesteps, spikes_per_layer: t.spikesPerLayer,
                               router_packets: t.routerPackets, link_packets: t.linkPackets, inter_board_packets: t.interBoardPackets,
                               busiest_router: peak(t.busiestRouter), busiest_link: peak(t.busiestLink),
                               limits_packets_per_ms: ["link": TrafficReport.linkPacketsPerMs, "router": TrafficReport.routerPacketsPerMs],
                               chips: chips))
}

/// Writes the PACMAN files, the rig files, `traffic.json` (when given) and `mapping_report.md`
/// into `directory`, each atomically.
public func writeMappingFiles(_ mapping: NetworkMapping, machine: Machine, machineName: String,
                              traffic: TrafficReport?, seconds: Double?, to directory: URL) throws {
    try writePACMANFiles(mapping, machine: machine, to: directory)
    let memory = mapping.layers.indices.map { synapticMemory(mapping.layers, tilings: mapping.tilings, layer: $0) }
    var files = try rigFiles(mapping, memory: memory)
    if let traffic {
        files.append(("traffic.json", try trafficJSON(traffic)))
    } else {
        // No traffic this time: a traffic.json of an earlier mapping into this directory would lie.
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("traffic.json"))
    }
    let report = mappingReport(mapping, machine: machine, machineName: machineName, memory: memory,
                               traffic: traffic, seconds: seconds)
    files.append(("mapping_report.md", Data(report.utf8)))
    for (name, data) in files { try writeAtomically(data, to: directory.appendingPathComponent(name)) }
}

func kib(_ bytes: Int) -> String {
    bytes < 10 * 1024 ? "\(bytes) B" : String(format: "%.1f KiB", Double(bytes) / 1024)
}

/// `mapping_report.md`: chips and cores used, the placers' routing distances, per layer the
/// tiling and the synaptic memory with and without the pruned synapses, the routing tables before
/// and after compression, the longest route, and the traffic.
public func mappingReport(_ mapping: NetworkMapping, machine: Machine, machineName: String,
                          memory: [[SynapticMemory]], traffic: TrafficReport?, seconds: Double?) -> String {
    var out: [String] = ["# SpiNNaker mapping", ""]
    let ethernet = machine.chips.values.filter(\.isEthernet).count
    out.append("Machine `\(machineName)`: \(machine.width) x \(machine.height) chips (\(machine.chips.count) present, "
               + "\(ethernet) Ethernet), \(machine.wrapsX && machine.wrapsY ? "a torus" : "no wrap-around"), "
               + "\(machine.applicationCores) application cores.")
    out.append("")
    out.append("- **Used:** \(mapping.coresUsed) cores on \(mapping.chipsUsed) chips, at most \(mapping.maxNeuronsPerCore) neurons per core.")
    let distances = Placer.allCases.compactMap { p in mapping.routingDistance[p].map { "\(p.rawValue) \($0)" } }
    out.append("- **Placement:** `\(mapping.placer.rawValue)` placer kept; total routing distance (links of all multicast trees): "
               + distances.joined(separator: ", ") + ".")
    let routes = Array(mapping.routes.joined())
    out.append("- **Routes:** \(routes.count) multicast trees, \(routes.reduce(0) { $0 + $1.tree.linkCount }) links in all, "
               + "longest route \(mapping.longestRoute) hops.")
    let before = mapping.uncompressedTables.reduce(0) { $0 + $1.entries.count }
    let after = mapping.routingTables.reduce(0) { $0 + $1.entries.count }
    out.append("- **Routing tables:** \(mapping.uncompressedTables.count) chips with entries; \(before) entries before compression "
               + "(largest \(mapping.maxUncompressedTableSize)), \(after) after (largest \(mapping.maxTableSize), limit \(machine.routerEntries)); "
               + "every compressed table checked to route every key as the uncompressed one.")
    if let seconds { out.append(String(format: "- **Mapping time:** %.2f s.", seconds)) }
    out.append("")

    out.append("## Layers and synaptic memory")
    out.append("")
    out.append("Kernel form: one int16 weight per kernel position for every `(c_in, map)` slice of a core's maps (sPyNNaker's "
               + "convolution connector); pruned: slices with no kept synapse left out, and sparse slices stored as (weight, position) "
               + "pairs when smaller. Rows: 4 bytes per synapse of every neuron (a `FromListConnector`). Per core: the smaller form.")
    out.append("")
    out.append("| layer | size | tile x channels per core | cores | kernel form dense | kernel form pruned | rows dense | rows pruned | per core, dense -> pruned (max) | saved |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for (l, layer) in mapping.layers.enumerated() {
        let t = mapping.tilings[l]
        let sum = memory[l].reduce(SynapticMemory(), +)
        let maxDense = memory[l].map(\.denseBytes).max() ?? 0, maxPruned = memory[l].map(\.prunedBytes).max() ?? 0
        let dense = memory[l].reduce(0) { $0 + $1.denseBytes }, pruned = memory[l].reduce(0) { $0 + $1.prunedBytes }
        let saved = l == 0 || dense == 0 ? "" : String(format: "%.1f %%", 100 * Double(dense - pruned) / Double(dense))
        out.append("| \(layer.name) | \(layer.width)x\(layer.height)x\(layer.channels) | \(t.tileWidth)x\(t.tileHeight) x \(t.channelsPerVertex) "
                   + "| \(t.vertexCount) | \(l == 0 ? "" : kib(sum.denseKernelBytes)) | \(l == 0 ? "" : kib(sum.prunedKernelBytes)) "
                   + "| \(l == 0 ? "" : kib(sum.denseRowBytes)) | \(l == 0 ? "" : kib(sum.prunedRowBytes)) "
                   + "| \(l == 0 ? "input" : "\(kib(maxDense)) -> \(kib(maxPruned))") | \(saved) |")
    }
    out.append("")
    for (l, layer) in mapping.layers.enumerated() {
        let t = mapping.tilings[l]
        let fill = Double(layer.neuronCount) / Double(t.vertexCount * mapping.maxNeuronsPerCore)
        if fill < 0.5 && layer.width * layer.height > mapping.maxNeuronsPerCore {
            out.append(String(format: "Note: %@ fills its cores to %.0f %% on average (%@x%@ x %d neurons per core of %d): a tile must divide the map, so a map side with few divisors forces narrow tiles.",
                              layer.name, fill * 100, "\(t.tileWidth)", "\(t.tileHeight)", t.channelsPerVertex, mapping.maxNeuronsPerCore))
            out.append("")
        }
    }

    out.append("## Routing tables per chip")
    out.append("")
    let tables = Dictionary(uniqueKeysWithValues: mapping.routingTables.map { ($0.chip, $0.entries.count) })
    let rows = mapping.uncompressedTables.sorted { ($0.entries.count, $1.chip) > ($1.entries.count, $0.chip) }
    let shown = rows.count <= 64 ? rows : Array(rows.prefix(32))
    if shown.count < rows.count { out.append("The \(shown.count) largest of \(rows.count) tables.") ; out.append("") }
    out.append("| chip | entries before | defaultable | after compression |")
    out.append("|---|---|---|---|")
    for t in shown {
        out.append("| (\(t.chip.x), \(t.chip.y)) | \(t.entries.count) | \(t.entries.filter(\.defaultable).count) | \(tables[t.chip] ?? 0) |")
    }
    out.append("")

    if let t = traffic {
        out.append("## Traffic")
        out.append("")
        out.append("\(t.images) test images, \(t.timesteps) timesteps each, pushed through the mapped network: every spike is a packet "
                   + "copied along its vertex's tree, in the timestep it reaches the network (a spike of layer l at step s at timestep "
                   + "s + l: each projection delays by one timestep, as in the PyNN export). Spikes per layer: "
                   + zip(mapping.layers, t.spikesPerLayer).map { "\($0.name) \($1)" }.joined(separator: ", ") + ".")
        out.append("")
        let steps = max(t.images * t.timesteps, 1)
        out.append(String(format: "- Packets routed: %d in all, %.1f per timestep over all routers; %d link crossings, %d of them between boards "
                          + "(with one MPI rank per board, the spikes the ranks would exchange).",
                          t.routerPackets, Double(t.routerPackets) / Double(steps), t.linkPackets, t.interBoardPackets))
        let r = t.busiestRouter, k = t.busiestLink
        out.append("- **Busiest router:** chip (\(r.chip.x), \(r.chip.y)), \(r.packets) packets in one timestep (image \(r.image), step \(r.timestep)); "
                   + String(format: "%.2f %% of a router's ~%d per 1 ms timestep.", 100 * Double(r.packets) / Double(TrafficReport.routerPacketsPerMs), TrafficReport.routerPacketsPerMs))
        out.append("- **Busiest link:** chip (\(k.chip.x), \(k.chip.y)) link \(k.link.map { "\($0.rawValue) (\($0))" } ?? "-"), \(k.packets) packets in one timestep "
                   + "(image \(k.image), step \(k.timestep)); "
                   + String(format: "%.2f %% of a link's ~%d per 1 ms timestep.", 100 * Double(k.packets) / Double(TrafficReport.linkPacketsPerMs), TrafficReport.linkPacketsPerMs))
        out.append("- Limits are readings (250 Mbit/s per link and direction, 40-bit packets; about one packet per router clock cycle), "
                   + "at sPyNNaker's default 1 ms timestep; a slower timestep scales them up.")
        out.append("")
    }
    return out.joined(separator: "\n") + "\n"
}
