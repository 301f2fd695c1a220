import Foundation
import Testing

extension Integration {
    @Suite(.serialized) struct CheckCommand {
        @Test("check accepts the test configs and names their layers")
        func good() async throws {
            let box = try Sandbox("check-good")
            let one = try box.writeConfig(Configs.oneLayer(dataset: box.dataset), as: "one.json")
            let two = try box.writeConfig(Configs.twoLayers(dataset: box.dataset), as: "two.json")
            let r1 = try await box.spinnprune(["check", one])
            #expect(r1.succeeded, "\(r1)")
            #expect(r1.stdout.contains("conv1"), "\(r1)")
            let r2 = try await box.spinnprune(["check", two])
            #expect(r2.succeeded, "\(r2)")
            // 16x16x2 input (DoG on/off); conv 5x5 -> 12x12x8; pool 2/2 -> 6x6x8; conv 3x3 -> 4x4x12.
            #expect(r2.stdout.contains("input 16x16x2 (300 train, 100 test images)"), "\(r2)")
            #expect(r2.stdout.contains("conv1 12x12x8, pool1 6x6x8, conv2 4x4x12"), "\(r2)")
            #expect(box.entries(of: box.root).filter { !$0.hasPrefix(".io-") }.sorted() == ["bars", "one.json", "two.json"],
                    "check wrote files")
        }

        @Test("check rejects a bad config, naming file and field", arguments: [BadInput.typoKey, .negativeKernel,
                                                                              .unknownSTDPRule, .notJSON, .missingConfigFile])
        func bad(_ bad: BadInput) async throws {
            let box = try Sandbox("check-bad")
            let (config, mentions) = try bad.prepare(box)
            let r = try await box.spinnprune(["check", config])
            #expect(r.exitedNormally && r.status != 0, "\(r)")
            #expect(!r.trapped, "\(r)")
            for m in mentions { #expect(mentioned(m, in: r.stderr, box: box), "stderr does not mention \"\(m)\"\n\(r)") }
        }
    }
}
