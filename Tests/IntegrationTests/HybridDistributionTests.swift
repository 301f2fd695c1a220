import Foundation
import Testing

extension Integration {
    /// Hybrid distribution (`distribution.groups`, `--groups`): groups of ranks share out the images
    /// of the feature extraction; nothing a run writes may depend on it.
    @Suite(.serialized) struct HybridDistribution {
        /// The saved readout features of every layer (`[image][map][cell]`, scaled) are the forward
        /// pass's output image by image, so comparing them checks the extraction itself, beside the
        /// later layers' weights (trained on the exchanged spikes) and the accuracies.
        static func featureFiles(_ layers: [String]) -> [String] {
            layers.flatMap { ["features/\($0).train.f32", "features/\($0).test.f32"] }
                + ["features/train.labels.u8", "features/test.labels.u8"]
        }

        @Test("conv, pool, conv, pool, fc: weights, masks, thresholds, features, SpiNNaker files and accuracies identical for 1 rank, 2 ranks in 1 or 2 groups, 4 in 2, 3 in 3")
        func threeLayers() async throws {
            let box = try Sandbox("hybrid-three")
            var c = Configs.threeLayers(name: "bars3h", dataset: box.dataset)
            c["readout"] = ["grid": 2, "C": 1, "save_features": true]
            let config = try box.writeConfig(c, as: "bars3h.json")
            let layers = ["conv1", "conv2", "fc1"]
            let ref = try await compareAcrossLayouts(
                box, config: config, name: "bars3h",
                runs: [RankLayout(ranks: 1), RankLayout(ranks: 2, groups: 1), RankLayout(ranks: 2, groups: 2),
                       RankLayout(ranks: 4, groups: 2), RankLayout(ranks: 3, groups: 3)],
                layers: [("conv1", 5 * 5 * 2 * 8), ("conv2", 3 * 3 * 8 * 10), ("fc1", 3 * 3 * 10 * 16)],
                extraFiles: HybridDistribution.featureFiles(layers))
            // The features are not trivially equal: every image has some, and conv1's 300 train
            // images of 8 maps x 4 cells are all there.
            #expect(ref.files["features/conv1.train.f32"]?.count == SyntheticBars.trainCount * 8 * 4 * 4)
            let f = try readFloats(box.path("np1/bars3h/features/conv1.train.f32"))
            #expect(Set(f).count > 10, "conv1 features are (nearly) constant")
        }

        /// Inference-time inhibition agrees each cell's winner over the ranks holding the layer's
        /// maps: within a group, over the group's ranks.
        @Test("inference-time inhibition (wta_infer): identical for 1 rank, 4 ranks in 2 groups and 3 in 3")
        func inhibition() async throws {
            let box = try Sandbox("hybrid-wta")
            var c = Configs.twoLayers(name: "bars2h", dataset: box.dataset)
            c["readout"] = ["grid": 2, "C": 1, "save_features": true]
            let config = try box.writeConfig(c, as: "bars2h.json")
            try await compareAcrossLayouts(
                box, config: config, name: "bars2h",
                runs: [RankLayout(ranks: 1), RankLayout(ranks: 4, groups: 2), RankLayout(ranks: 3, groups: 3)],
                layers: [("conv1", 5 * 5 * 2 * 8), ("conv2", 3 * 3 * 8 * 12)],
                extraFiles: HybridDistribution.featureFiles(["conv1", "conv2"]))
        }

        @Test("distribution.groups from the config, --groups over it; recorded in metrics.json and config.json")
        func configFieldAndOverride() async throws {
            let box = try Sandbox("hybrid-config")
            var c = Configs.oneLayer(name: "barsg", dataset: box.dataset)
            c["distribution"] = ["groups": 2]
            c["spinnaker"] = ["enabled": false]
            let config = try box.writeConfig(c, as: "barsg.json")
            for (args, groups) in [([String](), 2), (["--groups", "1"], 1)] as [([String], Int)] {
                let runs = box.path("g\(groups)")
                let result = try await box.mpirun(2, ["train", config, "--runs-dir", runs.path] + args)
                try #require(result.succeeded, "\(result)")
                #expect(result.stdout.contains("2 groups of 1 rank(s)") == (groups == 2), "\(result)")
                let dir = runs.appendingPathComponent("barsg")
                #expect(number(lookup(try readJSON(dir.appendingPathComponent("metrics.json")), "groups")) == Double(groups))
                #expect(number(lookup(try readJSON(dir.appendingPathComponent("config.json")), "distribution", "groups")) == Double(groups))
            }
            let a = try readBytes(box.path("g1/barsg/weights/conv1.weights.f32"))
            #expect(a == (try readBytes(box.path("g2/barsg/weights/conv1.weights.f32"))))

            // No distribution key: one group per rank, written as "ranks" in config.json (the
            // resolved config does not depend on the rank count) and as the count in metrics.json.
            c.removeValue(forKey: "distribution")
            let plain = try box.writeConfig(c, as: "barsp.json")
            let runs = box.path("default")
            let result = try await box.mpirun(2, ["train", plain, "--runs-dir", runs.path])
            try #require(result.succeeded, "\(result)")
            #expect(result.stdout.contains("2 groups of 1 rank(s)"), "\(result)")
            let dir = runs.appendingPathComponent("barsg")
            #expect(number(lookup(try readJSON(dir.appendingPathComponent("metrics.json")), "groups")) == 2)
            #expect(lookup(try readJSON(dir.appendingPathComponent("config.json")), "distribution", "groups") as? String == "ranks")
            #expect(a == (try readBytes(dir.appendingPathComponent("weights/conv1.weights.f32"))))
        }

        @Test("groups that do not divide the ranks: one clear error naming the field, nothing written")
        func groupsMustDivideRanks() async throws {
            let box = try Sandbox("hybrid-bad")
            let runs = box.path("runs")
            let plain = try box.writeConfig(Configs.oneLayer(name: "barsb", dataset: box.dataset), as: "plain.json")

            // --groups 3 on 2 ranks: the command line is named, with the counts that would do.
            let r1 = try await box.mpirun(2, ["train", plain, "--runs-dir", runs.path, "--groups", "3"])
            #expect(!r1.succeeded && !r1.trapped, "\(r1)")
            let line = "command line: --groups: 3 groups do not divide the 2 rank(s) of this job"
            #expect(r1.stderr.components(separatedBy: line).count == 2, "the error once, from the coordinator:\n\(r1)")
            #expect(r1.stderr.contains("groups can be 1, 2"), "\(r1)")
            #expect(box.entries(of: runs).isEmpty, "\(box.entries(of: runs))")

            // distribution.groups 2 on one rank: the config file and field are named.
            var c = Configs.oneLayer(name: "barsb", dataset: box.dataset)
            c["distribution"] = ["groups": 2]
            let two = try box.writeConfig(c, as: "two.json")
            let r2 = try await box.spinnprune(["train", two, "--runs-dir", runs.path])
            #expect(!r2.succeeded && !r2.trapped, "\(r2)")
            #expect(r2.stderr.contains("\(two): distribution.groups: 2 groups do not divide the 1 rank(s)"), "\(r2)")
            #expect(box.entries(of: runs).isEmpty, "\(box.entries(of: runs))")

            // Read errors of the field itself, caught by check (no ranks involved).
            c["distribution"] = ["groups": 0]
            let zero = try box.writeConfig(c, as: "zero.json")
            let r3 = try await box.spinnprune(["check", zero])
            #expect(r3.status == 1 && r3.stderr.contains("\(zero): distribution.groups: must be at least 1, got 0"), "\(r3)")
            c["distribution"] = ["grups": 2]
            let typo = try box.writeConfig(c, as: "typo.json")
            let r4 = try await box.spinnprune(["check", typo])
            #expect(r4.status == 1 && r4.stderr.contains("\(typo): distribution.grups: unknown key"), "\(r4)")
            let r5 = try await box.spinnprune(["train", plain, "--groups", "two"])
            #expect(r5.status == 2 && r5.stderr.contains("--groups needs \"ranks\" or a whole number of at least 1, got \"two\""), "\(r5)")
            c["distribution"] = ["groups": "all"]
            let word = try box.writeConfig(c, as: "word.json")
            let r6 = try await box.spinnprune(["check", word])
            #expect(r6.status == 1 && r6.stderr.contains("\(word): distribution.groups: expected \"ranks\" or a whole number of groups, got \"all\""), "\(r6)")
        }
    }
}
