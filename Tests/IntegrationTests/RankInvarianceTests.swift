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
    }
}

/// Trains `config` under `mpirun -np N` for each N and compares the outputs byte for byte.
private func compareAcrossRanks(_ box: Sandbox, config: String, name: String, ranks: [Int],
                                layers: [(name: String, total: Int)]) async throws {
    var reference: (ranks: Int, files: [String: Data], metrics: Any)?
    for n in ranks {
        let runs = box.path("np\(n)")
        let result = try await box.mpirun(n, ["train", config, "--runs-dir", runs.path])
        try #require(result.succeeded, "training with \(n) rank(s) failed:\n\(result)")
        #expect(result.stdout.contains("\(n) rank(s)"), "\(result)")
        let dir = runs.appendingPathComponent(name)
        #expect(filesUnder(dir) == expectedRunFiles(layers: layers.map(\.name)), "\(result)")
        #expect(box.entries(of: runs) == [name], "only the run directory is left under \(runs.path)")

        var files: [String: Data] = [:]
        for layer in layers {
            for f in weightFiles(layer.name) { files[f] = try Data(contentsOf: dir.appendingPathComponent(f)) }
        }
        let metrics = try readJSON(dir.appendingPathComponent("metrics.json"))
        #expect(number(lookup(metrics, "ranks")) == Double(n))
        for (i, layer) in layers.enumerated() {
            let rate = number(lookup(metrics, "compression", "layers", i, "compression_rate"))
            #expect(lookup(metrics, "compression", "layers", i, "name") as? String == layer.name)
            let want = expectedRate(sparsity: 0.5, total: layer.total)
            #expect(rate == want, "\(layer.name) with \(n) rank(s): compression rate \(String(describing: rate)), expected \(want)")
        }

        guard let ref = reference else {
            reference = (n, files, metrics)
            continue
        }
        for (f, data) in files.sorted(by: { $0.key < $1.key }) {
            #expect(data == ref.files[f], "\(f): \(n) ranks wrote \(data.count) bytes that differ from the \(ref.ranks)-rank run")
        }
        for key in ["test", "train"] {
            let a = number(lookup(metrics, "accuracy", key)), b = number(lookup(ref.metrics, "accuracy", key))
            #expect(a != nil && a == b, "\(key) accuracy: \(String(describing: a)) with \(n) ranks, \(String(describing: b)) with \(ref.ranks)")
        }
        for path in [["compression", "overall_rate"], ["compression", "pruned"], ["compression", "weights"]] {
            let a = number(lookup(metrics, path[0], path[1])), b = number(lookup(ref.metrics, path[0], path[1]))
            #expect(a != nil && a == b, "\(path): \(String(describing: a)) with \(n) ranks, \(String(describing: b)) with \(ref.ranks)")
        }
        for (i, layer) in layers.enumerated() {
            let a = number(lookup(metrics, "compression", "layers", i, "pruned"))
            let b = number(lookup(ref.metrics, "compression", "layers", i, "pruned"))
            #expect(a != nil && a == b, "\(layer.name) pruned: \(String(describing: a)) vs \(String(describing: b))")
        }
    }
}
