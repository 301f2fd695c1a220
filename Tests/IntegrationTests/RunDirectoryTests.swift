import Foundation
import Testing

extension Integration {
    @Suite(.serialized) struct RunDirectoryReplacement {
        @Test("training twice under one name replaces the run directory as a whole")
        func replacedAtomically() async throws {
            let box = try Sandbox("replace")
            var c = Configs.oneLayer(name: "from-config", dataset: box.dataset)
            let first = try box.writeConfig(c, as: "first.json")
            c["seed"] = 7
            let second = try box.writeConfig(c, as: "second.json")
            let runs = box.path("out")
            let dir = runs.appendingPathComponent("same")

            let r1 = try await box.spinnprune(["train", first, "--runs-dir", runs.path, "--name", "same"])
            try #require(r1.succeeded, "\(r1)")
            #expect(filesUnder(dir) == expectedRunFiles(layers: ["conv1"]), "\(r1)")
            let firstWeights = try Data(contentsOf: dir.appendingPathComponent("weights/conv1.weights.f32"))
            // A file only the first run has: it must not survive the replacement.
            try Data("stale".utf8).write(to: dir.appendingPathComponent("weights/stale.txt"))

            let r2 = try await box.spinnprune(["train", second, "--runs-dir", runs.path, "--name", "same"])
            try #require(r2.succeeded, "\(r2)")
            #expect(box.entries(of: runs) == ["same"], "leftovers next to the run directory: \(box.entries(of: runs))")
            #expect(filesUnder(dir) == expectedRunFiles(layers: ["conv1"]), "not exactly one complete run:\n\(r2)")
            let metrics = try readJSON(dir.appendingPathComponent("metrics.json"))
            #expect(lookup(metrics, "name") as? String == "same")
            let resolved = try readJSON(dir.appendingPathComponent("config.json"))
            #expect(number(lookup(resolved, "seed")) == 7, "config.json is not the second run's")
            let secondWeights = try Data(contentsOf: dir.appendingPathComponent("weights/conv1.weights.f32"))
            #expect(secondWeights != firstWeights, "seed 7 gave the same weights as seed 1: the directory was not replaced?")
        }
    }
}
