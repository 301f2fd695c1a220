import Foundation
import Testing

extension Integration {
    /// The trained model must not depend on how many MPI ranks trained it.
    @Suite(.serialized) struct RankInvariance {
        @Test("one conv layer: weights, masks, thresholds and metrics identical for 1, 2, 3 and 4 ranks")
        func oneLayer() async throws {
            let box = try Sandbox("ranks-one")
            let config = try box.writeConfig(Configs.oneLayer(name: "bars", dataset: box.dataset), as: "bars.json")
            try await compareAcrossRanks(box, config: config, name: "bars", ranks: [1, 2, 3, 4],
                                         layers: [("conv1", 5 * 5 * 2 * 8)])
        }

        @Test("conv 5x5x8, pool 2/2, conv 3x3x12 with inference-time inhibition: identical for 1, 2 and 3 ranks")
        func twoLayers() async throws {
            let box = try Sandbox("ranks-two")
            let config = try box.writeConfig(Configs.twoLayers(name: "bars2", dataset: box.dataset), as: "bars2.json")
            try await compareAcrossRanks(box, config: config, name: "bars2", ranks: [1, 2, 3],
                                         layers: [("conv1", 5 * 5 * 2 * 8), ("conv2", 3 * 3 * 8 * 12)])
        }

        @Test("three conv layers (conv, pool, conv with padding, pool, fc): identical for 1, 2 and 3 ranks")
        func threeLayers() async throws {
            let box = try Sandbox("ranks-three")
            let config = try box.writeConfig(Configs.threeLayers(name: "bars3", dataset: box.dataset), as: "bars3.json")
            try await compareAcrossRanks(box, config: config, name: "bars3", ranks: [1, 2, 3],
                                         layers: [("conv1", 5 * 5 * 2 * 8), ("conv2", 3 * 3 * 8 * 10), ("fc1", 3 * 3 * 10 * 16)])
        }

        /// conv2 128 maps of 5x5x32 (400 KB of weights; 137 KB at 3 ranks, over the 128 KB at which
        /// a rank trains on the grouped path): its patch records are prepared a share per rank,
        /// partly in the waits of the per-sample collective, and gathered stretch by stretch (300
        /// samples, stretches of 160). Weights, masks and thresholds identical for 1, 2 and 3 ranks.
        @Test("a wide conv layer on the grouped path with patch records shared out: identical for 1, 2 and 3 ranks")
        func wideLayer() async throws {
            let box = try Sandbox("ranks-wide")
            var c = Configs.oneLayer(name: "barsw", dataset: box.dataset)
            c["layers"] = [Configs.conv("conv1", kernel: 5, maps: 32, epochs: 2),
                           ["type": "pool", "name": "pool1", "window": 2, "stride": 2] as [String: Any],
                           Configs.conv("conv2", kernel: 5, maps: 128, epochs: 2)]
            let config = try box.writeConfig(c, as: "barsw.json")
            let ref = try await compareAcrossRanks(box, config: config, name: "barsw", ranks: [1, 2, 3],
                                                   layers: [("conv1", 5 * 5 * 2 * 32), ("conv2", 5 * 5 * 32 * 128)])
            // Half of conv2's weights pruned by magnitude, the same ones at every rank count.
            let mask = [UInt8](try #require(ref.files["weights/conv2.mask.u8"]))
            let kept = mask.filter { $0 != 0 }.count, conv2Weights = 5 * 5 * 32 * 128
            #expect(kept == conv2Weights / 2)
        }

        /// conv2 23 maps of 9x9x64 (5184 synapses, 20.7 KB a map): at 3 ranks the slices are 8, 8
        /// and 7 maps, and a rank's own slice would send the first two to the grouped path (166 KB)
        /// and the third to the plain loop (under 8 maps), with different collectives; the path is
        /// decided from the smallest slice, the same on every rank. At 1 and 2 ranks it is grouped.
        @Test("a layer whose slices straddle the grouped path's threshold: identical for 1, 2 and 3 ranks")
        func straddlingSlices() async throws {
            let box = try Sandbox("ranks-straddle")
            var c = Configs.oneLayer(name: "barss", dataset: box.dataset)
            c["layers"] = [Configs.conv("conv1", kernel: 5, maps: 64, epochs: 1), Configs.conv("conv2", kernel: 9, maps: 23, epochs: 2)]
            let config = try box.writeConfig(c, as: "barss.json")
            try await compareAcrossRanks(box, config: config, name: "barss", ranks: [1, 2, 3],
                                         layers: [("conv1", 5 * 5 * 2 * 64), ("conv2", 9 * 9 * 64 * 23)])
        }

        /// The per-sample winner minimum through the shared-memory window (the default on one node)
        /// and through `MPI_Allreduce` (what ranks on several nodes use; forced here by
        /// SPINNPRUNE_MINIMUM=messages): the same weights, thresholds, masks and metrics at 3 ranks.
        @Test("the winner minimum through shared memory and through MPI_Allreduce: identical at 3 ranks")
        func minimumPaths() async throws {
            let box = try Sandbox("ranks-minimum")
            let config = try box.writeConfig(Configs.twoLayers(name: "barsm", dataset: box.dataset), as: "barsm.json")
            try await compareAcrossLayouts(box, config: config, name: "barsm",
                                           runs: [RankLayout(ranks: 3), RankLayout(ranks: 3, minimum: "messages")],
                                           layers: [("conv1", 5 * 5 * 2 * 8), ("conv2", 3 * 3 * 8 * 12)])
        }

        /// conv1: threshold mode on kernel slices, theta = 0.7 p over epochs 0...2, reinforcement 1;
        /// conv2: 60 % of its 8 * 12 = 96 kernel slices on a cubic ramp over epochs 1...2,
        /// reinforcement 0.5: floor(0.6 * 96) = 57 slices of 9 weights, 513 of 864. Masks and the
        /// reinforced weights identical for 1, 2 and 3 ranks (8 maps as 3+3+2, 12 as 4+4+4).
        @Test("kernel-slice pruning by threshold and by sparsity with reinforcement: identical for 1, 2 and 3 ranks")
        func compressionOptions() async throws {
            let box = try Sandbox("ranks-compress")
            let config = try box.writeConfig(Configs.compressed(name: "barsc", dataset: box.dataset), as: "barsc.json")
            let conv1 = 5 * 5 * 2 * 8, conv2 = 3 * 3 * 8 * 12
            let ref = try await compareAcrossRanks(box, config: config, name: "barsc", ranks: [1, 2, 3],
                                                   layers: [("conv1", conv1), ("conv2", conv2)],
                                                   expectedRate: { name, total in name == "conv2" ? 513.0 / Double(total) : nil })
            // Whole (c_in, map) slices only: 25 positions x 2 channels x 8 maps; 9 x 8 x 12.
            func slices(_ layer: String, positions: Int, channels: Int, maps: Int) throws -> (mask: [[UInt8]], weights: [[Float]]) {
                let m = [UInt8](try #require(ref.files["weights/\(layer).mask.u8"]))
                let w = try readFloats(box.path("np1/barsc/weights/\(layer).weights.f32"))
                var masks: [[UInt8]] = [], weights: [[Float]] = []
                for c in 0..<channels {
                    for map in 0..<maps {
                        let idx = (0..<positions).map { ($0 * channels + c) * maps + map }
                        masks.append(idx.map { m[$0] })
                        weights.append(idx.map { w[$0] })
                    }
                }
                return (masks, weights)
            }
            let s1 = try slices("conv1", positions: 25, channels: 2, maps: 8)
            #expect(s1.mask.allSatisfy { Set($0).count == 1 }, "conv1: a kernel slice is partly pruned")
            let pruned1 = s1.mask.filter { $0[0] == 0 }.count
            print("conv1: \(pruned1) of 16 kernel slices pruned by the threshold")
            #expect(pruned1 > 0 && pruned1 < 16, "the threshold should prune some conv1 slices, not all: \(pruned1)")
            // The last step (theta 0.7, after the last epoch) pruned every slice whose mean was below it;
            // reinforcement only raises kept weights, so every kept slice still has mean |w| >= 0.7.
            for (m, w) in zip(s1.mask, s1.weights) {
                if m[0] == 0 { #expect(w.allSatisfy { $0 == 0 }) } else {
                    let mean = w.reduce(0.0) { $0 + Double($1) } / 25
                    #expect(mean >= 0.7, "kept conv1 slice with mean \(mean)")
                }
            }
            let s2 = try slices("conv2", positions: 9, channels: 8, maps: 12)
            #expect(s2.mask.allSatisfy { Set($0).count == 1 }, "conv2: a kernel slice is partly pruned")
            #expect(s2.mask.filter { $0[0] == 0 }.count == 57)
            #expect(number(lookup(ref.metrics, "compression", "layers", 1, "pruned")) == 513)
        }
    }
}

/// Trains `config` under `mpirun -np N` for each N and compares the outputs byte for byte. At
/// N = 3 the feature extraction slices maps over the ranks (`--groups 1`); at the other counts it
/// runs with the default, one group per rank (images shared out), so both paths are compared. Each
/// layer's compression rate must be `expectedRate(name, total)` when that is not nil (by default the
/// rate of 50 % magnitude pruning). Returns the first run's weight files and metrics.
@discardableResult
private func compareAcrossRanks(_ box: Sandbox, config: String, name: String, ranks: [Int],
                                layers: [(name: String, total: Int)],
                                expectedRate rateFor: (String, Int) -> Double? = { expectedRate(sparsity: 0.5, total: $1) })
    async throws -> (files: [String: Data], metrics: Any) {
    try await compareAcrossLayouts(box, config: config, name: name, runs: ranks.map { RankLayout(ranks: $0, groups: $0 == 3 ? 1 : nil) },
                                   layers: layers, expectedRate: rateFor)
}

/// `mpirun -np ranks`, with `--groups groups` when `groups` is set (hybrid distribution).
struct RankLayout: CustomStringConvertible {
    var ranks: Int
    var groups: Int? = nil
    /// SPINNPRUNE_MINIMUM for every rank (`messages`: the winner minimum by `MPI_Allreduce`).
    var minimum: String? = nil
    var description: String {
        "\(ranks) rank(s)" + (groups.map { " in \($0) group(s)" } ?? "") + (minimum.map { ", \($0) minimum" } ?? "")
    }
    /// The runs directory of this layout under a sandbox: np<N>, np<N>g<G> with groups, -<minimum>.
    var directory: String { "np\(ranks)" + (groups.map { "g\($0)" } ?? "") + (minimum.map { "-\($0)" } ?? "") }
}

/// As `compareAcrossRanks`, for any rank counts and groups. `extraFiles` (paths in the run
/// directory, e.g. the saved readout features) are expected in every run and compared too.
@discardableResult
func compareAcrossLayouts(_ box: Sandbox, config: String, name: String, runs layouts: [RankLayout],
                          layers: [(name: String, total: Int)], extraFiles: [String] = [],
                          expectedRate rateFor: (String, Int) -> Double? = { expectedRate(sparsity: 0.5, total: $1) })
    async throws -> (files: [String: Data], metrics: Any) {
    var reference: (ranks: String, files: [String: Data], metrics: Any)?
    for layout in layouts {
        let n = layout.ranks
        let runs = box.path(layout.directory)
        let result = try await box.mpirun(n, ["train", config, "--runs-dir", runs.path] + (layout.groups.map { ["--groups", "\($0)"] } ?? []),
                                          environment: layout.minimum.map { ["SPINNPRUNE_MINIMUM": $0] } ?? [:])
        try #require(result.succeeded, "training with \(layout) failed:\n\(result)")
        #expect(result.stdout.contains("\(n) rank(s)"), "\(result)")
        let dir = runs.appendingPathComponent(name)
        let configLayers = lookup(try readJSON(dir.appendingPathComponent("config.json")), "layers") as? [[String: Any]] ?? []
        let pools = configLayers.filter { $0["type"] as? String == "pool" }.compactMap { $0["name"] as? String }
        #expect(filesUnder(dir) == (expectedRunFiles(layers: layers.map(\.name), pools: pools) + extraFiles).sorted(), "\(result)")
        #expect(box.entries(of: runs) == [name], "only the run directory is left under \(runs.path)")

        var files: [String: Data] = [:]
        for layer in layers {
            for f in weightFiles(layer.name) { files[f] = try Data(contentsOf: dir.appendingPathComponent(f)) }
        }
        for f in extraFiles { files[f] = try Data(contentsOf: dir.appendingPathComponent(f)) }
        // The mapping of the trained network and the traffic of its test spikes: the same too.
        for f in ["spinnaker/placements.json", "spinnaker/routing_tables.json", "spinnaker/graph.json", "spinnaker/traffic.json"] {
            files[f] = try Data(contentsOf: dir.appendingPathComponent(f))
        }
        // The PyNN export (written by the coordinator from the gathered layers) too.
        for f in pynnFiles(layers: layers.map(\.name), pools: pools) { files[f] = try Data(contentsOf: dir.appendingPathComponent(f)) }
        let metrics = try readJSON(dir.appendingPathComponent("metrics.json"))
        #expect(number(lookup(metrics, "ranks")) == Double(n))
        #expect(number(lookup(metrics, "groups")) == Double(layout.groups ?? n), "default: one group per rank")
        for (i, layer) in layers.enumerated() {
            let rate = number(lookup(metrics, "compression", "layers", i, "compression_rate"))
            #expect(lookup(metrics, "compression", "layers", i, "name") as? String == layer.name)
            if let want = rateFor(layer.name, layer.total) {
                #expect(rate == want, "\(layer.name) with \(layout): compression rate \(String(describing: rate)), expected \(want)")
            }
        }

        guard let ref = reference else {
            reference = ("\(layout)", files, metrics)
            continue
        }
        for (f, data) in files.sorted(by: { $0.key < $1.key }) {
            #expect(data == ref.files[f], "\(f): \(layout) wrote \(data.count) bytes that differ from the run with \(ref.ranks)")
        }
        // Every layer's accuracy (the SVM reads each layer's features), the last layer's train and test.
        let accuracies = { (m: Any) in (lookup(m, "accuracy", "layers") as? [[String: Any]] ?? []).map { [number($0["train"]), number($0["test"])] } }
        #expect(accuracies(metrics).count == accuracies(ref.metrics).count && accuracies(metrics) == accuracies(ref.metrics),
                "per-layer accuracy with \(layout): \(accuracies(metrics)), with \(ref.ranks): \(accuracies(ref.metrics))")
        for key in ["test", "train"] {
            let a = number(lookup(metrics, "accuracy", key)), b = number(lookup(ref.metrics, "accuracy", key))
            #expect(a != nil && a == b, "\(key) accuracy: \(String(describing: a)) with \(layout), \(String(describing: b)) with \(ref.ranks)")
        }
        for path in [["compression", "overall_rate"], ["compression", "pruned"], ["compression", "weights"],
                     ["compression", "dense_bytes"], ["compression", "sparse_bytes"]] {
            let a = number(lookup(metrics, path[0], path[1])), b = number(lookup(ref.metrics, path[0], path[1]))
            #expect(a != nil && a == b, "\(path): \(String(describing: a)) with \(layout), \(String(describing: b)) with \(ref.ranks)")
        }
        for (i, layer) in layers.enumerated() {
            let a = number(lookup(metrics, "compression", "layers", i, "pruned"))
            let b = number(lookup(ref.metrics, "compression", "layers", i, "pruned"))
            #expect(a != nil && a == b, "\(layer.name) pruned: \(String(describing: a)) vs \(String(describing: b))")
        }
    }
    let ref = try #require(reference)
    return (ref.files, ref.metrics)
}
