import Foundation
import Testing

extension Integration {
    /// The ablation tool (`tools/ablation.py`, behind `launch/ablation`) on the synthetic bars: the
    /// variant configs it derives, the sparsity each run reached, the one-shot variant being the
    /// baseline's training pruned afterwards, and the table and plot it renders.
    @Suite(.serialized) struct Ablation {
        @Test("ablation at 50 %: exact sparsity, one-shot = baseline pruned by magnitude, DSWR schedules, resume, table and PNG")
        func ablationTable() async throws {
            let box = try Sandbox("ablation")
            let config = try box.writeConfig(Configs.oneLayer(name: "bars", dataset: box.dataset), as: "bars.json")
            let runs = box.path("runs"), results = box.path("results"), doc = box.path("compression.md")
            let env = URL(fileURLWithPath: "/usr/bin/env")
            /// `tools/ablation.py run <config> --ranks 1 ...`, from the package root; the ramp over all 3 epochs.
            func ablationRun(_ sparsities: String, _ variants: String, strength: String = "1", rampEnd: String = "1",
                             result: URL) async throws -> RunResult {
                try await runProcess(env, ["SPINNPRUNE_BIN=\(box.binary.path)", "python3", "tools/ablation.py", "run", config,
                                           "--ranks", "1", "--sparsities", sparsities, "--variants", variants, "--strength", strength,
                                           "--ramp-end", rampEnd, "--jobs", "2", "--runs-dir", runs.path, "--out", result.path],
                                     in: packageRoot)
            }
            let run = try await ablationRun("0.5", "baseline,pp,oneshot", result: results.appendingPathComponent("bars.json"))
            try #require(run.succeeded, "\(run)")
            let render = try await runProcess(env, ["python3", "tools/ablation.py", "render", results.path, doc.path], in: packageRoot)
            try #require(render.succeeded, "\(render)")

            // The derived configs: the schedule each variant promises.
            let pp = try readJSON(runs.appendingPathComponent("pp-50.json"))
            #expect(number(lookup(pp, "layers", 0, "pruning", "final_sparsity")) == 0.5)
            #expect(number(lookup(pp, "layers", 0, "pruning", "start_epoch")) == 0)
            #expect(number(lookup(pp, "layers", 0, "pruning", "end_epoch")) == 2)
            let oneshot = try readJSON(runs.appendingPathComponent("oneshot-50.json"))
            #expect(number(lookup(oneshot, "layers", 0, "pruning", "start_epoch")) == 2)
            #expect(number(lookup(oneshot, "layers", 0, "pruning", "end_epoch")) == 2)
            #expect(lookup(try readJSON(runs.appendingPathComponent("baseline.json")), "layers", 0, "pruning") == nil)

            // One-shot pruning after training: the baseline's weights and thresholds, with exactly the
            // floor(0.5 * 400) = 200 smallest |w| set to 0 (none kept is smaller than one pruned).
            let total = 5 * 5 * 2 * 8
            let base = try readFloats(runs.appendingPathComponent("baseline/weights/conv1.weights.f32"))
            let shot = try readFloats(runs.appendingPathComponent("oneshot-50/weights/conv1.weights.f32"))
            let mask = try readBytes(runs.appendingPathComponent("oneshot-50/weights/conv1.mask.u8"))
            try #require(base.count == total && shot.count == total && mask.count == total)
            #expect(mask.filter { $0 == 0 }.count == 200)
            var largestPruned: Float = 0, smallestKept: Float = .infinity
            for i in 0..<total {
                if mask[i] == 1 {
                    #expect(shot[i] == base[i], "kept weight \(i): \(shot[i]) after one-shot pruning, \(base[i]) in the baseline")
                    smallestKept = min(smallestKept, abs(base[i]))
                } else {
                    #expect(shot[i] == 0, "pruned weight \(i) is \(shot[i])")
                    largestPruned = max(largestPruned, abs(base[i]))
                }
            }
            #expect(largestPruned <= smallestKept, "a pruned weight (|w| = \(largestPruned)) is larger than a kept one (\(smallestKept))")
            #expect(try readBytes(runs.appendingPathComponent("oneshot-50/weights/conv1.thresholds.f32"))
                    == (try readBytes(runs.appendingPathComponent("baseline/weights/conv1.thresholds.f32"))))

            // The CSV: one row per run, accuracies and pruned fractions from each run's metrics.json.
            let csv = try String(contentsOf: results.appendingPathComponent("bars.csv"), encoding: .utf8)
            let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.first == ["variant", "target_sparsity", "acc_conv1", "pruned_conv1", "pruned_overall", "dense_bytes", "sparse_bytes"])
            #expect(rows.dropFirst().map { $0[0] } == ["baseline", "pp", "oneshot"])
            #expect(rows.dropFirst().map { $0[3] } == ["0.0000", "0.5000", "0.5000"])
            #expect(rows.dropFirst().map { $0[5] } == ["1600", "1600", "1600"], "dense bytes: 400 float32 weights")
            var markdownRows: [String] = []
            for (row, dir) in zip(rows.dropFirst(), ["baseline", "pp-50", "oneshot-50"]) {
                let metrics = try readJSON(runs.appendingPathComponent("\(dir)/metrics.json"))
                let test = try #require(number(lookup(metrics, "accuracy", "test")))
                #expect(row[2] == String(format: "%.4f", test), "\(dir): CSV accuracy \(row[2]), metrics.json \(test)")
                markdownRows.append(String(format: "%.2f %%", test * 100))
            }

            // The Markdown table and the 700x400 PNG it links.
            let md = try String(contentsOf: doc, encoding: .utf8)
            #expect(md.contains("| one-shot after training | 50 % | \(markdownRows[2]) | 50.0 % | 50.0 % |"), "\(md)")
            #expect(md.contains("| PP | 50 % | \(markdownRows[1]) | 50.0 % | 50.0 % |"), "\(md)")
            #expect(md.contains("![accuracy against sparsity](results/bars.png)"), "\(md)")
            // Resuming: a second call keeps every run; a DSWR variant derives its schedule; a kept run
            // asked for with another strength is refused, naming the run.
            let again = try await ablationRun("0.5", "baseline,pp,oneshot", result: results.appendingPathComponent("bars.json"))
            try #require(again.succeeded, "\(again)")
            #expect(again.stdout.components(separatedBy: "done before, kept").count - 1 == 3, "\(again)")
            #expect(try String(contentsOf: results.appendingPathComponent("bars.csv"), encoding: .utf8) == csv)
            let dswr = try await ablationRun("0.5", "pp+dswr,dswr", result: box.path("dswr.json"))
            try #require(dswr.succeeded, "\(dswr)")
            let ppd = try readJSON(runs.appendingPathComponent("pp-dswr-50.json"))
            #expect(number(lookup(ppd, "layers", 0, "pruning", "reinforcement")) == 1)
            #expect(number(lookup(ppd, "layers", 0, "pruning", "end_epoch")) == 2)
            let d = try readJSON(runs.appendingPathComponent("dswr-50.json"))
            #expect(number(lookup(d, "layers", 0, "pruning", "reinforcement")) == 1)
            #expect(number(lookup(d, "layers", 0, "pruning", "start_epoch")) == 0 && number(lookup(d, "layers", 0, "pruning", "end_epoch")) == 0)
            #expect(try readBytes(runs.appendingPathComponent("dswr-50/weights/conv1.mask.u8")).filter { $0 == 0 }.count == 200)
            let changed = try await ablationRun("0.5", "pp+dswr", strength: "0.5", result: box.path("changed.json"))
            #expect(!changed.succeeded && changed.stderr.contains("pp-dswr-50 was run with another config"), "\(changed)")
            // A ramp over the first half of 3 epochs ends after epoch ceil(1.5) - 1 = 1; a changed ramp is refused too.
            let half = try await ablationRun("0.5", "pp", rampEnd: "0.5", result: box.path("half.json"))
            #expect(!half.succeeded && half.stderr.contains("pp-50 was run with another config"), "\(half)")
            let halfRuns = box.path("half-runs")
            let fresh = try await runProcess(env, ["SPINNPRUNE_BIN=\(box.binary.path)", "python3", "tools/ablation.py", "run", config,
                                                   "--sparsities", "0.5", "--variants", "pp", "--ramp-end", "0.5",
                                                   "--runs-dir", halfRuns.path, "--out", box.path("half.json").path], in: packageRoot)
            try #require(fresh.succeeded, "\(fresh)")
            #expect(number(lookup(try readJSON(halfRuns.appendingPathComponent("pp-50.json")), "layers", 0, "pruning", "end_epoch")) == 1)

            let png = try readBytes(results.appendingPathComponent("bars.png"))
            try #require(png.count > 24)
            #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
            func be32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(png[at + $1]) } }
            #expect(be32(16) == 700 && be32(20) == 400, "PNG size \(be32(16))x\(be32(20))")
        }
    }
}
