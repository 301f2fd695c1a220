import Foundation
import SpikeData
import SpikeModel
import SpikeCompression

/// One experiment, as read from `configs/*.json` and validated. See docs/CONFIG.md.
public struct ExperimentConfig: Sendable {
    public struct Dataset: Sendable {
        /// `idx` (MNIST, Fashion-MNIST), `cifar10` or `stl10` (their official binary versions), or
        /// `caltech` (folders of JPEG files).
        public var format: String
        public var path: String
        public var trainLimit: Int?
        public var testLimit: Int?
        /// The folders, split and image size of a `caltech` data set.
        public var caltech: CaltechDataset.Options?
    }
    public struct DoG: Sendable {
        public var size: Int
        public var sigmaCenter: Double
        public var sigmaSurround: Double
        /// Colour-opponent planes (luminance, red/green, yellow/blue) instead of one DoG per channel.
        public var opponent: Bool = false
    }
    public struct Layer: Sendable {
        public var spec: LayerSpec
        public var pruning: PruningSchedule?
    }
    public struct Readout: Sendable {
        public var grid: Int
        public var C: Double
        public var epsilon: Double
        public var solver: String
        /// An SVM on every conv layer's output, or on the last one only.
        public var everyLayer: Bool
        /// One binary SVM per pair of classes, voting (libsvm's scheme, the reference's), or one per class.
        public enum Multiclass: String, Sendable { case oneVsOne = "ovo", oneVsRest = "ovr" }
        public var multiclass: Multiclass = .oneVsOne
        /// Write each read-out layer's scaled features to the run directory (for other classifiers).
        public var saveFeatures: Bool = false
    }
    public struct SpiNNaker: Sendable {
        /// Off for networks no described machine can hold yet (multi-board machines: issue 5).
        public var enabled: Bool = true
        public var machine: String
        public var neuronsPerCore: Int
        /// `simple`, `hilbert` or `best` (both, the shorter total routing distance kept).
        public var placer: String = "best"
        public var nerRadius: Int = 20
        /// Test images run through the mapped network to count packets (0: no traffic emulation).
        public var trafficImages: Int = 100
    }

    public var name: String
    public var seed: UInt64
    public var dataset: Dataset
    public var dog: DoG
    /// Patch whitening instead of the DoG (`preprocess.whitening`).
    public var whitening: Whitening?
    public var timesteps: Int
    public var layers: [Layer]
    public var readout: Readout
    public var spinnaker: SpiNNaker
    public var batchSize: Int
    /// `distribution.groups`: the ranks form groups that share out the images of the feature
    /// extraction (docs/METHOD.md): one group per rank by default, or a count that must divide the
    /// rank count (checked when a job starts).
    public var groups: RankGrouping = .perRank
    /// The resolved config, every default filled in, as written to the run directory.
    public var resolved: [String: Any] { resolvedJSON.value }
    var resolvedJSON: JSONBox

    /// The layer the SVM reads: the output of the last convolution (before any pooling after it).
    public var lastConvName: String {
        layers.last { if case .conv = $0.spec { return true } else { return false } }!.spec.name
    }

    public var readoutTargetTime: Float {
        for l in layers.reversed() { if case .conv(let c) = l.spec { return c.thresholds.targetTime } }
        return 0.75
    }

    /// A run name is a single, visible path component.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    /// Reads and validates a config file; relative paths resolve against the current directory.
    public static func load(_ url: URL) throws -> ExperimentConfig {
        let r = try ConfigReader.load(url)
        let name = try r.string("name")
        guard isValidName(name) else {
            throw r.fail("name", "use letters, digits, '-', '_' and '.' only (it names the run directory)")
        }
        let seed = try r.int("seed", default: 1, min: 0)
        let timesteps = try r.int("timesteps", default: 32, min: 1, max: 254)
        let batch = try r.int("batch_size", default: 256, min: 1, max: 1 << 20)

        let d = try r.object("dataset")!
        let format = try d.string("format", default: "idx", oneOf: ["idx", "cifar10", "stl10", "caltech"])
        var dataset = Dataset(format: format, path: try d.string("path"), trainLimit: try d.optionalInt("train_limit", min: 1),
                              testLimit: try d.optionalInt("test_limit", min: 1))
        dataset.caltech = try readCaltech(d, format: format, seed: UInt64(seed))
        try d.rejectUnknownKeys()

        let p = try r.object("preprocess", required: false)
        let g = try p?.object("dog", required: false)
        var dog = DoG(size: try g?.int("size", default: 7, min: 1, max: 63) ?? 7,
                      sigmaCenter: try g?.double("sigma_center", default: 1, min: 0, max: 1000, openMin: true) ?? 1,
                      sigmaSurround: try g?.double("sigma_surround", default: 4, min: 0, max: 1000, openMin: true) ?? 4)
        dog.opponent = (try g?.string("colour", default: "per_channel", oneOf: ["per_channel", "opponent"]) ?? "per_channel") == "opponent"
        if let g {
            if dog.size % 2 == 0 { throw g.fail("size", "must be odd (the kernel is centred on a pixel), got \(dog.size)") }
            if dog.sigmaCenter >= dog.sigmaSurround {
                throw g.fail("sigma_center", "must be below sigma_surround (\(dog.sigmaSurround)): an equal pair filters every image to zero")
            }
            try g.rejectUnknownKeys()
        }
        let whitening = try readWhitening(p, dog: g)
        try p?.rejectUnknownKeys()

        var layers: [Layer] = []
        let list = try r.array("layers")
        if list.isEmpty { throw r.fail("layers", "needs at least one layer") }
        var names = Set<String>()
        for (i, l) in list.enumerated() {
            let type = try l.string("type", oneOf: ["conv", "pool"])
            let lname = try l.string("name", default: type == "conv" ? "conv\(i + 1)" : "pool\(i + 1)")
            if !names.insert(lname).inserted { throw l.fail("name", "\"\(lname)\" is used by two layers") }
            if type == "pool" {
                if i == 0 { throw l.fail("type", "the first layer must be a convolution") }
                let w = try l.int("window", min: 1)
                layers.append(Layer(spec: .pool(PoolSpec(name: lname, window: w, stride: try l.int("stride", default: w, min: 1),
                                                         pad: try l.int("pad", default: 0, min: 0))), pruning: nil))
                try l.rejectUnknownKeys()
                continue
            }
            let epochs = try l.int("epochs", min: 0)
            let s = try l.object("stdp")!
            let rule = STDPRule(rawValue: try s.string("rule", oneOf: STDPRule.allCases.map(\.rawValue)))!
            // Each rule takes its own parameters; a parameter of another rule is a mistake.
            for key in ["b", "tau", "a_minus"] where s.has(key) && !rule.parameters.contains(key) {
                let users = STDPRule.allCases.filter { $0.parameters.contains(key) }.map(\.rawValue)
                throw s.fail(key, "applies to the \(users.joined(separator: " and ")) rule\(users.count > 1 ? "s" : "") only, not \(rule.rawValue)")
            }
            let a = try s.double("a", default: 0.1, min: 0, max: 1)
            let stdp = STDP(rule: rule, a: Float(a),
                            b: Float(try s.double("b", default: rule.parameters.contains("b") ? 1 : 0, min: -100, max: 100)),
                            tau: Float(try s.double("tau", default: 0.1, min: 0, max: 100, openMin: true)),
                            aMinus: Float(try s.double("a_minus", default: a, min: 0, max: 1)))
            try s.rejectUnknownKeys()
            let t = try l.object("threshold")!
            // Thresholds live in weight units: a sum of at most kernel^2 * c_in weights in [0, 1].
            let adaptation = ThresholdAdaptation(eta: Float(try t.double("eta", default: 1, min: 0, max: 1e4)),
                                                 targetTime: Float(try t.double("target_time", min: 0, max: 1, openMax: true)),
                                                 minThreshold: Float(try t.double("min", default: 1, min: 0, max: 1e6)),
                                                 lowerOnSilence: try t.string("on_silence", default: "keep", oneOf: ["keep", "lower"]) == "lower")
            let thMean = try t.double("init_mean", min: 0, max: 1e6, openMin: true)
            let thStd = try t.double("init_std", default: 0.1, min: 0, max: 1e6)
            try t.rejectUnknownKeys()
            let wi = try l.object("weights", required: false)
            let initKind = try wi?.string("init", default: "uniform", oneOf: ["uniform", "normal"]) ?? "uniform"
            var wLow = 0.0, wHigh = 1.0
            var normal: (mean: Float, std: Float)?
            if let wi, initKind == "normal" {
                normal = (Float(try wi.double("mean", min: 0, max: 1)), Float(try wi.double("std", min: 0, max: 10)))
            } else if let wi {
                wLow = try wi.double("low", default: 0, min: 0, max: 1)
                wHigh = try wi.double("high", default: 1, min: 0, max: 1)
                if wLow > wHigh { throw wi.fail("low", "must not exceed weights.high") }
            }
            try wi?.rejectUnknownKeys()
            var spec = ConvSpec(name: lname, kernel: try l.int("kernel", min: 1), stride: try l.int("stride", default: 1, min: 1),
                                pad: try l.int("pad", default: 0, min: 0), maps: try l.int("maps", min: 1, max: 1 << 20),
                                epochs: epochs, stdp: stdp, thresholds: adaptation,
                                initialThresholdMean: Float(thMean), initialThresholdStd: Float(thStd),
                                weightLow: Float(wLow), weightHigh: Float(wHigh),
                                anneal: Float(try l.double("anneal", default: 0.95, min: 0, max: 1)))
            spec.weightNormal = normal
            spec.inhibitInference = try l.bool("wta_infer", default: false)
            var pruning: PruningSchedule?
            if let pr = try l.object("pruning", required: false) {
                pruning = try readPruning(pr, epochs: epochs)
            }
            layers.append(Layer(spec: .conv(spec), pruning: pruning))
            try l.rejectUnknownKeys()
        }

        let ro = try r.object("readout", required: false)
        var readout = Readout(grid: try ro?.int("grid", default: 2, min: 1, max: 64) ?? 2,
                              C: try ro?.double("C", default: 1, min: 0, max: 1e6, openMin: true) ?? 1,
                              epsilon: try ro?.double("epsilon", default: 0.001, min: 0, openMin: true) ?? 0.001,
                              solver: try ro?.string("solver", default: "primal", oneOf: ["primal", "dual", "hinge"]) ?? "primal",
                              everyLayer: (try ro?.string("layers", default: "all", oneOf: ["all", "last"]) ?? "all") == "all")
        readout.multiclass = Readout.Multiclass(rawValue: try ro?.string("multiclass", default: "ovo", oneOf: ["ovo", "ovr"]) ?? "ovo")!
        readout.saveFeatures = try ro?.bool("save_features", default: false) ?? false
        try ro?.rejectUnknownKeys()
        let sp = try r.object("spinnaker", required: false)
        var spinn = SpiNNaker(machine: try sp?.string("machine", default: "cluster-configs/machines/spinn5.json")
                                  ?? "cluster-configs/machines/spinn5.json",
                              neuronsPerCore: try sp?.int("neurons_per_core", default: 256, min: 1, max: 2048) ?? 256)
        spinn.enabled = try sp?.bool("enabled", default: true) ?? true
        spinn.placer = try sp?.string("placer", default: "best", oneOf: ["simple", "hilbert", "best"]) ?? "best"
        spinn.nerRadius = try sp?.int("ner_radius", default: 20, min: 0, max: 1000) ?? 20
        spinn.trafficImages = try sp?.int("traffic_images", default: 100, min: 0, max: 1_000_000) ?? 100
        try sp?.rejectUnknownKeys()
        let dist = try r.object("distribution", required: false)
        let groups = try dist.map { try RankGrouping(reading: $0, key: "groups") } ?? .perRank
        try dist?.rejectUnknownKeys()
        try r.rejectUnknownKeys()

        var config = ExperimentConfig(name: name, seed: UInt64(seed), dataset: dataset, dog: dog, timesteps: timesteps,
                                      layers: layers, readout: readout, spinnaker: spinn, batchSize: batch,
                                      resolvedJSON: JSONBox([:]))
        config.whitening = whitening
        config.groups = groups
        config.resolvedJSON = JSONBox(config.makeResolved())
        return config
    }

    /// Checks the layer stack against the input: every layer must produce at least a 1x1 map.
    public func checkShapes(input: Shape, file: String) throws -> [Shape] {
        try checkInput(input, file: file)
        var shapes = [input]
        var s = input
        for (i, l) in layers.enumerated() {
            let field = "layers[\(i)]"
            switch l.spec {
            case .conv(let c):
                // Training patches are drawn from the unpadded input, so the kernel must fit it.
                if s.height < c.kernel || s.width < c.kernel {
                    throw ConfigError(file: file, field: "\(field).kernel",
                                      message: "kernel \(c.kernel) does not fit the \(s) input of \(c.name) (training patches come from the unpadded input)")
                }
            case .pool(let p):
                if s.height + 2 * p.pad < p.window || s.width + 2 * p.pad < p.window {
                    throw ConfigError(file: file, field: "\(field).window",
                                      message: "window \(p.window) does not fit the \(s) input of \(p.name)")
                }
            }
            s = l.spec.outputShape(s)
            if s.count > Int(Int32.max) / 2 {
                throw ConfigError(file: file, field: field, message: "\(l.spec.name) output \(s) is too large")
            }
            shapes.append(s)
        }
        return shapes
    }

    func makeResolved() -> [String: Any] {
        // Floats written by their shortest decimal form: 0.95, not 0.949999988079071.
        func Double(_ f: Float) -> Swift.Double { Swift.Double("\(f)") ?? Swift.Double(f) }
        var layerList: [[String: Any]] = []
        for l in layers {
            switch l.spec {
            case .pool(let p):
                layerList.append(["type": "pool", "name": p.name, "window": p.window, "stride": p.stride, "pad": p.pad])
            case .conv(let c):
                var o: [String: Any] = ["type": "conv", "name": c.name, "kernel": c.kernel, "stride": c.stride, "pad": c.pad,
                                        "maps": c.maps, "epochs": c.epochs, "anneal": Double(c.anneal), "wta_infer": c.inhibitInference,
                                        "stdp": ["rule": c.stdp.rule.rawValue, "a": Double(c.stdp.a), "b": Double(c.stdp.b),
                                                 "tau": Double(c.stdp.tau), "a_minus": Double(c.stdp.aMinus)]
                                            .filter { $0.key == "rule" || $0.key == "a" || c.stdp.rule.parameters.contains($0.key) },
                                        "threshold": ["eta": Double(c.thresholds.eta), "target_time": Double(c.thresholds.targetTime),
                                                      "min": Double(c.thresholds.minThreshold),
                                                      "on_silence": c.thresholds.lowerOnSilence ? "lower" : "keep",
                                                      "init_mean": Double(c.initialThresholdMean),
                                                      "init_std": Double(c.initialThresholdStd)],
                                        "weights": c.weightNormal.map { ["init": "normal", "mean": Double($0.mean), "std": Double($0.std)] as [String: Any] }
                                            ?? ["init": "uniform", "low": Double(c.weightLow), "high": Double(c.weightHigh)]]
                if let p = l.pruning {
                    var r: [String: Any] = ["mode": p.mode.rawValue, "start_epoch": p.startEpoch, "end_epoch": p.endEpoch,
                                            "ramp": p.ramp.rawValue, "unit": p.unit.rawValue, "reinforcement": p.reinforcement]
                    switch p.mode {
                    case .sparsity: r["final_sparsity"] = p.finalSparsity
                    case .threshold: r["final_threshold"] = p.finalThreshold
                    }
                    o["pruning"] = r
                }
                layerList.append(o)
            }
        }
        return ["name": name, "seed": Int(seed), "timesteps": timesteps, "batch_size": batchSize, "dataset": resolvedDataset,
                "preprocess": resolvedPreprocess,
                "layers": layerList,
                "readout": ["grid": readout.grid, "C": readout.C, "epsilon": readout.epsilon, "solver": readout.solver,
                            "layers": readout.everyLayer ? "all" : "last",
                            "save_features": readout.saveFeatures,
                            "multiclass": readout.multiclass.rawValue],
                "distribution": ["groups": groups.json],
                "spinnaker": ["enabled": spinnaker.enabled, "machine": spinnaker.machine, "neurons_per_core": spinnaker.neuronsPerCore,
                              "placer": spinnaker.placer, "ner_radius": spinnaker.nerRadius, "traffic_images": spinnaker.trafficImages]]
    }
}

/// A conv layer's `pruning` object: mode (`sparsity` needs `final_sparsity`, `threshold` needs
/// `final_threshold`; each refuses the other's field), ramp, unit and reinforcement strength.
private func readPruning(_ pr: ConfigReader, epochs: Int) throws -> PruningSchedule {
    let mode = PruningSchedule.Mode(rawValue: try pr.string("mode", default: "sparsity", oneOf: ["sparsity", "threshold"]))!
    let finalKey = mode == .sparsity ? "final_sparsity" : "final_threshold"
    let otherKey = mode == .sparsity ? "final_threshold" : "final_sparsity"
    if epochs == 0 { throw pr.fail(finalKey, "pruning happens during training: the layer needs epochs >= 1") }
    if pr.has(otherKey) {
        throw pr.fail(otherKey, "applies to pruning.mode \"\(mode == .sparsity ? "threshold" : "sparsity")\" only, not \"\(mode.rawValue)\"")
    }
    var finalSparsity = 0.0, finalThreshold = 0.0
    switch mode {
    case .sparsity: finalSparsity = try pr.double("final_sparsity", min: 0, max: 1, openMax: true)
    case .threshold: finalThreshold = try pr.double("final_threshold", min: 0, max: 1, openMin: true)
    }
    let start = try pr.int("start_epoch", default: 0, min: 0)
    let end = try pr.int("end_epoch", default: max(epochs - 1, 0), min: 0)
    if end < start { throw pr.fail("end_epoch", "must be at least start_epoch (\(start)), got \(end)") }
    if end >= epochs { throw pr.fail("end_epoch", "must be below the layer's epochs (\(epochs)), got \(end)") }
    let ramp = PruningSchedule.Ramp(rawValue: try pr.string("ramp", default: "cubic", oneOf: ["linear", "cubic"]))!
    let unit = PruningSchedule.Unit(rawValue: try pr.string("unit", default: "weight", oneOf: ["weight", "kernel"]))!
    let lambda = try pr.double("reinforcement", default: 0, min: 0, max: 1)
    try pr.rejectUnknownKeys()
    return PruningSchedule(finalSparsity: finalSparsity, startEpoch: start, endEpoch: end, ramp: ramp, mode: mode,
                           finalThreshold: finalThreshold, unit: unit, reinforcement: lambda)
}

/// Lets a JSON dictionary travel in a Sendable struct (it is never mutated after creation).
struct JSONBox: @unchecked Sendable {
    let value: [String: Any]
    init(_ v: [String: Any]) { value = v }
}

/// How the ranks are grouped for feature extraction (`distribution.groups`).
public enum RankGrouping: Equatable, Sendable {
    /// `"ranks"`, the default: every rank a group of its own, so each rank takes a share of the
    /// images with every map of the layer and no spike crosses ranks while they go through it.
    case perRank
    /// G groups of N / G ranks, the maps sliced over each group's ranks (G = 1: map slicing alone).
    case count(Int)

    /// The number of groups in a job of `ranks` ranks.
    public func groups(ranks: Int) -> Int {
        switch self {
        case .perRank: ranks
        case .count(let g): g
        }
    }

    /// As written in the resolved config.
    var json: Any {
        switch self {
        case .perRank: "ranks"
        case .count(let g): g
        }
    }

    /// `"ranks"` or a whole number of at least 1 (from the config or `--groups`).
    public init?(_ text: String) {
        if text == "ranks" { self = .perRank; return }
        guard let g = Int(text), g >= 1 else { return nil }
        self = .count(g)
    }

    init(reading r: ConfigReader, key: String) throws {
        if r.object[key] is String {
            let s = try r.string(key)
            guard s == "ranks" else { throw r.fail(key, "expected \"ranks\" or a whole number of groups, got \"\(s)\"") }
            self = .perRank
        } else {
            // Absent or null: the default (optionalInt marks the key as read either way).
            guard let g = try r.optionalInt(key, min: 1) else { self = .perRank; return }
            guard g <= 1 << 20 else { throw r.fail(key, "must be at most \(1 << 20), got \(g)") }
            self = .count(g)
        }
    }
}
