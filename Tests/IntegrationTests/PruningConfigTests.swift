import Foundation
import SpikeCompression
import Testing
@testable import SpinnpruneApp

/// A conv layer's `pruning` object: defaults, the resolved config, errors naming the file and field.
@Suite struct PruningConfigTests {
    func load(_ pruning: [String: Any], epochs: Int = 4) throws -> ExperimentConfig {
        let json: [String: Any] = [
            "name": "x", "dataset": ["format": "idx", "path": "data/mnist"],
            "layers": [["type": "conv", "kernel": 5, "maps": 4, "epochs": epochs, "stdp": ["rule": "biological", "a": 0.1],
                        "threshold": ["init_mean": 10, "target_time": 0.75], "pruning": pruning] as [String: Any]],
        ]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-prune-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return try ExperimentConfig.load(url)
    }

    func message(_ pruning: [String: Any], epochs: Int = 4) -> String {
        do { _ = try load(pruning, epochs: epochs); return "loaded" } catch { return "\(error)" }
    }

    func resolvedPruning(_ c: ExperimentConfig) -> [String: Any]? {
        ((c.resolved["layers"] as? [[String: Any]])?.first)?["pruning"] as? [String: Any]
    }

    @Test func defaultsAreSparsityOnWeightsWithoutReinforcement() throws {
        let c = try load(["final_sparsity": 0.5])
        #expect(c.layers[0].pruning == PruningSchedule(finalSparsity: 0.5, startEpoch: 0, endEpoch: 3, ramp: .cubic,
                                                       mode: .sparsity, finalThreshold: 0, unit: .weight, reinforcement: 0))
        let r = try #require(resolvedPruning(c))
        #expect(r["mode"] as? String == "sparsity" && r["unit"] as? String == "weight" && r["ramp"] as? String == "cubic")
        #expect(number(r["final_sparsity"]) == 0.5 && number(r["reinforcement"]) == 0)
        #expect(number(r["start_epoch"]) == 0 && number(r["end_epoch"]) == 3 && r["final_threshold"] == nil)
    }

    @Test func thresholdKernelReinforced() throws {
        let c = try load(["mode": "threshold", "final_threshold": 0.3, "unit": "kernel", "reinforcement": 0.5,
                          "ramp": "linear", "start_epoch": 1, "end_epoch": 2])
        #expect(c.layers[0].pruning == .threshold(0.3, startEpoch: 1, endEpoch: 2, ramp: .linear, unit: .kernel, reinforcement: 0.5))
        let r = try #require(resolvedPruning(c))
        #expect(r["mode"] as? String == "threshold" && r["unit"] as? String == "kernel" && r["ramp"] as? String == "linear")
        #expect(number(r["final_threshold"]) == 0.3 && number(r["reinforcement"]) == 0.5 && r["final_sparsity"] == nil)
        #expect(number(r["start_epoch"]) == 1 && number(r["end_epoch"]) == 2)
        // The resolved config loads again to the same schedule.
        #expect(try load(r).layers[0].pruning == c.layers[0].pruning)
    }

    @Test func errorsNameTheField() {
        let f = "layers[0].pruning"
        let cases: [([String: Any], String)] = [
            (["mode": "magnitude", "final_sparsity": 0.5], "\(f).mode: must be one of sparsity, threshold, got \"magnitude\""),
            (["mode": "threshold"], "\(f).final_threshold: missing (a number is required)"),
            (["mode": "threshold", "final_threshold": 0], "\(f).final_threshold: must be > 0.0, got 0.0"),
            (["mode": "threshold", "final_threshold": 1.5], "\(f).final_threshold: must be <= 1.0, got 1.5"),
            (["mode": "threshold", "final_threshold": 0.3, "final_sparsity": 0.5],
             "\(f).final_sparsity: applies to pruning.mode \"sparsity\" only, not \"threshold\""),
            (["final_sparsity": 0.5, "final_threshold": 0.3],
             "\(f).final_threshold: applies to pruning.mode \"threshold\" only, not \"sparsity\""),
            ([:], "\(f).final_sparsity: missing (a number is required)"),
            (["final_sparsity": 1], "\(f).final_sparsity: must be < 1.0, got 1.0"),
            (["final_sparsity": 0.5, "unit": "channel"], "\(f).unit: must be one of weight, kernel, got \"channel\""),
            (["final_sparsity": 0.5, "reinforcement": 1.5], "\(f).reinforcement: must be <= 1.0, got 1.5"),
            (["final_sparsity": 0.5, "reinforcement": -0.1], "\(f).reinforcement: must be >= 0.0, got -0.1"),
            (["final_sparsity": 0.5, "reinforcement": true], "\(f).reinforcement: expected a number, got true"),
            (["final_sparsity": 0.5, "end_epoch": 4], "\(f).end_epoch: must be below the layer's epochs (4), got 4"),
            (["final_sparsity": 0.5, "strength": 1], "\(f).strength: unknown key"),
        ]
        for (p, want) in cases {
            let m = message(p)
            #expect(m.contains(want), "\(p): \(m)")
            #expect(m.hasPrefix("/"), "the message names the file: \(m)")
        }
        #expect(message(["mode": "threshold", "final_threshold": 0.3], epochs: 0)
            .contains("\(f).final_threshold: pruning happens during training: the layer needs epochs >= 1"))
    }
}
