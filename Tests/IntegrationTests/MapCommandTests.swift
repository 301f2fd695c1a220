import Foundation
import Testing

extension Integration {
    /// `spinnprune map`: the mapping without training.
    @Suite(.serialized) struct MapCommand {
        /// A trained three-layer run mapped again by `map --run --traffic`: the command reads the
        /// weight files and re-encodes the test images itself, where `train` used the layers it had
        /// just gathered; the tables, the graph and the packet counts must come out the same.
        @Test("map --run --traffic reproduces the run's own mapping and traffic byte for byte")
        func mapReproducesTheRun() async throws {
            let box = try Sandbox("map")
            var c = Configs.threeLayers(name: "bars3", dataset: box.dataset)
            c["spinnaker"] = ["machine": packageRoot.appendingPathComponent("cluster-configs/machines/triad.json").path,
                              "neurons_per_core": 16, "traffic_images": 12]
            let config = try box.writeConfig(c, as: "bars3.json")
            let trained = try await box.mpirun(2, ["train", config, "--runs-dir", box.path("runs").path])
            try #require(trained.succeeded, "\(trained)")
            let run = box.path("runs/bars3")
            let out = box.path("mapped")
            let mapped = try await box.spinnprune(["map", config, "--run", run.path, "--traffic", "12", "--out", out.path])
            try #require(mapped.succeeded, "\(mapped)")
            for f in ["routing_tables.json", "placements.json", "graph.json", "routing_keys.json", "traffic.json", "machine.json"] {
                #expect(try Data(contentsOf: out.appendingPathComponent(f)) == Data(contentsOf: run.appendingPathComponent("spinnaker/\(f)")),
                        "\(f) differs between train and map")
            }
            let traffic = try readJSON(out.appendingPathComponent("traffic.json"))
            #expect(number(lookup(traffic, "images")) == 12)
            // Every layer but the last sends: conv1, pool1, conv2, pool2 and fc1 after the input.
            #expect((lookup(traffic, "spikes_per_layer") as? [Any])?.count == 6)

            // Without the dataset, --input gives the image; bad values name the option.
            let sized = try await box.spinnprune(["map", config, "--input", "16x16x1", "--out", box.path("sized").path])
            try #require(sized.succeeded, "\(sized)")
            #expect(try Data(contentsOf: box.path("sized/placements.json")) == Data(contentsOf: run.appendingPathComponent("spinnaker/placements.json")))
            let bad = try await box.spinnprune(["map", config, "--input", "16x16", "--out", box.path("bad").path])
            #expect(!bad.succeeded && bad.stderr.contains("--input"), "\(bad)")
            #expect(!FileManager.default.fileExists(atPath: box.path("bad").path))
            let noRun = try await box.spinnprune(["map", config, "--traffic", "3"])
            #expect(!noRun.succeeded && noRun.stderr.contains("--traffic needs --run"), "\(noRun)")
        }
    }
}
