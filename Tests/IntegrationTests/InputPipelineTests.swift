import Foundation
import SpikeData
import Testing

extension Integration {
    /// The CIFAR-10 whitening pipeline and the Caltech loader end to end, under mpirun: small data
    /// sets in the official layouts written here, the trained model identical for 1 and 2 (and 3) ranks.
    @Suite(.serialized) struct InputPipeline {
        @Test("Caltech folder layout (JPEG files), DoG, 1 and 2 ranks give the same model")
        func caltech() async throws {
            let box = try Sandbox("caltech")
            let data = box.root.appendingPathComponent("caltech101")
            try CaltechLayout.write(to: data)
            let path = try box.writeConfig(CaltechLayout.config(data), as: "caltech.json")
            var reference: [String: Data] = [:]
            for ranks in [1, 2] {
                let runs = box.path("np\(ranks)")
                let r = try await box.mpirun(ranks, ["train", path, "--runs-dir", runs.path])
                try #require(r.succeeded, "\(r)")
                let run = runs.appendingPathComponent("caltech")
                let model = try readJSON(run.appendingPathComponent("model.json"))
                // 24x36 greyscale -> DoG on/off: 2 channels; conv 5x5 pad 2 keeps 24x36.
                #expect(lookup(model, "layers", 0, "input") as? [Int] == [24, 36, 2])
                #expect(lookup(model, "layers", 0, "output") as? [Int] == [24, 36, 6])
                let metrics = try readJSON(run.appendingPathComponent("metrics.json"))
                #expect(number(lookup(metrics, "train_images")) == 12 && number(lookup(metrics, "test_images")) == 9)
                let config = try readJSON(run.appendingPathComponent("config.json"))
                #expect(lookup(config, "dataset", "categories") as? [String] == ["Faces_easy", "Motorbikes"])
                #expect(number(lookup(config, "dataset", "train_per_category")) == 6)
                var files: [String: Data] = [:]
                for f in weightFiles("conv1") { files[f] = try Data(contentsOf: run.appendingPathComponent(f)) }
                if reference.isEmpty { reference = files } else {
                    for (f, d) in files { #expect(d == reference[f], "\(f) differs between 1 and \(ranks) ranks") }
                    #expect(number(lookup(metrics, "accuracy", "test")) != nil)
                }
            }
        }

        @Test("CIFAR-10 layout with patch whitening: 6 input channels, identical model for 1, 2 and 3 ranks")
        func cifarWhitening() async throws {
            let box = try Sandbox("cifar-whiten")
            let dir = box.root.appendingPathComponent("cifar-10-batches-bin")
            try CIFARLayout.write(to: dir)
            let config: [String: Any] = [
                "name": "cifar", "timesteps": 16,
                "dataset": ["format": "cifar10", "path": dir.path],
                // 5x5x3 patches: 75 dimensions, 11 kept; 14x14 patches per image, so max_patches 500
                // takes the first 3 training images.
                "preprocess": ["whitening": ["patch_size": 5, "epsilon": 0.01, "keep": 0.15, "stride": 2, "max_patches": 500]],
                "layers": [["type": "conv", "name": "conv1", "kernel": 5, "maps": 6, "epochs": 2, "wta_infer": true,
                            "stdp": ["rule": "multiplicative", "a": 0.1, "b": 1],
                            "threshold": ["init_mean": 5, "init_std": 0.1, "min": 1, "target_time": 0.9]]],
                "spinnaker": ["enabled": false],
            ]
            let path = try box.writeConfig(config, as: "cifar.json")
            var reference: [String: Data] = [:]
            for ranks in [1, 2, 3] {
                let runs = box.path("np\(ranks)")
                let r = try await box.mpirun(ranks, ["train", path, "--runs-dir", runs.path])
                try #require(r.succeeded, "\(r)")
                #expect(r.stdout.contains("patch whitening 5x5") && r.stdout.contains("11 of 75 components, fitted on 588 patches of 3 images"),
                        "\(r)")
                let run = runs.appendingPathComponent("cifar")
                let model = try readJSON(run.appendingPathComponent("model.json"))
                #expect(lookup(model, "layers", 0, "input") as? [Int] == [32, 32, 6])
                let resolved = try readJSON(run.appendingPathComponent("config.json"))
                #expect(number(lookup(resolved, "preprocess", "whitening", "max_patches")) == 500)
                #expect(lookup(resolved, "preprocess", "dog") == nil)
                var files: [String: Data] = [:]
                for f in weightFiles("conv1") { files[f] = try Data(contentsOf: run.appendingPathComponent(f)) }
                if reference.isEmpty { reference = files } else {
                    for (f, d) in files { #expect(d == reference[f], "\(f) differs between 1 and \(ranks) ranks") }
                }
            }
        }

        @Test("check names the file of a corrupt JPEG and a missing category folder, without a trap")
        func caltechBadData() async throws {
            let box = try Sandbox("caltech-bad")
            let data = box.root.appendingPathComponent("caltech101")
            try CaltechLayout.write(to: data)
            let bad = data.appendingPathComponent("101_ObjectCategories/Motorbikes/image_0004.jpg")
            try Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]).write(to: bad)   // a JPEG header cut short
            let path = try box.writeConfig(CaltechLayout.config(data), as: "caltech.json")
            let r = try await box.spinnprune(["check", path])
            #expect(r.exitedNormally && r.status == 1 && !r.trapped, "\(r)")
            #expect(r.stderr.contains("dataset.path") && r.stderr.contains("\(bad.path): not a decodable image"), "\(r)")

            try FileManager.default.removeItem(at: bad)
            var config = CaltechLayout.config(data)
            var ds = config["dataset"] as! [String: Any]
            ds["categories"] = ["Faces_easy", "Leopards"]
            config["dataset"] = ds
            let missing = try box.writeConfig(config, as: "missing.json")
            let m = try await box.spinnprune(["check", missing])
            #expect(m.exitedNormally && m.status == 1 && !m.trapped, "\(m)")
            #expect(m.stderr.contains("101_ObjectCategories/Leopards") && m.stderr.contains("no such directory"), "\(m)")
            // With the bad file gone (10 motorbikes, 4 of them to test) the data set is valid.
            let ok = try await box.spinnprune(["check", path])
            #expect(ok.succeeded && ok.stdout.contains("input 24x36x2 (12 train, 8 test images)"), "\(ok)")
        }
    }
}

/// A small Caltech-101 layout: `101_ObjectCategories/Faces_easy` (10 images of 40x60: a bright
/// horizontal band) and `.../Motorbikes` (11 images of 48x64: a bright vertical band), noise around.
enum CaltechLayout {
    static func write(to root: URL) throws {
        var rng = SyntheticBars.LCG(state: 11)
        for (category, count, w, h) in [("Faces_easy", 10, 60, 40), ("Motorbikes", 11, 64, 48)] {
            let dir = root.appendingPathComponent("101_ObjectCategories/\(category)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<count {
                let offset = Int(rng.next() % 10)
                let px: [UInt8] = (0..<(w * h)).map { p in
                    let (y, x) = (p / w, p % w)
                    let band = category == "Faces_easy" ? (y >= 10 + offset && y < 18 + offset) : (x >= 15 + offset && x < 25 + offset)
                    return band ? UInt8(200 + rng.next() % 50) : UInt8(rng.next() % 60)
                }
                try JPEG.encode(pixels: px, width: w, height: h, quality: 90)
                    .write(to: dir.appendingPathComponent(String(format: "image_%04d.jpg", i + 1)))
            }
        }
    }

    /// The reference's Faces/Motorbikes conv1 on 36x24 images, 6 training images per category.
    static func config(_ data: URL) -> [String: Any] {
        [
            "name": "caltech", "timesteps": 16,
            "dataset": ["format": "caltech", "path": data.path, "train_per_category": 6, "width": 36, "height": 24],
            "preprocess": ["dog": ["size": 7, "sigma_center": 1, "sigma_surround": 4]],
            "layers": [["type": "conv", "name": "conv1", "kernel": 5, "pad": 2, "maps": 6, "epochs": 2,
                        "stdp": ["rule": "multiplicative", "a": 0.1, "b": 0],
                        "weights": ["init": "normal", "mean": 0.8, "std": 0.01],
                        "threshold": ["init_mean": 5, "init_std": 1, "min": 8, "target_time": 0.8]]],
            "readout": ["grid": 1],
            "spinnaker": ["enabled": false],
        ]
    }
}

/// The CIFAR-10 binary layout: 5 training batches of 6 images and a test batch of 8, 32x32 RGB noise
/// with a bright square whose colour is the class (3 classes).
enum CIFARLayout {
    static func write(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SyntheticBars.LCG(state: 5)
        var index = 0
        func record() -> [UInt8] {
            let label = index % 3
            index += 1
            let y0 = Int(rng.next() % 20), x0 = Int(rng.next() % 20)
            var r: [UInt8] = [UInt8(label)]
            for c in 0..<3 {
                for p in 0..<1024 {
                    let (y, x) = (p / 32, p % 32)
                    let inside = y >= y0 && y < y0 + 10 && x >= x0 && x < x0 + 10
                    r.append(inside && c == label ? UInt8(180 + rng.next() % 70) : UInt8(rng.next() % 80))
                }
            }
            return r
        }
        for name in CIFAR10Dataset.files(.train) + CIFAR10Dataset.files(.test) {
            let n = name == "test_batch.bin" ? 8 : 6
            try Data((0..<n).flatMap { _ in record() }).write(to: dir.appendingPathComponent(name))
        }
    }
}
