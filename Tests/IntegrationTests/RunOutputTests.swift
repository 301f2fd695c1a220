import Foundation
import SpikeCompression
import Testing

extension Integration {
    /// What one run writes, checked for real values.
    @Suite(.serialized) struct RunOutputs {
        /// Chance is 1/3 on the three classes; the run reaches about 0.9 (see the report in the test).
        static let accuracyBound = 0.6

        @Test("a 2-rank run: metrics, pruning mask and weights, model shapes, SpiNNaker files")
        func twoRankRun() async throws {
            let box = try Sandbox("outputs")
            let config = try box.writeConfig(Configs.oneLayer(name: "bars", dataset: box.dataset), as: "bars.json")
            let runs = box.path("runs")
            let result = try await box.mpirun(2, ["train", config, "--runs-dir", runs.path])
            try #require(result.succeeded, "\(result)")
            let dir = runs.appendingPathComponent("bars")
            #expect(filesUnder(dir) == expectedRunFiles(layers: ["conv1"]), "\(result)")

            // metrics.json
            let total = 5 * 5 * 2 * 8  // kernel 5x5, 2 input channels (DoG on/off of 1), 8 maps
            let prunedExpected = Int((0.5 * Double(total)).rounded(.down))
            let metrics = try readJSON(dir.appendingPathComponent("metrics.json"))
            #expect(number(lookup(metrics, "ranks")) == 2)
            #expect(lookup(metrics, "name") as? String == "bars")
            #expect(number(lookup(metrics, "timesteps")) == 16)
            #expect(number(lookup(metrics, "train_images")) == Double(SyntheticBars.trainCount))
            #expect(number(lookup(metrics, "test_images")) == Double(SyntheticBars.testCount))
            #expect(number(lookup(metrics, "compression", "layers", 0, "weights")) == Double(total))
            #expect(number(lookup(metrics, "compression", "layers", 0, "pruned")) == Double(prunedExpected))
            #expect(number(lookup(metrics, "compression", "layers", 0, "compression_rate")) == expectedRate(sparsity: 0.5, total: total))
            #expect(number(lookup(metrics, "compression", "overall_rate")) == expectedRate(sparsity: 0.5, total: total))
            let test = try #require(number(lookup(metrics, "accuracy", "test")), "\(result)")
            let train = try #require(number(lookup(metrics, "accuracy", "train")), "\(result)")
            print("synthetic bars, 2 ranks: test accuracy \(test), train accuracy \(train) (chance 1/3)")
            #expect(test >= Self.accuracyBound, "test accuracy \(test) is not well above chance (1/3)\n\(result)")
            #expect(train >= Self.accuracyBound, "train accuracy \(train) is not well above chance (1/3)\n\(result)")
            #expect(lookup(metrics, "accuracy", "layer") as? String == "conv1")
            #expect(number(lookup(metrics, "spinnaker", "cores_used")).map { $0 >= 1 } == true)

            // epochs.csv: one row per epoch (3), the cubic ramp over epochs 0...2 of 400 weights:
            // floor(0.5 (1 - (2/3)^3) 400) = 140, floor(0.5 (1 - (1/3)^3) 400) = 192, then 200.
            let csv = try String(contentsOf: dir.appendingPathComponent("epochs.csv"), encoding: .utf8)
            let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
            #expect(rows.count == 3)
            #expect(rows.map { String($0[1]) } == ["1", "2", "3"])
            let prunedColumn: [Double] = rows.map { Double(String($0[5])) ?? -1 }
            let prunedByHand: [Double] = [140.0 / 400, 192.0 / 400, 200.0 / 400]
            #expect(prunedColumn == prunedByHand)

            // Mask, weights, thresholds.
            let mask = try readBytes(dir.appendingPathComponent("weights/conv1.mask.u8"))
            let weights = try readFloats(dir.appendingPathComponent("weights/conv1.weights.f32"))
            let thresholds = try readFloats(dir.appendingPathComponent("weights/conv1.thresholds.f32"))
            #expect(mask.count == total)
            #expect(weights.count == total)
            #expect(thresholds.count == 8)
            #expect(mask.allSatisfy { $0 == 0 || $0 == 1 }, "mask values other than 0/1: \(Set(mask).sorted())")
            #expect(mask.filter { $0 == 0 }.count == prunedExpected)
            let zeroWhereMasked = zip(mask, weights).allSatisfy { m, w in m != 0 || w == 0 }
            #expect(zeroWhereMasked, "a pruned synapse (mask 0) has a non-zero weight")
            #expect(weights.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 },
                    "weights outside [0, 1]: \(weights.filter { !($0 >= 0 && $0 <= 1) }.prefix(5))")
            let kept = zip(mask, weights).filter { $0.0 == 1 }.map(\.1)
            #expect(kept.contains { $0 > 0 }, "every kept weight is zero")
            #expect(Set(kept).count > 1, "the kept weights are all equal: nothing learned")
            #expect(thresholds.allSatisfy { $0.isFinite && $0 >= 1 }, "thresholds below the minimum 1: \(thresholds)")
            #expect(number(lookup(metrics, "compression", "layers", 0, "zero_weights"))
                        == Double(weights.filter { $0 == 0 }.count))

            // The sparse file: decoded, it is the dense weights and mask byte for byte; its size is
            // what metrics.json reports; the header read here by hand says what docs/FORMATS.md says.
            let sparseURL = dir.appendingPathComponent("weights/conv1.sparse")
            let sparse = try readBytes(sparseURL)
            let decoded = try SparseFormat.decode(sparse)
            #expect((decoded.kernel, decoded.inChannels, decoded.maps) == (5, 2, 8))
            #expect(decoded.weights.withUnsafeBytes { Data($0) } == (try Data(contentsOf: dir.appendingPathComponent("weights/conv1.weights.f32"))),
                    "the decoded sparse weights differ from weights/conv1.weights.f32")
            #expect(Data(decoded.mask) == (try Data(contentsOf: dir.appendingPathComponent("weights/conv1.mask.u8"))),
                    "the decoded sparse mask differs from weights/conv1.mask.u8")
            let keptCount = total - prunedExpected
            func le32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(sparse[at + $1]) << (8 * $1) } }
            #expect(Array(sparse.prefix(4)) == Array("SPSP".utf8))
            #expect(sparse[4] == 1 && sparse[5] == 0, "version")
            #expect(sparse[6] == 2 && sparse[7] == 0, "5x5x2 = 50 synapses per map: 2-byte indices")
            #expect([le32(8), le32(12), le32(16), le32(20)] as [Int] == [5, 2, 8, keptCount])
            #expect(le32(24) == 0 && le32(24 + 4 * 8) == keptCount, "offsets run from 0 to the kept count")
            // 24-byte header, 9 offsets, 2-byte indices padded to 4, float32 weights.
            #expect(sparse.count == 24 + 4 * 9 + (2 * keptCount + 3) / 4 * 4 + 4 * keptCount)
            let fileSize = try #require(try FileManager.default.attributesOfItem(atPath: sparseURL.path)[.size] as? NSNumber).intValue
            print("synthetic bars, 2 ranks: conv1 \(keptCount) of \(total) weights kept, dense \(4 * total) B -> sparse \(fileSize) B")
            #expect(number(lookup(metrics, "compression", "layers", 0, "sparse_bytes")) == Double(fileSize))
            #expect(number(lookup(metrics, "compression", "layers", 0, "dense_bytes")) == Double(4 * total))
            #expect(number(lookup(metrics, "compression", "sparse_bytes")) == Double(fileSize))
            #expect(number(lookup(metrics, "compression", "dense_bytes")) == Double(4 * total))
            #expect(result.stdout.contains(String(format: "conv1: %d weights, 50.0 %% pruned, dense %d B -> sparse %d B",
                                                  total, 4 * total, fileSize)), "\(result)")

            // model.json
            let model = try readJSON(dir.appendingPathComponent("model.json"))
            #expect(number(lookup(model, "timesteps")) == 16)
            #expect((lookup(model, "layers") as? [Any])?.count == 1)
            #expect(lookup(model, "layers", 0, "name") as? String == "conv1")
            #expect(ints(lookup(model, "layers", 0, "input")) == [16, 16, 2])
            #expect(ints(lookup(model, "layers", 0, "output")) == [12, 12, 8])
            #expect(number(lookup(model, "layers", 0, "kernel")) == 5)
            #expect(number(lookup(model, "layers", 0, "stride")) == 1)
            #expect(number(lookup(model, "layers", 0, "pad")) == 0)
            #expect(lookup(model, "layers", 0, "files") as? [String] == weightFiles("conv1"))
            #expect((lookup(model, "layers", 0, "sparse_layout") as? String)?.hasPrefix("little-endian; header: magic \"SPSP\"") == true)

            // config.json: the resolved config, itself a valid config that reproduces the run.
            let resolved = try readJSON(dir.appendingPathComponent("config.json"))
            #expect(lookup(resolved, "name") as? String == "bars")
            #expect(number(lookup(resolved, "layers", 0, "pruning", "final_sparsity")) == 0.5)
            #expect(lookup(resolved, "dataset", "path") as? String == box.dataset.path)
            let check = try await box.spinnprune(["check", dir.appendingPathComponent("config.json").path])
            #expect(check.succeeded, "the resolved config.json of a run does not pass `check`:\n\(check)")
            let again = try await box.spinnprune(["train", dir.appendingPathComponent("config.json").path,
                                                  "--runs-dir", box.path("again").path])
            try #require(again.succeeded, "training from the resolved config.json failed:\n\(again)")
            for f in weightFiles("conv1") {
                #expect(try Data(contentsOf: dir.appendingPathComponent(f))
                            == Data(contentsOf: box.path("again/bars").appendingPathComponent(f)),
                        "\(f) differs when retrained (1 rank) from the run's own config.json")
            }

            // SpiNNaker files.
            let machine = try readJSON(dir.appendingPathComponent("spinnaker/machine.json"))
            let placements = try #require(try readJSON(dir.appendingPathComponent("spinnaker/placements.json")) as? [[String: Any]],
                                          "placements.json is not a list of objects")
            let tables = try #require(try readJSON(dir.appendingPathComponent("spinnaker/routing_tables.json")) as? [[String: Any]],
                                      "routing_tables.json is not a list of objects")
            var cores: [String: Int] = [:]
            for chip in (lookup(machine, "chips") as? [[Any]]) ?? [] where chip.count == 3 {
                if let x = number(chip[0]), let y = number(chip[1]), let c = number(lookup(chip[2], "cores")) {
                    cores["\(Int(x)),\(Int(y))"] = Int(c)
                }
            }
            #expect(!cores.isEmpty, "machine.json lists no chips")
            let labels = placements.compactMap { $0["vertex_label"] as? String }
            #expect(labels.count == placements.count, "a placement without a vertex_label")
            #expect(Set(labels).count == labels.count, "duplicate placement labels: \(labels)")
            #expect(labels.contains { $0.hasPrefix("input/") } && labels.contains { $0.hasPrefix("conv1/") }, "\(labels)")
            var slots = Set<String>()
            for p in placements {
                guard let x = number(p["x"]), let y = number(p["y"]), let core = number(p["p"]) else {
                    Issue.record("placement without x, y, p: \(p)")
                    continue
                }
                #expect(slots.insert("\(x),\(y),\(core)").inserted, "two vertices on core \(x),\(y),\(core)")
                let available = cores["\(Int(x)),\(Int(y))"]
                #expect(available.map { Int(core) < $0 && core >= 1 } == true,
                        "placement \(p) is not on an application core of a chip of machine.json")
            }
            #expect(!tables.isEmpty, "no routing tables")
            for t in tables {
                #expect(t["x"] != nil && t["y"] != nil && t["entries"] is [Any], "malformed routing table \(t)")
            }
            // rig files: one net per sending vertex, named after it, with its key; every vertex has resources.
            let graph = try readJSON(dir.appendingPathComponent("spinnaker/graph.json"))
            let keys = try #require(try readJSON(dir.appendingPathComponent("spinnaker/routing_keys.json")) as? [String: [Any]])
            let nets = try #require(lookup(graph, "edges") as? [String: Any])
            #expect(Set(nets.keys) == Set(keys.keys) && !nets.isEmpty)
            #expect(Set(((lookup(graph, "vertices_resources") as? [String: Any]) ?? [:]).keys) == Set(labels))
            #expect(nets.keys.allSatisfy { $0.hasPrefix("input/") }, "only the input feeds another layer here: \(nets.keys.sorted())")
            // Traffic: the spikes of the first 100 test images (the default), input and conv1.
            let traffic = try readJSON(dir.appendingPathComponent("spinnaker/traffic.json"))
            #expect(number(lookup(traffic, "images")) == number(lookup(metrics, "test_images")).map { min($0, 100) })
            #expect(ints(lookup(traffic, "spikes_per_layer"))?.count == 2)
            let report = try String(contentsOf: dir.appendingPathComponent("spinnaker/mapping_report.md"), encoding: .utf8)
            #expect(report.contains("every compressed table checked to route every key as the uncompressed one"))
        }
    }
}

private func ints(_ v: Any?) -> [Int]? {
    (v as? [Any])?.compactMap { number($0).map { Int($0) } }
}
