import Foundation
import Testing

/// One kind of bad input to `spinnprune train`.
enum BadInput: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case missingDatasetDirectory, truncatedImageFile, typoKey, negativeKernel, kernelLargerThanInput,
         notJSON, missingConfigFile, unknownSTDPRule, missingMachineDescription

    var testDescription: String { rawValue }

    /// Writes what the case needs into `box`; returns the config path to train and the fragments
    /// stderr must contain (the file concerned and, for config errors, the field).
    func prepare(_ box: Sandbox) throws -> (config: String, mentions: [String]) {
        var c = Configs.oneLayer(name: "bad", dataset: box.dataset)
        var layer = (c["layers"] as! [[String: Any]])[0]
        let file = box.path("\(rawValue).json").path
        switch self {
        case .missingDatasetDirectory:
            let missing = box.path("no-such-dataset")
            c["dataset"] = ["format": "idx", "path": missing.path]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [missing.path, "train-images-idx3-ubyte"])
        case .truncatedImageFile:
            let dir = box.path("cut-dataset")
            try SyntheticBars.write(to: dir)
            let images = dir.appendingPathComponent("train-images-idx3-ubyte")
            try Data(try Data(contentsOf: images).prefix(16 + 16 * 16 * 10 + 7)).write(to: images)
            c["dataset"] = ["format": "idx", "path": dir.path]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [images.path, "truncated"])
        case .typoKey:
            layer["kernal"] = 5
            c["layers"] = [layer]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [file, "layers[0].kernal"])
        case .negativeKernel:
            layer["kernel"] = -3
            c["layers"] = [layer]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [file, "layers[0].kernel", "-3"])
        case .kernelLargerThanInput:
            layer["kernel"] = 17
            c["layers"] = [layer]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [file, "layers[0].kernel", "17"])
        case .notJSON:
            try Data("{\"name\": \"bad\", \"layers\": [".utf8).write(to: URL(fileURLWithPath: file))
            return (file, [file, "JSON"])
        case .missingConfigFile:
            return (box.path("no-such-config.json").path, [box.path("no-such-config.json").path])
        case .unknownSTDPRule:
            layer["stdp"] = ["rule": "hebbian", "a": 0.1, "tau": 0.1]
            c["layers"] = [layer]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [file, "layers[0].stdp.rule", "hebbian"])
        case .missingMachineDescription:
            let missing = box.path("no-such-machine.json").path
            c["spinnaker"] = ["machine": missing, "neurons_per_core": 256]
            try box.writeConfig(c, as: "\(rawValue).json")
            return (file, [missing])
        }
    }
}

/// Whether `text` mentions `fragment`: a path verbatim; anything else outside the sandbox's own
/// path (which holds digits and words of its own).
func mentioned(_ fragment: String, in text: String, box: Sandbox) -> Bool {
    if fragment.hasPrefix("/") { return text.contains(fragment) }
    return text.replacingOccurrences(of: box.root.path, with: "<tmp>").contains(fragment)
}

/// A clean failure: non-zero exit, the reason (file and field) on stderr, no trap, nothing left
/// under the runs directory (neither `bad` nor a hidden `.bad.partial-*`).
private func expectCleanFailure(_ result: RunResult, mentions: [String], runs: URL, box: Sandbox,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!result.timedOut, "\(result)", sourceLocation: sourceLocation)
    #expect(result.exitedNormally && result.status != 0, "expected a non-zero exit\n\(result)", sourceLocation: sourceLocation)
    #expect(!result.trapped, "crashed or trapped instead of reporting an error\n\(result)", sourceLocation: sourceLocation)
    for m in mentions {
        #expect(mentioned(m, in: result.stderr, box: box), "stderr does not mention \"\(m)\"\n\(result)",
                sourceLocation: sourceLocation)
    }
    #expect(box.entries(of: runs).isEmpty, "left behind in \(runs.path): \(box.entries(of: runs))\n\(result)",
            sourceLocation: sourceLocation)
    #expect(!FileManager.default.fileExists(atPath: box.path("runs").path), "a default runs/ directory appeared",
            sourceLocation: sourceLocation)
}

extension Integration {
    @Suite(.serialized) struct BadInputs {
        @Test("train fails cleanly on bad input", arguments: BadInput.allCases)
        func singleRank(_ bad: BadInput) async throws {
            let box = try Sandbox("bad-\(bad.rawValue)")
            let (config, mentions) = try bad.prepare(box)
            let runs = box.path("out")
            let result = try await box.spinnprune(["train", config, "--runs-dir", runs.path])
            expectCleanFailure(result, mentions: mentions, runs: runs, box: box)
        }

        @Test("under mpirun -np 2 a bad data set stops every rank, reason printed once",
              arguments: [BadInput.missingDatasetDirectory, .truncatedImageFile])
        func twoRanks(_ bad: BadInput) async throws {
            let box = try Sandbox("bad2-\(bad.rawValue)")
            let (config, mentions) = try bad.prepare(box)
            let runs = box.path("out")
            let result = try await box.mpirun(2, ["train", config, "--runs-dir", runs.path])
            expectCleanFailure(result, mentions: mentions, runs: runs, box: box)
            let reasons = result.stderr.components(separatedBy: "\n").filter { $0.contains(mentions[0]) }
            #expect(reasons.count == 1, "the reason should be printed exactly once, got \(reasons.count) times\n\(result)")
        }

        @Test("train refuses a --name that is not a plain directory name, and leaves the runs directory alone",
              arguments: ["", "../escaped", "a/b", ".hidden", "."])
        func badRunName(_ name: String) async throws {
            let box = try Sandbox("run-label")
            let config = try box.writeConfig(Configs.oneLayer(name: "bars", dataset: box.dataset), as: "bars.json")
            let runs = box.path("out")
            let keep = runs.appendingPathComponent("earlier/metrics.json")
            try FileManager.default.createDirectory(at: keep.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: keep)
            let before = Set(box.entries(of: box.root))

            let result = try await box.spinnprune(["train", config, "--runs-dir", runs.path, "--name", name])
            #expect(result.exitedNormally && result.status != 0, "--name \"\(name)\" was accepted\n\(result)")
            #expect(!result.trapped, "\(result)")
            let said = result.stderr.replacingOccurrences(of: box.root.path, with: "<tmp>")
            #expect(said.contains("name"), "stderr does not say what is wrong with the name\n\(result)")
            #expect(box.entries(of: runs) == ["earlier"], "runs directory changed: \(box.entries(of: runs))")
            #expect(FileManager.default.fileExists(atPath: keep.path), "an earlier run was moved or deleted")
            let after = Set(box.entries(of: box.root)).filter { !$0.hasPrefix(".io-") }
            #expect(after == before, "files appeared outside the runs directory: \(after.subtracting(before).sorted())")
        }
    }
}
