import Foundation
import Testing

/// The cost model's least-squares fit (`tools/scaling_study.py fit`) on synthetic measurements made
/// from known constants: it must give them back. No process but python3; no timing.
@Suite struct ScalingModel {
    @Test("the fit recovers c_event, c_unit, c_replicated per kind and alpha, beta, wait from exact synthetic points")
    func fitRecoversConstants() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-fit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let truth: [String: (c: Double, u: Double, r: Double)] = ["train": (3.2e-9, 40e-9, 11e-9), "forward": (0.45e-9, 15e-9, 2.5e-9)]
        let alpha = 3.5e-6, beta = 0.7e-9
        let wait = ["train": 0.3, "forward": 0.05]
        var compute: [[String: Any]] = []
        // Points spread like real stages: lanes, units and replicated work not proportional to each other.
        for (kind, t) in truth {
            for (lanes, units, replicated) in [(1.0e8, 2.0e6, 2.0e7), (4.0e9, 6.0e6, 1.5e7), (2.5e9, 9.0e7, 9.0e8),
                                               (6.0e7, 3.0e5, 3.0e6), (8.0e8, 4.0e7, 4.0e8), (3.0e9, 1.0e6, 5.0e7)] {
                compute.append(["kind": kind, "lanes": lanes, "units": units, "replicated": replicated,
                                "seconds": t.c * lanes + t.u * units + t.r * replicated])
            }
        }
        var collectives: [[String: Any]] = []
        for (kind, p, n, bytes, jitter) in [("train", 2, 15005, 120040.0, 0.5), ("forward", 2, 4098, 1.6e7, 2.5),
                                            ("train", 4, 30010, 2.4e5, 0.05), ("forward", 8, 4098, 5.0e7, 0.3),
                                            ("train", 2, 5005, 40040.0, 1.2), ("forward", 4, 12290, 4.0e6, 4.0),
                                            ("train", 1, 5, 0.0, 0.0)] {
            let seconds = p > 1 ? alpha * Double(n) * log2(Double(p)) + beta * bytes + wait[kind]! * jitter : 1e-5
            collectives.append(["kind": kind, "ranks": p, "collectives": n, "bytes": bytes, "jitter": jitter, "seconds": seconds])
        }
        let points = dir.appendingPathComponent("points.json")
        try JSONSerialization.data(withJSONObject: ["compute": compute, "collectives": collectives]).write(to: points)
        let result = try await runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                          ["python3", "tools/scaling_study.py", "fit", points.path], in: packageRoot)
        try #require(result.succeeded, "\(result)")
        let fit = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        func close(_ v: Any?, _ want: Double, _ what: String) {
            let got = number(v)
            #expect(got != nil && abs(got! - want) <= 1e-6 * want, "\(what): fitted \(String(describing: got)), true \(want)")
        }
        for (kind, t) in truth {
            close(lookup(fit, "compute", kind, "c_event"), t.c, "\(kind) c_event")
            close(lookup(fit, "compute", kind, "c_unit"), t.u, "\(kind) c_unit")
            close(lookup(fit, "compute", kind, "c_replicated"), t.r, "\(kind) c_replicated")
        }
        close(lookup(fit, "alpha"), alpha, "alpha")
        close(lookup(fit, "beta"), beta, "beta")
        for (kind, w) in wait { close(lookup(fit, "wait", kind), w, "\(kind) wait") }
        // The one-rank point (no collective cost in the model) is left out of alpha and beta.
        #expect(number(lookup(fit, "collective_points")) == 6)
    }
}

extension Integration {
    /// `launch/scaling-study --quick` on the synthetic bars at 1 and 2 ranks: the CSV rows are the
    /// runs' metrics.json figures, the counts are those the workload implies, and the document and
    /// plot are written.
    @Suite(.serialized) struct ScalingStudy {
        @Test("scaling-study --quick: CSV from every run's metrics.json, collective and event counts, SCALING.md, PNG")
        func quickStudy() async throws {
            let box = try Sandbox("scaling")
            let out = box.path("study")
            let run = try await runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["SPINNPRUNE_BIN=\(box.binary.path)", "bash", "launch/scaling-study", "--quick",
                                            "--ranks", "1 2", "--dataset", box.dataset.path, "--out", out.path],
                                           in: packageRoot)
            try #require(run.succeeded, "\(run)")
            let csv = try String(contentsOf: out.appendingPathComponent("scaling/scaling.csv"), encoding: .utf8)
            let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let header = ["study", "ranks", "oversubscribed", "stage", "wall", "compute_max", "compute_mean",
                          "collective_seconds_min", "collective_seconds_max", "collectives", "bytes_received",
                          "bytes_per_timestep", "imbalance_seconds", "synaptic_events", "input_spikes", "samples", "timesteps",
                          "predicted_wall", "prediction_error"]
            try #require(rows.first == header, "CSV header: \(rows.first ?? [])")
            func col(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }
            func num(_ row: [String], _ name: String) -> Double { Double(col(row, name)) ?? .nan }
            let body = Array(rows.dropFirst())

            var forwardEvents: [Int: Double] = [:]
            for study in ["strong", "weak"] {
                for n in [1, 2] {
                    // The run's own metrics.json, in the runs directory of the study.
                    let metrics = try readJSON(out.appendingPathComponent("runs/\(study)-np\(n)/metrics.json"))
                    let kept = try readJSON(out.appendingPathComponent("scaling/results/\(study)-np\(n).json"))
                    #expect(number(lookup(kept, "ranks")) == Double(n))
                    #expect(number(lookup(lookup(kept, "metrics") as Any, "scaling", "stages", "train conv1", "wall", 0))
                            == number(lookup(metrics, "scaling", "stages", "train conv1", "wall", 0)), "kept result is not the run's")
                    let order = try #require(lookup(metrics, "scaling", "stage_order") as? [String])
                    #expect(Array(order.prefix(2)) == ["load", "encode"])
                    #expect(order.contains("train conv1") && order.contains("forward conv2") && order.contains("svm conv2"), "\(order)")
                    let mine = body.filter { $0[0] == study && $0[1] == "\(n)" }
                    #expect(mine.map { $0[3] } == order, "\(study) \(n): CSV stages \(mine.map { $0[3] })")
                    for row in mine {
                        let st = lookup(metrics, "scaling", "stages", row[3])
                        let walls = (0..<n).compactMap { number(lookup(st, "wall", $0)) }
                        let compute = (0..<n).compactMap { number(lookup(st, "compute", $0)) }
                        let coll = (0..<n).compactMap { number(lookup(st, "collective_seconds", $0)) }
                        let received = (0..<n).compactMap { number(lookup(st, "bytes_received", $0)) }
                        let events = (0..<n).compactMap { number(lookup(st, "synaptic_events", $0)) }
                        try #require(walls.count == n && compute.count == n && coll.count == n && received.count == n && events.count == n,
                                     "\(row[3]): per-rank arrays of \(n)")
                        let what = "\(study) np\(n) \(row[3])"
                        #expect(col(row, "oversubscribed") == "no", "\(what)")
                        #expect(abs(num(row, "wall") - walls.max()!) < 1e-6, "\(what): wall")
                        #expect(abs(num(row, "compute_max") - compute.max()!) < 1e-6, "\(what): compute")
                        #expect(abs(num(row, "collective_seconds_min") - coll.min()!) < 1e-6, "\(what): collectives min")
                        #expect(abs(num(row, "collective_seconds_max") - coll.max()!) < 1e-6, "\(what): collectives max")
                        for r in 0..<n {
                            // compute = wall - time in collectives, per rank
                            #expect(abs(compute[r] - max(0, walls[r] - coll[r])) < 1e-9, "\(what): compute of rank \(r)")
                        }
                        let mean = compute.reduce(0, +) / Double(n)
                        #expect(abs(num(row, "imbalance_seconds") - (compute.max()! - mean)) < 1e-6, "\(what): imbalance")
                        #expect(abs(num(row, "imbalance_seconds") - number(lookup(st, "imbalance_seconds"))!) < 1e-6, "\(what)")
                        #expect(num(row, "collectives") == number(lookup(st, "collectives", 0)), "\(what): collectives")
                        #expect(abs(num(row, "bytes_received") - received.reduce(0, +) / Double(n)) < 0.06, "\(what): bytes")
                        #expect(num(row, "synaptic_events") == events.reduce(0, +), "\(what): events")
                        #expect(num(row, "samples") == number(lookup(st, "samples")), "\(what)")
                        #expect(num(row, "timesteps") == number(lookup(st, "timesteps")), "\(what)")
                        if n == 1 { #expect(num(row, "bytes_received") == 0, "\(what): one rank moves no bytes") }
                        #expect(col(row, "predicted_wall").isEmpty == !(row[3].hasPrefix("train") || row[3].hasPrefix("forward")), "\(what)")
                    }
                    // The workload's counts: 300 training patches, 1 epoch, T = 32; 400 images in
                    // batches of 256 (2 + 1 batches).
                    let train = try #require(body.first { $0[0] == study && $0[1] == "\(n)" && $0[3] == "train conv1" })
                    #expect(num(train, "samples") == 300 && num(train, "timesteps") == 300 * 32)
                    // One 8-byte winner allreduce per sample on 2 ranks, and one mean-threshold sum per epoch.
                    #expect(num(train, "collectives") == (n == 1 ? 1 : 301), "train collectives \(col(train, "collectives"))")
                    #expect(num(train, "bytes_received") == (n == 1 ? 0 : 301 * 8))
                    let forward = try #require(body.first { $0[0] == study && $0[1] == "\(n)" && $0[3] == "forward conv1" })
                    #expect(num(forward, "samples") == 400 && num(forward, "timesteps") == 3 * 32)
                    if n == 2 {
                        // Per timestep of a batch, the spike count and the spikes (2 collectives), then the
                        // features of each split (train, test) gathered in two chunks.
                        #expect(num(forward, "collectives") == 2 * 3 * 32 + 2 * 2, "forward collectives \(col(forward, "collectives"))")
                        #expect(num(forward, "bytes_received") > 0)
                        #expect(abs(num(forward, "bytes_per_timestep") - num(forward, "bytes_received") / 96) < 0.01)
                    }
                    if study == "strong" { forwardEvents[n] = num(forward, "synaptic_events") }
                }
            }
            // Every rank integrates every receptive field into its own maps: the events of all
            // ranks together do not depend on the rank count.
            #expect(forwardEvents[1] != nil && forwardEvents[1] == forwardEvents[2] && forwardEvents[1]! > 0, "\(forwardEvents)")

            let doc = try String(contentsOf: out.appendingPathComponent("SCALING.md"), encoding: .utf8)
            for part in ["## The cost model", "## The model against the 2-rank measurement", "## Projection to 16-1024 ranks",
                         "MNIST 3-layer", "STL-10", "InfiniBand", "## Where map slicing stops scaling", "(scaling/scaling.png)"] {
                #expect(doc.contains(part), "SCALING.md lacks \(part)")
            }
            let model = try readJSON(out.appendingPathComponent("scaling/model.json"))
            #expect((lookup(model, "two_ranks") as? [Any])?.count == 4, "four train / forward stages predicted at 2 ranks")
            let png = try readBytes(out.appendingPathComponent("scaling/scaling.png"))
            try #require(png.count > 24)
            #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
            func be32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(png[at + $1]) } }
            #expect(be32(16) == 1200 && be32(20) == 420, "PNG size \(be32(16))x\(be32(20))")
        }
    }
}
