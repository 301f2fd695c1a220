import Foundation
import SpikeModel
import Testing
@testable import SpinnpruneApp

// The PyNN export (docs/PYNN.md): train writes spinnaker/pynn_network.py and spinnaker/pynn/; the
// script runs here against a fake `pyNN.spiNNaker` (FakePyNN.swift) that records its calls and runs
// the network as sPyNNaker would. The values are checked against the run's weights files, read here.

/// What the generated script did against the fake module.
struct PyNNRun {
    var log: Any
    var output: Any
    var result: RunResult

    var populations: [[String: Any]] { lookup(log, "populations") as? [[String: Any]] ?? [] }
    var projections: [[String: Any]] { lookup(log, "projections") as? [[String: Any]] ?? [] }
    func population(_ label: String) -> [String: Any]? { populations.first { $0["label"] as? String == label } }
    func projections(from pre: String, to post: String) -> [[String: Any]] {
        projections.filter { $0["pre"] as? String == pre && $0["post"] as? String == post }
    }
}

extension Sandbox {
    /// Writes the fake `pyNN` package (once) and runs `python3 <run>/spinnaker/pynn_network.py args`.
    func runPyNNScript(run: URL, _ args: [String], tag: String) async throws -> PyNNRun {
        let fake = path("fakepynn")
        let package = fake.appendingPathComponent("pyNN")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        for (name, text) in FakePyNN.files { try Data((text + "\n").utf8).write(to: package.appendingPathComponent(name)) }
        let log = path("pynn-log-\(tag).json"), out = path("pynn-out-\(tag).json")
        let script = run.appendingPathComponent("spinnaker/pynn_network.py").path
        let r = try await runProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["PYTHONPATH=\(fake.path)", "FAKE_PYNN_LOG=\(log.path)", "python3", script, "--out", out.path] + args,
                                     in: root)
        guard r.succeeded else { throw HarnessError("the PyNN script failed:\n\(r)") }
        return PyNNRun(log: try readJSON(log), output: try readJSON(out), result: r)
    }
}

/// Latency coding of one test image of the synthetic bars, computed here from the definitions
/// (csnn-reference.md section 1), not with the binary's encoder: the 2-D DoG kernel on clamped
/// borders, on/off split, min-max per feature over the training images, `floor((1 - x) T)`.
func barsSpikeSteps(testImage index: Int, timesteps T: Int) -> [UInt8] {
    let n = SyntheticBars.side
    let kernel = dogKernel(size: 7, sigmaCenter: 1, sigmaSurround: 4)
    func filtered(_ img: ArraySlice<UInt8>) -> [Float] {
        let px = Array(img)
        var out = [Float](repeating: 0, count: n * n * 2)
        for y in 0..<n {
            for x in 0..<n {
                var v = 0.0
                for ky in 0..<7 {
                    for kx in 0..<7 {
                        let yy = min(max(y + ky - 3, 0), n - 1), xx = min(max(x + kx - 3, 0), n - 1)
                        v += kernel[ky * 7 + kx] * Double(px[yy * n + xx]) / 255
                    }
                }
                out[(y * n + x) * 2] = Float(max(0, v))
                out[(y * n + x) * 2 + 1] = Float(max(0, -v))
            }
        }
        return out
    }
    let train = SyntheticBars.images(count: SyntheticBars.trainCount, seed: 1).pixels
    var lo = [Float](repeating: .infinity, count: n * n * 2), hi = [Float](repeating: -.infinity, count: n * n * 2)
    for i in 0..<SyntheticBars.trainCount {
        let f = filtered(train[(i * n * n)..<((i + 1) * n * n)])
        for j in f.indices { lo[j] = min(lo[j], f[j]); hi[j] = max(hi[j], f[j]) }
    }
    let test = SyntheticBars.images(count: index + 1, seed: 2).pixels
    let f = filtered(test[(index * n * n)..<((index + 1) * n * n)])
    return f.indices.map { j in
        let span = hi[j] - lo[j]
        let x = span > 0 ? (f[j] - lo[j]) / span : 0
        if !(x > 0) { return 255 }
        let s = Int(((1 - min(x, 1)) * Float(T)).rounded(.down))
        return UInt8(min(max(s, 0), T - 1))
    }
}

/// A conv layer as its weights files hold it.
struct TrainedLayer {
    var weights: [Float], mask: [UInt8], thresholds: [Float]
    var kernel: Int, inChannels: Int, maps: Int
    init(run: URL, name: String, kernel: Int, inChannels: Int) throws {
        weights = try readFloats(run.appendingPathComponent("weights/\(name).weights.f32"))
        mask = try readBytes(run.appendingPathComponent("weights/\(name).mask.u8"))
        thresholds = try readFloats(run.appendingPathComponent("weights/\(name).thresholds.f32"))
        self.kernel = kernel; self.inChannels = inChannels; maps = thresholds.count
    }
    func at(_ ky: Int, _ kx: Int, _ c: Int, _ m: Int) -> (w: Float, kept: Bool) {
        let i = ((ky * kernel + kx) * inChannels + c) * maps + m
        return (weights[i], mask[i] != 0)
    }
    /// A slice with a kept non-zero weight.
    func live(_ c: Int, _ m: Int) -> Bool {
        (0..<kernel).contains { ky in (0..<kernel).contains { kx in let s = at(ky, kx, c, m); return s.kept && s.w != 0 } }
    }
}

/// Same shape, every value within 1e-12 relative (Foundation's JSON reader can be off by an ulp).
func nearlyEqual(_ a: [[Double]], _ b: [[Double]]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-12 * max(abs($0), abs($1)) }
    }
}

/// (pre, post, weight, delay) rows as a comparable set of strings (weights to 1e-6 relative).
func rowSet(_ rows: [[Double]]) -> [String] {
    rows.map { String(format: "%d %d %.6e %.3f", Int($0[0]), Int($0[1]), $0[2], $0[3]) }.sorted()
}

extension Integration {
    @Suite(.serialized) struct PyNNExports {
        @Test("one unstructured-pruned conv: FromList rows of the kept synapses, thresholds, input spike times, same spikes")
        func oneLayerFromList() async throws {
            let box = try Sandbox("pynn1")
            let config = try box.writeConfig(Configs.oneLayer(name: "bars", dataset: box.dataset), as: "bars.json")
            let runs = box.path("runs")
            let r = try await box.spinnprune(["train", config, "--runs-dir", runs.path])
            try #require(r.succeeded, "\(r)")
            let dir = runs.appendingPathComponent("bars")
            for f in ["spinnaker/pynn_network.py", "spinnaker/pynn/network.json", "spinnaker/pynn/inputs.npy",
                      "spinnaker/pynn/conv1.kernels.npy", "spinnaker/pynn/conv1.mask.npy", "spinnaker/pynn/expected_conv1.npy"] {
                #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f) missing")
            }
            let net = try readJSON(dir.appendingPathComponent("spinnaker/pynn/network.json"))
            #expect(number(lookup(net, "input", "count")) == Double(PyNNExport.defaultImages))
            #expect(lookup(net, "layers", 0, "connector") as? String == "from_list", "50 % unstructured pruning")
            let scale = try #require(number(lookup(net, "layers", 0, "weight_scale")))
            let runMs = try #require(number(lookup(net, "run_ms")))

            let py = try await box.runPyNNScript(run: dir, ["--images", "3"], tag: "1")
            let layer = try TrainedLayer(run: dir, name: "conv1", kernel: 5, inChannels: 2)

            // Populations: 2 input channels + 8 maps, 16x16 inputs and 12x12 maps, as Grid2D.
            let populationCount: Int = 2 + 8
            #expect(py.populations.count == populationCount)
            for c in 0..<2 {
                let p = try #require(py.population("input_c\(c)"))
                #expect(p["celltype"] as? String == "SpikeSourceArray")
                #expect(number(p["size"]) == 256)
                #expect(number(lookup(p, "structure", "aspect_ratio")) == 1)
            }
            for m in 0..<8 {
                let p = try #require(py.population("conv1_m\(m)"))
                #expect(p["celltype"] as? String == "IF_curr_delta")
                #expect(number(p["size"]) == 144)
                let vth = try #require(number(lookup(p, "params", "v_thresh")))
                #expect(abs(vth - Double(layer.thresholds[m]) * scale) <= 1e-9 * max(1, abs(vth)), "map \(m): v_thresh \(vth)")
                #expect(number(lookup(p, "params", "v_rest")) == 0 && number(lookup(p, "params", "v_reset")) == 0)
                #expect(number(lookup(p, "params", "tau_refrac")).map { $0 > runMs } == true, "refractory beyond the sample window")
                #expect(number(lookup(p, "params", "tau_m")).map { $0 >= 16 } == true)
            }

            // Image 0's input spike times, against the latency coding computed here.
            let steps = barsSpikeSteps(testImage: 0, timesteps: 16)
            #expect(steps.contains { $0 != 255 } && steps.contains { $0 == 255 })
            for c in 0..<2 {
                let times = try #require(lookup(py.population("input_c\(c)"), "params", "spike_times") as? [[Double]])
                let want: [[Double]] = (0..<256).map { steps[$0 * 2 + c] == 255 ? [] : [Double(steps[$0 * 2 + c])] }
                #expect(times == want, "input channel \(c): spike times differ from latency coding of test image 0")
            }

            // FromList rows: for every (c, m) slice, each kept non-zero weight at every output
            // position (cross-correlation, no flip), weight times the scale, delay 1 ms.
            var sawEmpty = false
            for c in 0..<2 {
                for m in 0..<8 {
                    var want: [[Double]] = []
                    for oy in 0..<12 { for ox in 0..<12 { for ky in 0..<5 { for kx in 0..<5 {
                        let s = layer.at(ky, kx, c, m)
                        if s.kept && s.w != 0 {
                            want.append([Double((oy + ky) * 16 + ox + kx), Double(oy * 12 + ox), Double(s.w) * scale, 1])
                        }
                    } } } }
                    let projs = py.projections(from: "input_c\(c)", to: "conv1_m\(m)")
                    if want.isEmpty {
                        sawEmpty = true
                        #expect(projs.isEmpty, "slice (\(c), \(m)) has no live synapse but a projection")
                        continue
                    }
                    try #require(projs.count == 1, "slice (\(c), \(m)): \(projs.count) projections")
                    #expect(projs[0]["connector"] as? String == "FromListConnector")
                    #expect(projs[0]["receptor_type"] as? String == "excitatory")
                    let rows = try #require(projs[0]["conn_list"] as? [[Double]])
                    #expect(rowSet(rows) == rowSet(want), "slice (\(c), \(m)): rows differ from the kept synapses")
                }
            }
            print("pynn one layer: a slice with no live synapse seen: \(sawEmpty)")

            // One run per sample with a reset between; the spikes the fake simulation gives are the
            // binary's own (exact non-leaky neurons).
            #expect(number(lookup(py.log, "resets")) == 2)
            #expect((lookup(py.log, "runs") as? [Any])?.count == 3)
            #expect((lookup(py.log, "sets") as? [[String: Any]])?.count == 4, "spike times set on 2 inputs for samples 1 and 2")
            let agreement = try #require(number(lookup(py.output, "layers", "conv1", "agreement")), "\(py.result)")
            #expect(agreement == 1, "conv1 spikes differ from the binary's simulation: agreement \(agreement)")
            let fired = (lookup(py.output, "layers", "conv1", "steps") as? [[Int]])?.flatMap { $0 }.filter { $0 >= 0 }.count ?? 0
            #expect(fired > 0, "no conv1 neuron fired: the comparison says nothing")

            // The non-leaky IFTruncDelta: V += w (tau_m = cm = 1), same thresholds, same spikes.
            let trunc = try await box.runPyNNScript(run: dir, ["--images", "1", "--neuron", "if_trunc_delta"], tag: "trunc")
            let p0 = try #require(trunc.population("conv1_m0"))
            #expect(p0["celltype"] as? String == "IFTruncDelta")
            #expect(number(lookup(p0, "params", "tau_m")) == 1 && number(lookup(p0, "params", "cm")) == 1)
            #expect(number(lookup(trunc.output, "layers", "conv1", "agreement")) == 1)
        }

        @Test("wta_infer: inhibitory projections between the maps of a position, weight the sum of the target's positive weights")
        func lateralInhibition() async throws {
            let box = try Sandbox("pynn-wta")
            let config = try box.writeConfig(Configs.twoLayers(name: "bars2", dataset: box.dataset), as: "bars2.json")
            let runs = box.path("runs")
            let r = try await box.spinnprune(["train", config, "--runs-dir", runs.path])
            try #require(r.succeeded, "\(r)")
            let dir = runs.appendingPathComponent("bars2")
            let net = try readJSON(dir.appendingPathComponent("spinnaker/pynn/network.json"))
            #expect(lookup(net, "layers", 2, "wta") as? Bool == true)
            let scale = try #require(number(lookup(net, "layers", 2, "weight_scale")))
            let conv2 = try TrainedLayer(run: dir, name: "conv2", kernel: 3, inChannels: 8)
            var mass = [Double](repeating: 0, count: 12)
            for i in conv2.weights.indices where conv2.mask[i] != 0 && conv2.weights[i] > 0 { mass[i % 12] += Double(conv2.weights[i]) }

            let py = try await box.runPyNNScript(run: dir, ["--images", "3"], tag: "wta")
            var inhibitory = 0
            for a in 0..<12 {
                for b in 0..<12 where a != b {
                    let projs = py.projections(from: "conv2_m\(a)", to: "conv2_m\(b)")
                    guard mass[b] > 0 else { #expect(projs.isEmpty); continue }
                    try #require(projs.count == 1, "conv2 \(a) -> \(b): \(projs.count) projections")
                    inhibitory += 1
                    #expect(projs[0]["receptor_type"] as? String == "inhibitory")
                    let rows = try #require(projs[0]["conn_list"] as? [[Double]])
                    let want = (0..<16).map { [Double($0), Double($0), mass[b] * scale, 1] }
                    #expect(rowSet(rows) == rowSet(want), "conv2 \(a) -> \(b)")
                }
            }
            #expect(inhibitory > 0)
            // Only ties can differ: the CSNN lets one map win at a position (earliest step, then
            // largest potential, then lowest map); here every map that reaches its threshold in that
            // first step fires (the inhibition arrives a step later), and no other.
            let agreement = try #require(number(lookup(py.output, "layers", "conv2", "agreement")))
            let fake = try #require(lookup(py.output, "layers", "conv2", "steps") as? [[Int]])
            let expectedFile = try Data(contentsOf: dir.appendingPathComponent("spinnaker/pynn/expected_conv2.npy"))
            let expected = [UInt8](expectedFile.dropFirst(10 + (Int(expectedFile[8]) | Int(expectedFile[9]) << 8)))
            var ties = 0, winners = 0
            for n in 0..<3 {
                for cell in 0..<16 {
                    let got = (0..<12).map { fake[n][cell * 12 + $0] }
                    let want = (0..<12).map { Int(expected[(n * 16 + cell) * 12 + $0]) }.map { $0 == 255 ? -1 : $0 }
                    let winner = want.indices.filter { want[$0] >= 0 }
                    #expect(winner.count <= 1, "the CSNN fired \(winner.count) maps at one position")
                    guard let w = winner.first else {
                        #expect(got.allSatisfy { $0 < 0 }, "sample \(n) cell \(cell): \(got) where the CSNN fired none")
                        continue
                    }
                    winners += 1
                    let fired = got.indices.filter { got[$0] >= 0 }
                    #expect(fired.contains(w) && fired.allSatisfy { got[$0] == want[w] },
                            "sample \(n) cell \(cell): fired \(got), the CSNN's winner map \(w) at step \(want[w])")
                    if fired.count > 1 { ties += 1 }
                }
            }
            print("pynn wta: conv2 agreement \(agreement), \(winners) positions with a winner, \(ties) ties")
            #expect(winners > 0)
            let without = try await box.runPyNNScript(run: dir, ["--images", "1", "--no-wta"], tag: "nowta")
            let wtaLabels = without.projections.compactMap { $0["label"] as? String }.filter { $0.contains("_wta_") }
            #expect(wtaLabels.isEmpty)
        }

        /// conv 5x5 8 maps and conv 3x3 12 maps pruned by whole kernel slices, max pooling after
        /// each, an fc layer pruned weight by weight: 16x16 -> 12x12x8 -> 6x6 -> 4x4x12 -> 2x2 -> 1x1x16.
        static func pooledConfig(dataset: URL) -> [String: Any] {
            var c = Configs.oneLayer(name: "pooled", dataset: dataset)
            var conv1 = Configs.conv("conv1", kernel: 5, maps: 8)
            conv1["pruning"] = ["final_sparsity": 0.5, "unit": "kernel", "ramp": "linear", "reinforcement": 1]
            var conv2 = Configs.conv("conv2", kernel: 3, maps: 12)
            conv2["pruning"] = ["final_sparsity": 0.6, "unit": "kernel", "ramp": "linear", "reinforcement": 1]
            conv2["threshold"] = ["init_mean": 4, "init_std": 0.1, "min": 1, "eta": 1, "target_time": 0.75]
            var fc = Configs.conv("fc1", kernel: 2, maps: 16)
            fc["threshold"] = ["init_mean": 3, "init_std": 0.1, "min": 1, "eta": 1, "target_time": 0.75]
            c["layers"] = [conv1, ["type": "pool", "name": "pool1", "window": 2, "stride": 2] as [String: Any],
                           conv2, ["type": "pool", "name": "pool2", "window": 2, "stride": 2] as [String: Any], fc]
            return c
        }

        @Test("kernel-pruned convs: ConvolutionConnector kernels rotated 180 degrees, pruned slices left out, pooling, fc, export-pynn")
        func pooledConvolution() async throws {
            let box = try Sandbox("pynn2")
            let config = try box.writeConfig(Self.pooledConfig(dataset: box.dataset), as: "pooled.json")
            let runs = box.path("runs")
            let r = try await box.spinnprune(["train", config, "--runs-dir", runs.path])
            try #require(r.succeeded, "\(r)")
            let dir = runs.appendingPathComponent("pooled")
            let net = try readJSON(dir.appendingPathComponent("spinnaker/pynn/network.json"))
            let names = (lookup(net, "layers") as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["conv1", "pool1", "conv2", "pool2", "fc1"])
            #expect(lookup(net, "layers", 0, "connector") as? String == "convolution")
            #expect(lookup(net, "layers", 2, "connector") as? String == "convolution")
            #expect(lookup(net, "layers", 4, "connector") as? String == "from_list")
            #expect(lookup(net, "layers", 4, "populations") as? String == "single")
            func scale(_ i: Int) throws -> Double { try #require(number(lookup(net, "layers", i, "weight_scale"))) }

            let py = try await box.runPyNNScript(run: dir, ["--images", "3", "--record-all"], tag: "conv")
            // Populations: 2 inputs, 8 + 8 maps (conv1, pool1), 12 + 12 (conv2, pool2), one for fc1.
            let populationCount: Int = 2 + 8 + 8 + 12 + 12 + 1
            #expect(py.populations.count == populationCount)
            #expect(number(py.population("pool1_m0")?["size"]) == 36 && number(py.population("conv2_m0")?["size"]) == 16)

            // Conv layers: one Convolution projection per live (c_in, map) slice, its kernel the
            // trained slice rotated by 180 degrees, times the layer's scale.
            var checkedFlip = false, sawPruned = false
            for (index, name, pre, cin, k, maps) in [(0, "conv1", "input_c", 2, 5, 8), (2, "conv2", "pool1_m", 8, 3, 12)] {
                let layer = try TrainedLayer(run: dir, name: name, kernel: k, inChannels: cin)
                #expect(layer.maps == maps)
                let s = try scale(index)
                var projected = 0
                for c in 0..<cin {
                    for m in 0..<maps {
                        let projs = py.projections(from: "\(pre)\(c)", to: "\(name)_m\(m)")
                        guard layer.live(c, m) else {
                            sawPruned = sawPruned || name == "conv2"
                            #expect(projs.isEmpty, "\(name) slice (\(c), \(m)) is pruned but has a projection")
                            continue
                        }
                        projected += 1
                        try #require(projs.count == 1, "\(name) slice (\(c), \(m)): \(projs.count) projections")
                        #expect(projs[0]["connector"] as? String == "ConvolutionConnector")
                        #expect(projs[0]["synapse_type"] as? String == "Convolution")
                        let kw = try #require(projs[0]["kernel_weights"] as? [[Double]])
                        let want = (0..<k).map { i in (0..<k).map { j in Double(layer.at(k - 1 - i, k - 1 - j, c, m).w) * s } }
                        #expect(nearlyEqual(kw, want), "\(name) slice (\(c), \(m)): kernel \(kw) is not the trained one rotated by 180 degrees, \(want)")
                        let asymmetric = (0..<k).contains { i in (0..<k).contains { j in want[i][j] != want[k - 1 - i][k - 1 - j] } }
                        checkedFlip = checkedFlip || asymmetric
                    }
                }
                #expect(projected == py.projections.filter { ($0["post"] as? String)?.hasPrefix("\(name)_m") == true }.count)
                for m in 0..<maps {
                    let vth = number(lookup(py.population("\(name)_m\(m)"), "params", "v_thresh"))
                    #expect(vth.map { abs($0 - Double(layer.thresholds[m]) * s) <= 1e-9 * max(1, abs($0)) } == true, "\(name) map \(m)")
                }
            }
            #expect(checkedFlip, "no asymmetric kernel: the flip was not tested")
            #expect(sawPruned, "conv2 prunes 60 % of its slices: some must have no projection")

            // Max pooling: each pooled neuron gets its 2x2 window at weight 2 x its threshold.
            let poolWeight = 2 * (try scale(1))
            for ch in [0, 7] {
                let projs = py.projections(from: "conv1_m\(ch)", to: "pool1_m\(ch)")
                try #require(projs.count == 1)
                var want: [[Double]] = []
                for oy in 0..<6 { for ox in 0..<6 { for wy in 0..<2 { for wx in 0..<2 {
                    want.append([Double((oy * 2 + wy) * 12 + ox * 2 + wx), Double(oy * 6 + ox), poolWeight, 1])
                } } } }
                #expect(rowSet(projs[0]["conn_list"] as? [[Double]] ?? []) == rowSet(want))
                #expect(number(lookup(py.population("pool1_m\(ch)"), "params", "v_thresh")) == poolWeight / 2)
            }

            // fc1: one population of 16 neurons (neuron m = map m), FromList rows per input map.
            let fc = try TrainedLayer(run: dir, name: "fc1", kernel: 2, inChannels: 12)
            let fcScale = try scale(4)
            let vth = try #require(lookup(py.population("fc1"), "params", "v_thresh") as? [Double])
            #expect(vth.count == 16)
            let fcThresholdsMatch = zip(vth, fc.thresholds).allSatisfy { (v: Double, t: Float) -> Bool in
                abs(v - Double(t) * fcScale) <= 1e-9 * max(1, abs(v))
            }
            #expect(fcThresholdsMatch)
            for c in 0..<12 {
                var want: [[Double]] = []
                for y in 0..<2 { for x in 0..<2 { for m in 0..<16 {
                    let s = fc.at(y, x, c, m)
                    if s.kept && s.w != 0 { want.append([Double(y * 2 + x), Double(m), Double(s.w) * fcScale, 1]) }
                } } }
                let projs = py.projections(from: "pool2_m\(c)", to: "fc1")
                #expect(projs.count == (want.isEmpty ? 0 : 1))
                if let rows = projs.first?["conn_list"] as? [[Double]] { #expect(rowSet(rows) == rowSet(want), "fc1 input map \(c)") }
            }

            // Every layer fires as in the binary's simulation.
            var anyFc = false
            for name in names ?? [] {
                let a = number(lookup(py.output, "layers", name, "agreement"))
                #expect(a == 1, "\(name): agreement \(String(describing: a))\n\(py.result)")
                let steps = (lookup(py.output, "layers", name, "steps") as? [[Int]])?.flatMap { $0 } ?? []
                if name == "fc1" { anyFc = steps.contains { $0 >= 0 } }
            }
            print("pynn pooled: fc1 fired on some sample: \(anyFc)")

            // The same network with FromListConnector everywhere gives the same spikes.
            let lists = try await box.runPyNNScript(run: dir, ["--images", "2", "--connector", "from_list"], tag: "list")
            #expect(!lists.projections.contains { $0["connector"] as? String == "ConvolutionConnector" })
            #expect(number(lookup(lists.output, "layers", "fc1", "agreement")) == 1)

            // export-pynn writes the export again from the run directory, with 5 samples: the same
            // inputs as train's first 5.
            let trainInputs = try Data(contentsOf: dir.appendingPathComponent("spinnaker/pynn/inputs.npy"))
            try FileManager.default.removeItem(at: dir.appendingPathComponent("spinnaker/pynn"))
            let e = try await box.spinnprune(["export-pynn", dir.path, "--images", "5"])
            try #require(e.succeeded, "\(e)")
            let again = try readJSON(dir.appendingPathComponent("spinnaker/pynn/network.json"))
            #expect(number(lookup(again, "input", "count")) == 5)
            let inputs = try Data(contentsOf: dir.appendingPathComponent("spinnaker/pynn/inputs.npy"))
            let body = 16 * 16 * 2
            #expect(inputs.suffix(5 * body) == trainInputs.dropFirst(trainInputs.count - 32 * body).prefix(5 * body))
            #expect(lookup(again, "layers", 2, "weight_scale") as? Double == lookup(net, "layers", 2, "weight_scale") as? Double)
        }
    }
}
