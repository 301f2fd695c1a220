import Foundation
import Testing

extension Integration {
    /// A colour dataset end to end: STL-10 binary files written here (12 train, 6 test images of
    /// 96x96x3), the colour-opponent filter (6 input channels), 2 ranks, SpiNNaker mapping off.
    @Suite(.serialized) struct ColourDataset {
        @Test("STL-10 layout, colour-opponent DoG, 2 ranks, no SpiNNaker mapping")
        func stl10() async throws {
            let box = try Sandbox("stl10")
            let dir = box.root.appendingPathComponent("stl10_binary")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let per = 3 * 96 * 96
            for (split, n) in [("train", 12), ("test", 6)] {
                // Image i: a bright vertical band at columns 10 i % 90 ... +5 in channel i % 3, dark elsewhere.
                var x = [UInt8](repeating: 20, count: n * per)
                for i in 0..<n {
                    let c = i % 3, x0 = (10 * i) % 90
                    for col in x0..<(x0 + 5) { for row in 0..<96 { x[i * per + c * 9216 + col * 96 + row] = 230 } }
                }
                try Data(x).write(to: dir.appendingPathComponent("\(split)_X.bin"))
                try Data((0..<n).map { UInt8($0 % 3 + 1) }).write(to: dir.appendingPathComponent("\(split)_y.bin"))
            }
            let config: [String: Any] = [
                "name": "colour", "timesteps": 8,
                "dataset": ["format": "stl10", "path": dir.path],
                "preprocess": ["dog": ["colour": "opponent"]],
                "layers": [["type": "conv", "name": "conv1", "kernel": 5, "maps": 4, "epochs": 1,
                            "stdp": ["rule": "biological", "a": 0.1, "tau": 0.1],
                            "threshold": ["init_mean": 5, "init_std": 0.1, "min": 4, "target_time": 0.85]]],
                "spinnaker": ["enabled": false],
            ]
            let path = try box.writeConfig(config, as: "colour.json")
            let runs = box.root.appendingPathComponent("runs")
            let r = try await box.mpirun(2, ["train", path, "--runs-dir", runs.path])
            try #require(r.succeeded, "\(r)")
            let run = runs.appendingPathComponent("colour")
            let model = try readJSON(run.appendingPathComponent("model.json"))
            // 96x96 RGB -> 3 opponent planes x (on, off) = 6 channels; conv 5x5 -> 92x92x4.
            #expect(lookup(model, "layers", 0, "input") as? [Int] == [96, 96, 6])
            #expect(lookup(model, "layers", 0, "output") as? [Int] == [92, 92, 4])
            let metrics = try readJSON(run.appendingPathComponent("metrics.json"))
            #expect(lookup(metrics, "spinnaker", "enabled") as? Bool == false)
            #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("spinnaker").path))
            #expect(number(lookup(metrics, "train_images")) == 12)
        }
    }
}
