import Foundation
import SpikeCluster
import SpikeData
import SpikeModel
import SpiNNakerMapping

// PyNN export for sPyNNaker 7.x: `spinnaker/pynn_network.py` and the data it reads,
// `spinnaker/pynn/`. What is written, and why, is in docs/PYNN.md.

/// The samples an export replays on SpiNNaker: the first test images' input spike times (HWC, step
/// `0..<T` or `noSpike`) and their labels.
struct PyNNSamples {
    var shape: Shape
    var times: [UInt8]
    var labels: [Int]
    var count: Int { labels.count }

    init(shape: Shape, times: [UInt8], labels: [Int]) {
        precondition(times.count == labels.count * shape.count)
        self.shape = shape; self.times = times; self.labels = labels
    }

    /// The first `limit` samples of `data`.
    init(_ data: SpikeDataset, labels: [UInt8], limit: Int) {
        let n = max(0, min(limit, data.count, labels.count))
        self.init(shape: data.shape, times: Array(data.times[0..<(n * data.shape.count)]),
                  labels: labels.prefix(n).map(Int.init))
    }
}

/// A trained conv layer: what `weights/` holds for it.
struct PyNNTrainedConv {
    var weights: [Float]
    var mask: [UInt8]
    var thresholds: [Float]
}

/// Everything an export needs, and the files it makes.
struct PyNNExport {
    /// Test images the train stage exports (the script replays any first N of them).
    static let defaultImages = 32

    enum Layer {
        case conv(ConvSpec, input: Shape, PyNNTrainedConv)
        case pool(PoolSpec, input: Shape)

        var name: String {
            switch self { case .conv(let c, _, _): c.name; case .pool(let p, _): p.name }
        }
        var input: Shape {
            switch self { case .conv(_, let s, _), .pool(_, let s): s }
        }
        var output: Shape {
            switch self { case .conv(let c, let s, _): c.outputShape(s); case .pool(let p, let s): p.outputShape(s) }
        }
    }

    var timesteps: Int
    var input: Shape
    var layers: [Layer]
    var samples: PyNNSamples
    /// Each layer's output for every sample, from this tool's own simulation (`[image][y][x][c]`),
    /// when known; the script compares SpiNNaker's spikes with it.
    var expected: [String: [UInt8]] = [:]

    init(timesteps: Int, input: Shape, layers: [Layer], samples: PyNNSamples) {
        self.timesteps = timesteps; self.input = input; self.layers = layers; self.samples = samples
    }

    /// The layers of `config` with their trained weights (`trained` by conv layer name).
    init(config: ExperimentConfig, input: Shape, trained: [String: PyNNTrainedConv], samples: PyNNSamples) throws {
        timesteps = config.timesteps
        self.input = input
        self.samples = samples
        var shape = input
        var list: [Layer] = []
        for l in config.layers {
            switch l.spec {
            case .conv(let c):
                guard let t = trained[c.name] else { throw RunError("PyNN export: no trained weights for layer \(c.name)") }
                let n = c.kernel * c.kernel * shape.channels * c.maps
                guard t.weights.count == n, t.mask.count == n, t.thresholds.count == c.maps else {
                    throw RunError("PyNN export: \(c.name) has \(t.weights.count) weights, \(t.mask.count) mask bytes and "
                        + "\(t.thresholds.count) thresholds; its shape needs \(n), \(n) and \(c.maps)")
                }
                list.append(.conv(c, input: shape, t))
            case .pool(let p):
                list.append(.pool(p, input: shape))
            }
            shape = l.spec.outputShape(shape)
        }
        layers = list
    }

    // MARK: Kernels

    /// A `k x k` kernel (row-major) rotated by 180 degrees: sPyNNaker's ConvolutionConnector applies
    /// its kernel as a true convolution, the CSNN as a cross-correlation.
    static func rotate180<T>(_ kernel: [T], size k: Int) -> [T] {
        precondition(kernel.count == k * k)
        return Array(kernel.reversed())
    }

    /// Values of a `[ky][kx][c_in][map]` layer regrouped as `[c_in][map][i][j]`, each `k x k` slice
    /// rotated by 180 degrees (`i = k - 1 - ky`, `j = k - 1 - kx`).
    static func flippedSlices<T>(_ values: [T], kernel k: Int, inChannels cin: Int, maps: Int) -> [T] {
        precondition(values.count == k * k * cin * maps)
        var out: [T] = []
        out.reserveCapacity(values.count)
        for c in 0..<cin {
            for m in 0..<maps {
                var slice: [T] = []
                slice.reserveCapacity(k * k)
                for ky in 0..<k { for kx in 0..<k { slice.append(values[((ky * k + kx) * cin + c) * maps + m]) } }
                out += rotate180(slice, size: k)
            }
        }
        return out
    }

    /// sPyNNaker 7.4.1's ConvolutionConnector post shape along one axis (no pooling in the
    /// connector): `((n // pool_stride) - (k - 1) + 2 pad) // stride` with `pool_stride = 1`. It is the
    /// usual `(n + 2 pad - k) // stride + 1` when stride is 1, and can be one less when stride > 1.
    static func spinnakerPostSize(input n: Int, kernel k: Int, stride: Int, pad: Int) -> Int {
        let span = n - (k - 1) + 2 * pad
        return span >= 0 ? span / stride : -((-span + stride - 1) / stride)
    }

    /// Per `(c_in, map)` slice of a conv layer: synapses kept by the mask, and live ones (kept with a
    /// non-zero weight: the only ones that change a potential).
    struct SliceCounts {
        var full = 0, partial = 0, empty = 0, live = 0
        /// Slices with at least one live synapse: the projections of the layer.
        var projected = 0
    }

    static func sliceCounts(weights: [Float], mask: [UInt8], kernel k: Int, inChannels cin: Int, maps: Int) -> SliceCounts {
        var s = SliceCounts()
        for c in 0..<cin {
            for m in 0..<maps {
                var kept = 0, live = 0
                for p in 0..<(k * k) {
                    let i = (p * cin + c) * maps + m
                    if mask[i] != 0 { kept += 1; if weights[i] != 0 { live += 1 } }
                }
                if kept == k * k { s.full += 1 } else if kept == 0 { s.empty += 1 } else { s.partial += 1 }
                s.live += live
                if live > 0 { s.projected += 1 }
            }
        }
        return s
    }

    /// Largest input one neuron of each map can get in one timestep, in weight units: the sum of
    /// the map's positive live weights.
    static func positiveMass(weights: [Float], mask: [UInt8], maps: Int) -> [Double] {
        var mass = [Double](repeating: 0, count: maps)
        for i in weights.indices where mask[i] != 0 && weights[i] > 0 { mass[i % maps] += Double(weights[i]) }
        return mass
    }

    // MARK: Neuron scaling

    /// Membrane time constant and weight scale of a layer's IF_curr_delta neurons.
    ///
    /// sPyNNaker's LIF updates `V <- alpha - e (alpha - V)` with `alpha = I tau_m / c_m`,
    /// `e = exp(-dt / tau_m)`, in s16.15 fixed point (|x| < 65536, resolution 2^-15). With
    /// `c_m = 1 nF`, `dt = 1 ms`, a delta input of `w` nA raises V by `w` mV, less a leak of `V dt / tau_m`
    /// per step. A long `tau_m` makes the leak small, but `alpha` (the step's input times `tau_m`)
    /// must stay in range: with the weights scaled by `s`, `s * bound * tau_m <= 2^15`. The rounding
    /// of V (2^-15 mV a step) is relative to the scaled threshold `s * th`. Balancing the two
    /// errors gives `tau_m ~ 2^15.5 sqrt(th / bound)`; both `tau_m` and `s` are powers of two so
    /// `e`, `tau_m / c_m` and the scaled weights are exact.
    static func scaling(stepBound: Double, minThreshold: Double) -> (tauM: Double, weightScale: Double) {
        let bound = max(stepBound, 1e-6), th = max(minThreshold, 1e-6)
        let ideal = pow(2, 15.5) * (th / bound).squareRoot()
        let tauExp = min(15, max(4, Int(log2(ideal).rounded(.down))))
        let tau = pow(2, Double(tauExp))
        let scaleExp = Int(log2(pow(2, 15) / (bound * tau)).rounded(.down))
        return (tau, pow(2, Double(min(max(scaleExp, -40), 20))))
    }

    // MARK: Files

    /// `.npy` version 1.0 (little-endian, C order): header padded so the data starts at a multiple of 64.
    static func npy(descr: String, shape: [Int], body: Data) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let fixed = 10
        let total = (fixed + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - fixed - header.utf8.count - 1) + "\n"
        var d = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let n = UInt16(header.utf8.count)
        d.append(UInt8(n & 0xff)); d.append(UInt8(n >> 8))
        d.append(Data(header.utf8))
        d.append(body)
        return d
    }

    static func npy(_ values: [Float], shape: [Int]) -> Data {
        #if _endian(little)
        let body = values.withUnsafeBufferPointer { Data(buffer: $0) }
        #else
        var body = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        #endif
        return npy(descr: "<f4", shape: shape, body: body)
    }

    static func npy(_ values: [UInt8], shape: [Int]) -> Data {
        npy(descr: "|u1", shape: shape, body: Data(values))
    }

    /// A Float as JSON: its exact value as a Double (shortest decimal that reads back to it).
    static func json(_ f: Float) -> Double { Double(f) }

    /// The files of the export, paths relative to the run's `spinnaker/` directory.
    func files() throws -> [(path: String, data: Data)] {
        var out: [(path: String, data: Data)] = []
        let T = timesteps
        out.append(("pynn/inputs.npy", Self.npy(samples.times, shape: [samples.count, input.height, input.width, input.channels])))
        var layerJSON: [[String: Any]] = []
        var previousSingle = input.height == 1 && input.width == 1
        for (index, layer) in layers.enumerated() {
            let hops = index + 1
            let out1x1 = layer.output.height == 1 && layer.output.width == 1
            var o: [String: Any] = [
                "name": layer.name, "index": index, "hops": hops,
                "input": [layer.input.height, layer.input.width, layer.input.channels],
                "output": [layer.output.height, layer.output.width, layer.output.channels],
                // One Grid2D population per map, or (a 1x1 output: an fc layer) one population whose
                // neuron m is map m.
                "populations": out1x1 ? "single" : "maps",
                "cm": 1.0,
            ]
            if let e = expected[layer.name] {
                let path = "pynn/expected_\(layer.name).npy"
                out.append((path, Self.npy(e, shape: [samples.count, layer.output.height, layer.output.width, layer.output.channels])))
                o["expected_file"] = path
            }
            switch layer {
            case .conv(let c, let inShape, let t):
                let k = c.kernel, cin = inShape.channels
                let counts = Self.sliceCounts(weights: t.weights, mask: t.mask, kernel: k, inChannels: cin, maps: c.maps)
                let mass = Self.positiveMass(weights: t.weights, mask: t.mask, maps: c.maps)
                let wta = c.inhibitInference && c.maps > 1
                let maxMass = max(mass.max() ?? 0, 1e-3)
                let bound = maxMass * (wta ? Double(c.maps - 1) : 1)
                let positive = t.thresholds.filter { $0 > 0 }.map(Double.init)
                let (tau, scale) = Self.scaling(stepBound: bound, minThreshold: positive.min() ?? 1)
                let postH = Self.spinnakerPostSize(input: inShape.height, kernel: k, stride: c.stride, pad: c.pad)
                let postW = Self.spinnakerPostSize(input: inShape.width, kernel: k, stride: c.stride, pad: c.pad)
                let shapeOK = postH == layer.output.height && postW == layer.output.width
                let convolution = !out1x1 && !previousSingle && shapeOK
                let connector: String, reason: String
                if out1x1 {
                    (connector, reason) = ("from_list", "fc layer (1x1 output): one population, FromListConnector rows per input map")
                } else if previousSingle {
                    (connector, reason) = ("from_list", "the input is a single (1x1) population")
                } else if !shapeOK {
                    (connector, reason) = ("from_list", "sPyNNaker 7.4.1's ConvolutionConnector post shape is \(postH)x\(postW), the layer's output \(layer.output.height)x\(layer.output.width)")
                } else if counts.partial > 0 {
                    (connector, reason) = ("from_list", "unstructured pruning: \(counts.partial) kernel slices are partly pruned")
                } else {
                    (connector, reason) = ("convolution", "every kernel slice is whole or entirely pruned")
                }
                let weightsPath = "pynn/\(c.name).kernels.npy", maskPath = "pynn/\(c.name).mask.npy"
                out.append((weightsPath, Self.npy(Self.flippedSlices(t.weights, kernel: k, inChannels: cin, maps: c.maps),
                                                  shape: [cin, c.maps, k, k])))
                out.append((maskPath, Self.npy(Self.flippedSlices(t.mask, kernel: k, inChannels: cin, maps: c.maps),
                                               shape: [cin, c.maps, k, k])))
                o["type"] = "conv"
                o["kernel"] = k; o["stride"] = c.stride; o["pad"] = c.pad; o["maps"] = c.maps
                o["kernels_file"] = weightsPath; o["mask_file"] = maskPath
                o["connector"] = connector; o["connector_reason"] = reason
                o["convolution_possible"] = convolution
                o["spinnaker_post_shape"] = [postH, postW]
                o["slices"] = ["whole": counts.full, "partial": counts.partial, "pruned": counts.empty,
                               "projected": counts.projected, "live_synapses": counts.live]
                o["thresholds"] = t.thresholds.map(Self.json)
                o["weight_scale"] = scale
                o["v_thresh"] = t.thresholds.map { Double($0) * scale }
                o["tau_m"] = tau
                o["step_bound"] = bound
                o["wta"] = wta
                if wta { o["wta_weight"] = mass.map { $0 * scale } }
            case .pool(let p, _):
                // First-spike OR: any input spike (weight 2) crosses the threshold (1).
                let bound = 2.0 * Double(p.window * p.window)
                let (tau, scale) = Self.scaling(stepBound: bound, minThreshold: 1)
                o["type"] = "pool"
                o["window"] = p.window; o["stride"] = p.stride; o["pad"] = p.pad
                o["connector"] = "from_list"
                o["connector_reason"] = "max pooling: sPyNNaker pools by averaging only"
                o["weight_scale"] = scale
                o["weight"] = 2 * scale
                o["v_thresh"] = [Double](repeating: scale, count: layer.output.channels)
                o["tau_m"] = tau
                o["step_bound"] = bound
            }
            layerJSON.append(o)
            previousSingle = out1x1
        }
        let hops = layers.count
        // A sample's last spikes leave the last layer at step T - 1 + hops; one more step of margin.
        let runMs = T + hops + 1
        let network: [String: Any] = [
            "format": "spinnprune-pynn", "version": 1, "generator": "spinnprune \(spinnpruneVersion)",
            "timesteps": T, "timestep_ms": 1.0, "run_ms": runMs, "refractory_ms": runMs + 1,
            "input": ["shape": [input.height, input.width, input.channels], "file": "pynn/inputs.npy",
                      "count": samples.count, "labels": samples.labels, "no_spike": Int(noSpike)],
            "layers": layerJSON,
            "post_shape_rule": "sPyNNaker 7.4.1 ConvolutionConnector: ((n // pool_stride) - (k - 1) + 2 pad) // stride",
        ]
        let json = try JSONSerialization.data(withJSONObject: network, options: [.prettyPrinted, .sortedKeys])
        out.append(("pynn/network.json", json + Data("\n".utf8)))
        out.append(("pynn_network.py", Data(pynnScript.utf8)))
        return out
    }

    /// Writes the files into `directory` (the run's `spinnaker/`), each atomically.
    func write(to directory: URL) throws {
        let all = try files()
        for (path, data) in all {
            let url = directory.appendingPathComponent(path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try writeAtomically(data, to: url)
            } catch {
                throw RunError("PyNN export: cannot write \(url.path): \(error)")
            }
        }
    }

    // MARK: Expected output

    /// Runs the samples through the trained layers with this tool's simulator (one process), and
    /// keeps every layer's output it sees: each conv output, and the output of the last pool after
    /// it.
    mutating func simulate(batchSize: Int = 64) {
        var data = SpikeDataset(shape: samples.shape, count: samples.count, times: samples.times)
        let comm = LocalCommunicator()
        var stats = ForwardStats()
        var i = 0, convIndex = 0
        while i < layers.count {
            guard case .conv(let spec, let inShape, let t) = layers[i] else { return }
            var pools: [PoolSpec] = []
            var j = i + 1
            while j < layers.count, case .pool(let p, _) = layers[j] { pools.append(p); j += 1 }
            let slice = ConvSlice(spec: spec, input: inShape, maps: 0..<spec.maps, seed: 0, layerIndex: convIndex)
            slice.weights = t.weights
            slice.mask = t.mask
            slice.thresholds = t.thresholds
            let convShape = slice.output
            var conv = [UInt8](repeating: noSpike, count: samples.count * convShape.count)
            let out = runStage(Stage(conv: slice, pools: pools), on: data, timesteps: timesteps, batchSize: batchSize,
                               exchange: true, comm: comm, stats: &stats, inspectConv: { image, times in
                for (n, v) in times.enumerated() { conv[image * convShape.count + n] = v }
            })
            expected[spec.name] = conv
            guard let out else { return }
            if let last = pools.last { expected[last.name] = out.times }
            data = out
            convIndex += 1
            i = j
        }
    }
}

/// Train's last stage: the export of the trained layers (`saved`: name, weights, mask, thresholds)
/// and of the first test samples, into the run's `spinnaker/` directory.
func writePyNNExport(config: ExperimentConfig, input: Shape, saved: [(String, [Float], [UInt8], [Float], ConvSlice)],
                     samples: PyNNSamples, to directory: URL) throws {
    var trained: [String: PyNNTrainedConv] = [:]
    for (name, w, m, th, _) in saved { trained[name] = PyNNTrainedConv(weights: w, mask: m, thresholds: th) }
    var export = try PyNNExport(config: config, input: input, trained: trained, samples: samples)
    export.simulate(batchSize: config.batchSize)
    try export.write(to: directory)
}

/// `spinnprune export-pynn <run-dir>`: the export again from a run directory, with `images` test
/// samples (encoded as train encodes them: the scaling fitted on the training set).
public func exportPyNN(runDirectory: String, images: Int) throws -> String {
    let dir = URL(fileURLWithPath: runDirectory)
    let configURL = dir.appendingPathComponent("config.json")
    guard FileManager.default.fileExists(atPath: configURL.path) else {
        throw RunError("\(runDirectory) is not a run directory: it has no config.json")
    }
    let run = try PreparedRun(TrainOptions(configPath: configURL.path))
    let config = run.config
    var trained: [String: PyNNTrainedConv] = [:]
    for l in config.layers {
        guard case .conv(let c) = l.spec else { continue }
        func read(_ file: String) throws -> Data {
            let url = dir.appendingPathComponent("weights/\(c.name).\(file)")
            do { return try Data(contentsOf: url) } catch { throw RunError("cannot read \(url.path): \(error.localizedDescription)") }
        }
        func floats(_ d: Data) -> [Float] {
            stride(from: 0, to: d.count - d.count % 4, by: 4).map { o in
                Float(bitPattern: UInt32(d[d.startIndex + o]) | UInt32(d[d.startIndex + o + 1]) << 8
                      | UInt32(d[d.startIndex + o + 2]) << 16 | UInt32(d[d.startIndex + o + 3]) << 24)
            }
        }
        trained[c.name] = PyNNTrainedConv(weights: floats(try read("weights.f32")), mask: [UInt8](try read("mask.u8")),
                                          thresholds: floats(try read("thresholds.f32")))
    }
    let encoder = Encoder(config: config, comm: LocalCommunicator())
    let (_, range) = encoder.encode(run.train, range: nil)
    let test = run.test.prefix(images)
    let (testData, _) = encoder.encode(test, range: range)
    let samples = PyNNSamples(testData, labels: test.labels, limit: images)
    var export = try PyNNExport(config: config, input: run.shapes[0], trained: trained, samples: samples)
    export.simulate(batchSize: config.batchSize)
    let out = dir.appendingPathComponent("spinnaker")
    try export.write(to: out)
    return out.appendingPathComponent("pynn_network.py").path
}
