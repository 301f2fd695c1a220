import Foundation
import SpikeCluster
import SpikeCompression
import SpikeData
import SpikeModel
import SpikeReadout
import SpiNNakerMapping

public struct TrainOptions: Sendable {
    public var configPath: String
    public var runsDir: String = "runs"
    public var name: String?
    /// `--groups`: replaces the config's `distribution.groups`.
    public var groups: RankGrouping?
    public init(configPath: String) { self.configPath = configPath }
}

/// Progress lines on the coordinator's terminal, unbuffered so they show under mpirun.
struct Progress {
    let enabled: Bool
    let start = monotonicSeconds()
    func say(_ line: String) {
        guard enabled else { return }
        let t = String(format: "%7.1fs", monotonicSeconds() - start)
        FileHandle.standardOutput.write(Data("[\(t)] \(line)\n".utf8))
    }
}

/// One conv layer's readout.
struct LayerScore {
    var layer: String
    var train: Double
    var test: Double
    var features: Int
    var json: [String: Any] { ["layer": layer, "train": train, "test": test, "features": features] }
}

/// What the coordinator records of a run (metrics.json).
struct RunRecord {
    var timings: [(String, Double)] = []
    /// The coordinator's peak resident memory (MiB) once each stage has ended: where the peak is.
    var peakAfterStage: [(String, Double)] = []
    var layers: [[String: Any]] = []
    var accuracy: [String: Any] = [:]
    var spinnaker: [String: Any] = [:]
}

/// `spinnprune train`: the main job. Every rank runs this; rank 0 is the coordinator.
public func train(_ options: TrainOptions, comm: Communicator) throws {
    let progress = Progress(enabled: comm.isCoordinator)
    var record = RunRecord()
    var stageStart = monotonicSeconds()
    let meter = StageMeter(comm)   // metrics.json "scaling"
    func lap(_ name: String) {
        let now = monotonicSeconds()
        record.timings.append((name, now - stageStart))
        record.peakAfterStage.append((name, Double(peakResidentKiB()) / 1024))
        meter.close(name, wall: now - stageStart)
        stageStart = now
    }

    // 1. Config, data and machine: every rank reads them, and all fail together if any rank cannot.
    let loaded = Result { try PreparedRun(options) }
    try agreeOrFail(loaded.map { _ in () }, comm: comm)
    // The SpiNNaker mapping depends only on the layer shapes: it was made (and checked) while
    // preparing, so a network that cannot fit fails before hours of training, not after.
    let (config, trainImages, testImages, shapes, machine, plannedMapping) = try loaded.get().parts
    progress.say("spinnprune train \(config.name): \(comm.size) rank(s), \(trainImages.count) train / \(testImages.count) test images from \(config.dataset.path), T = \(config.timesteps)")
    let groups = try RankGroups(options, config: config, world: comm)
    if groups.count > 1 { progress.say(groups.summary) }
    lap("load")

    // The coordinator prepares the run directory early so a bad runs path fails before training.
    var runDir: RunDirectory?
    let prepared: Result<Void, Error> = Result {
        if comm.isCoordinator { runDir = try RunDirectory(runsDir: URL(fileURLWithPath: options.runsDir), name: config.name) }
    }
    try agreeOrFail(prepared, comm: comm)
    var committed = false
    defer { if !committed { runDir?.discard() } }


    // 2. Encoding.
    let encoder = Encoder(config: config, comm: comm)
    var (trainData, range) = encoder.encode(trainImages, range: nil)
    var (testData, _) = encoder.encode(testImages, range: range)
    let pynnSamples = PyNNSamples(testData, labels: testImages.labels, limit: PyNNExport.defaultImages)
    _ = range
    progress.say("encoded: \(encoder.summary), input \(trainData.shape)")
    // The first test images, kept for the traffic emulation on the mapped network.
    let trafficCount = comm.isCoordinator && plannedMapping != nil ? min(config.spinnaker.trafficImages, testData.count) : 0
    let trafficInput = SpikeDataset(shape: testData.shape, count: trafficCount,
                                    times: Array(testData.times.prefix(trafficCount * testData.shape.count)))
    lap("encode")

    // 3. Layers, greedy: train a convolution (with its pruning schedule), freeze it, push the data
    // through it and the pooling layers after it, then go on. While the data goes through, every
    // rank turns its maps' conv output into readout features, and an SVM reads each layer out.
    var stages: [(stage: Stage, slices: MapSlices, pruning: PruningSchedule?)] = []
    var exchangeStats = ForwardStats()
    var layerAccuracy: [LayerScore] = []
    var winnerAgreements = 0
    var epochRecords: [EpochRecord] = []
    var i = 0
    var convIndex = 0
    let lastConv = config.lastConvName
    while i < config.layers.count {
        guard case .conv(let spec) = config.layers[i].spec else { i += 1; continue }
        var pools: [PoolSpec] = []
        var j = i + 1
        while j < config.layers.count, case .pool(let p) = config.layers[j].spec { pools.append(p); j += 1 }
        let slices = MapSlices(count: spec.maps, ranks: comm.size)
        let slice = ConvSlice(spec: spec, input: trainData.shape, maps: slices.range(of: comm.rank),
                              seed: config.seed, layerIndex: convIndex)
        let schedule = config.layers[i].pruning
        progress.say("\(spec.name): training \(spec.maps) maps of \(spec.kernel)x\(spec.kernel)x\(trainData.shape.channels) for \(spec.epochs) epochs (\(slices.counts.map(String.init).joined(separator: "+")) maps per rank)")
        let trainer = LayerTrainer(slice: slice, timesteps: config.timesteps, comm: comm, seed: config.seed, layerIndex: convIndex)
        var sparsityNow = 0.0
        var silentSaid = false
        winnerAgreements += spec.epochs * trainData.count
        trainer.train(on: trainData) { stats in
            // No winner means no STDP and no threshold change: a silent layer stays silent.
            if stats.winners == 0 && stats.samples > 0 && !silentSaid {
                silentSaid = true
                progress.say("warning: \(spec.name): no map fired on any sample in epoch \(stats.epoch + 1): "
                    + (spec.thresholds.lowerOnSilence ? "the thresholds are being lowered (threshold.on_silence), it may recover"
                       : "the layer is silent for good (no winner, so no learning and no threshold change; threshold.on_silence: lower pulls it back)")
                    + (sparsityNow == 0 ? "" : "; its kept weights cannot reach the thresholds: try "
                        + ((schedule?.reinforcement ?? 0) == 0 ? "pruning.reinforcement or " : "") + "a lower final sparsity"))
            }
            if let schedule, schedule.prunes(afterEpoch: stats.epoch) {
                sparsityNow = slice.prune(schedule, afterEpoch: stats.epoch, slices: slices, comm: comm)
            }
            let meanTh = comm.allreduceSum(Double(slice.thresholds.reduce(0, +))) / Double(spec.maps)
            epochRecords.append(EpochRecord(layer: spec.name, epoch: stats.epoch,
                                            winnersFraction: Double(stats.winners) / Double(max(stats.samples, 1)),
                                            activeMaps: stats.activeMaps, meanThreshold: meanTh, pruned: sparsityNow,
                                            seconds: stats.seconds))
            progress.say(String(format: "%@: epoch %d/%d  winners %d/%d  active maps %d/%d  mean threshold %.3f  pruned %.1f%%  %.2fs",
                                spec.name, stats.epoch + 1, spec.epochs, stats.winners, stats.samples, stats.activeMaps,
                                spec.maps, meanTh, sparsityNow * 100, stats.seconds))
        }
        lap("train \(spec.name)")
        let stage = Stage(conv: slice, pools: pools)
        stages.append((stage, slices, schedule))

        // Whole train and test sets through the frozen stage: the next layer's input (exchanged
        // every timestep) when a later layer needs it, and this layer's readout features.
        let more = j < config.layers.count
        let readHere = config.readout.everyLayer || spec.name == lastConv
        // With groups, each group takes a share of the images (Hybrid.swift).
        let features = groups.forward(stage, slices: slices, more: more, readHere: readHere, config: config,
                                      train: &trainData, test: &testData, stats: &exchangeStats, progress: progress)
        lap("forward \(spec.name)")
        // The last layer's input spikes are not needed any more: free them before its SVM.
        if !more {
            trainData = SpikeDataset(shape: trainData.shape, count: 0, times: [])
            testData = SpikeDataset(shape: testData.shape, count: 0, times: [])
        }
        if more { progress.say("\(spec.name)\(pools.isEmpty ? "" : "+pool"): output \(trainData.shape) for every image") }

        if readHere {
            let dim = features.dim
            let scaler = MinMaxScaler.fit(features.train)
            scaler.transform(&features.train)
            scaler.transform(&features.test)
            try agreeOrFail(Result {
                guard config.readout.saveFeatures, let runDir else { return }
                // [image][map][cell] float32, scaled to [0, 1] on the train set; labels as bytes.
                try runDir.writeFloats(features.train, to: "features/\(spec.name).train.f32")
                try runDir.writeFloats(features.test, to: "features/\(spec.name).test.f32")
                try runDir.write(Data(trainImages.labels.map { UInt8(truncatingIfNeeded: $0) }), to: "features/train.labels.u8")
                try runDir.write(Data(testImages.labels.map { UInt8(truncatingIfNeeded: $0) }), to: "features/test.labels.u8")
            }, comm: comm)
            progress.say("\(spec.name): svm on \(trainImages.count) x \(dim) features, C = \(config.readout.C), \(config.readout.solver) solver, \(config.readout.multiclass == .oneVsOne ? "one-vs-one" : "one-vs-rest"), shared over \(comm.size) rank(s)")
            let svm = try trainReadout(config.readout, features: features.train, labels: trainImages.labels.map(Int32.init), comm: comm)
            let trainAcc = svm.accuracy(features.train, labels: trainImages.labels.map(Int32.init))
            let testAcc = svm.accuracy(features.test, labels: testImages.labels.map(Int32.init))
            layerAccuracy.append(LayerScore(layer: spec.name, train: trainAcc, test: testAcc, features: dim))
            progress.say(String(format: "%@: test accuracy %.2f%% (train %.2f%%)", spec.name, testAcc * 100, trainAcc * 100))
            lap("svm \(spec.name)")
        }
        convIndex += 1
        i = j
    }
    let best = layerAccuracy.max { $0.test < $1.test }!
    let lastRead = layerAccuracy.last!

    // 6. Weights, masks, thresholds to the coordinator; compression per layer.
    var totalWeights = 0, totalPruned = 0, totalDenseBytes = 0, totalSparseBytes = 0
    var saved: [(String, [Float], [UInt8], [Float], ConvSlice)] = []
    var trained: [TrainedConv] = []
    for (k, (stage, slices, _)) in stages.enumerated() {
        let c = stage.conv
        let w = c.gatherLayer(c.weights, slices: slices, comm: comm, zero: 0)
        let m = c.gatherLayer(c.mask, slices: slices, comm: comm, zero: 0)
        let th = c.gatherThresholds(slices: slices, comm: comm)
        if comm.isCoordinator {
            saved.append((c.spec.name, w, m, th, c))
            // The whole layer on the coordinator, for the traffic emulation.
            let whole = ConvSlice(spec: c.spec, input: c.input, maps: 0..<c.spec.maps, seed: config.seed, layerIndex: k)
            whole.weights = w; whole.mask = m; whole.thresholds = th
            trained.append(TrainedConv(slice: whole, pools: stage.pools))
        }
    }

    let peakMemory = comm.allgather(peakResidentKiB())
    let scaling = meter.gather(comm: comm)

    // 7. SpiNNaker mapping and the run directory, on the coordinator.
    let written: Result<Void, Error> = Result {
        guard comm.isCoordinator, let runDir else { return }
        var model: [[String: Any]] = []
        var sizeLines: [String] = []
        for (name, w, m, th, c) in saved {
            let pruned = m.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            totalWeights += m.count; totalPruned += pruned
            // The compressed file: per map, its kept synapses (docs/FORMATS.md).
            let sparse: [UInt8]
            do { sparse = try SparseFormat.encode(weights: w, mask: m, layout: c.kernelLayout) } catch {
                throw RunError("\(name): cannot write weights/\(name).sparse: \(error)")
            }
            let denseBytes = w.count * MemoryLayout<Float>.size
            totalDenseBytes += denseBytes; totalSparseBytes += sparse.count
            record.layers.append(["name": name, "weights": m.count, "pruned": pruned,
                                  "compression_rate": Double(pruned) / Double(max(m.count, 1)),
                                  "zero_weights": w.reduce(0) { $0 + ($1 == 0 ? 1 : 0) },
                                  "dense_bytes": denseBytes, "sparse_bytes": sparse.count])
            sizeLines.append(String(format: "%@: %d weights, %.1f %% pruned, dense %d B -> sparse %d B",
                                    name, m.count, Double(pruned) / Double(max(m.count, 1)) * 100, denseBytes, sparse.count))
            try runDir.writeFloats(w, to: "weights/\(name).weights.f32")
            try runDir.write(Data(m), to: "weights/\(name).mask.u8")
            try runDir.writeFloats(th, to: "weights/\(name).thresholds.f32")
            try runDir.write(Data(sparse), to: "weights/\(name).sparse")
            model.append(["name": name, "input": [c.input.height, c.input.width, c.input.channels],
                          "output": [c.output.height, c.output.width, c.output.channels],
                          "kernel": c.spec.kernel, "stride": c.spec.stride, "pad": c.spec.pad,
                          "layout": "weights [ky][kx][c_in][map] float32 little-endian; mask same layout, uint8 1 kept / 0 pruned; thresholds [map] float32",
                          "sparse_layout": SparseFormat.layoutSummary,
                          "files": ["weights/\(name).weights.f32", "weights/\(name).mask.u8", "weights/\(name).thresholds.f32",
                                    "weights/\(name).sparse"]])
        }
        try runDir.writeJSON(["layers": model, "timesteps": config.timesteps], to: "model.json")
        lap("gather")

        if plannedMapping != nil, let machine {
            // Mapped again with the trained masks: whole pruned kernel slices need no route, and the
            // synaptic memory per core leaves the pruned synapses out.
            let mapStart = monotonicSeconds()
            let masks = Dictionary(uniqueKeysWithValues: saved.map { ($0.0, $0.2) })
            var mapped: NetworkMapping? = nil
            do { mapped = try mapForRun(config, shapes: shapes, machine: machine, masks: masks) } catch {
                // The plan fitted before training; if the trained masks change that, keep the run's
                // results and say why the SpiNNaker files are missing.
                progress.say("warning: the trained network does not map onto \(config.spinnaker.machine): \(error); no SpiNNaker files written")
                try? FileManager.default.removeItem(at: runDir.url("spinnaker"))
                record.spinnaker = ["machine": config.spinnaker.machine, "error": "\(error)"]
            }
            if let mapping = mapped {
                let mapSeconds = monotonicSeconds() - mapStart
                var traffic: TrafficReport? = nil
                if trafficInput.count > 0 {
                    traffic = emulateTraffic(mapping, machine: machine, layers: trained, input: trafficInput, timesteps: config.timesteps,
                                             batchSize: config.batchSize)
                }
                try writeMappingFiles(mapping, machine: machine, machineName: config.spinnaker.machine, traffic: traffic,
                                      seconds: mapSeconds, to: runDir.url("spinnaker"))
                try writePyNNExport(config: config, input: shapes[0], saved: saved, samples: pynnSamples, to: runDir.url("spinnaker"))
                var info: [String: Any] = ["machine": config.spinnaker.machine, "cores_used": mapping.coresUsed,
                                           "chips_used": mapping.chipsUsed, "largest_table": mapping.maxTableSize,
                                           "largest_table_uncompressed": mapping.maxUncompressedTableSize,
                                           "placer": mapping.placer.rawValue, "longest_route": mapping.longestRoute,
                                           "routing_distance": Dictionary(uniqueKeysWithValues: mapping.routingDistance.map { ($0.key.rawValue, $0.value) }),
                                           "mapping_seconds": mapSeconds]
                if let traffic {
                    info["traffic"] = ["images": traffic.images, "busiest_router_packets": traffic.busiestRouter.packets,
                                       "busiest_link_packets": traffic.busiestLink.packets, "router_packets": traffic.routerPackets]
                }
                record.spinnaker = info
                progress.say("spinnaker: \(mapping.coresUsed) cores on \(mapping.chipsUsed) chips of \(config.spinnaker.machine), largest routing table \(mapping.maxTableSize) entries (\(mapping.maxUncompressedTableSize) before compression), \(mapping.placer.rawValue) placement"
                    + (traffic.map { ", busiest link \($0.busiestLink.packets) packets per timestep over \($0.images) test images" } ?? ""))
            }
        } else {
            try? FileManager.default.removeItem(at: runDir.url("spinnaker"))
            record.spinnaker = ["enabled": false]
        }
        lap("spinnaker files")

        record.accuracy = ["train": lastRead.train, "test": lastRead.test, "layer": lastRead.layer,
                           "best_layer": best.layer, "best_test": best.test, "layers": layerAccuracy.map(\.json)]
        let overall = Double(totalPruned) / Double(max(totalWeights, 1))
        let metrics: [String: Any] = [
            "name": config.name, "ranks": comm.size, "timesteps": config.timesteps,
            "groups": groups.count,
            "peak_memory_mib_per_rank": peakMemory.map { Double($0) / 1024 },
            "peak_memory_mib_after_stage": Dictionary(record.peakAfterStage, uniquingKeysWith: max),
            "train_images": trainImages.count, "test_images": testImages.count,
            "accuracy": record.accuracy,
            "compression": ["layers": record.layers, "overall_rate": overall, "weights": totalWeights, "pruned": totalPruned,
                            "dense_bytes": totalDenseBytes, "sparse_bytes": totalSparseBytes],
            "timings_seconds": Dictionary(record.timings, uniquingKeysWith: +),
            "stage_order": record.timings.map(\.0),
            // Collectives of the spike exchange between layers (2 per timestep per batch), and the
            // training's winner agreements (one 8-byte allreduce per sample when ranks > 1).
            "exchange": ["spike_exchange_collectives": exchangeStats.exchanges, "spike_exchange_bytes": exchangeStats.bytesExchanged,
                         "winner_agreements": comm.size > 1 ? winnerAgreements : 0],
            "spinnaker": record.spinnaker,
            "scaling": scaling,
        ]
        try runDir.write(Data(epochsCSV(epochRecords).utf8), to: "epochs.csv")
        try runDir.write(Data(trainingSVG(epochRecords).utf8), to: "training.svg")
        try runDir.writeJSON(config.resolved, to: "config.json")
        try runDir.writeJSON(metrics, to: "metrics.json")
        try runDir.commit()
        committed = true
        let perLayer = layerAccuracy.map { String(format: "%@ %.2f%%", $0.layer, $0.test * 100) }
        progress.say(String(format: "test accuracy %.2f%% (train %.2f%%) at %@ [%@]; compression rate %.1f%% of %d conv weights",
                            lastRead.test * 100, lastRead.train * 100, lastRead.layer,
                            perLayer.joined(separator: ", "), overall * 100, totalWeights))
        for line in sizeLines { progress.say(line) }
        progress.say("all conv layers: \(totalWeights) weights, dense \(totalDenseBytes) B -> sparse \(totalSparseBytes) B")
        progress.say("run directory: \(runDir.final.path)")
    }
    if case .failure(let e) = written {
        runDir?.discard()
        comm.abort("\(e)", code: 1)
    }
}

/// Everything a run reads before it computes anything, validated: config (with the command
/// line's overrides), both dataset splits, the layer shapes, the SpiNNaker machine. Errors name the
/// config file and the field that led to the failing file.
struct PreparedRun {
    var config: ExperimentConfig
    var train: ImageSet
    var test: ImageSet
    var shapes: [Shape]
    /// Both nil when `spinnaker.enabled` is false.
    var machine: Machine?
    var mapping: NetworkMapping?
    var parts: (ExperimentConfig, ImageSet, ImageSet, [Shape], Machine?, NetworkMapping?) {
        (config, train, test, shapes, machine, mapping)
    }

    /// `mapping: false` stops after the shapes (no machine, no mapping).
    init(_ options: TrainOptions, mapping doMap: Bool = true) throws {
        let url = URL(fileURLWithPath: options.configPath)
        config = try ExperimentConfig.load(url)
        if let n = options.name {
            guard ExperimentConfig.isValidName(n) else {
                throw ConfigError(file: "command line", field: "--name", message: "\"\(n)\": use letters, digits, '-', '_' and '.' only, not starting with '.'")
            }
            config.name = n
        }
        if let g = options.groups { config.groups = g; config.resolvedJSON = JSONBox(config.makeResolved()) }
        func context<T>(_ field: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as ConfigError { throw e } catch {
                throw ConfigError(file: url.path, field: field, message: "\(error)")
            }
        }
        let dir = URL(fileURLWithPath: config.dataset.path)
        let limits = (config.dataset.trainLimit, config.dataset.testLimit)
        let format = config.dataset.format
        let dataset = config.dataset
        func load(_ split: IDXDataset.Split, _ limit: Int?) throws -> ImageSet {
            switch format {
            case "cifar10": try CIFAR10Dataset.load(directory: dir, split: split, limit: limit)
            case "stl10": try STL10Dataset.load(directory: dir, split: split, limit: limit)
            case "caltech": try dataset.loadCaltech(split, limit: limit)
            default: try IDXDataset.load(directory: dir, split: split, limit: limit)
            }
        }
        train = try context("dataset.path") { try load(.train, limits.0) }
        test = try context("dataset.path") { try load(.test, limits.1) }
        if (train.height, train.width, train.channels) != (test.height, test.width, test.channels) {
            throw ConfigError(file: url.path, field: "dataset.path",
                              message: "train images are \(train.height)x\(train.width)x\(train.channels) but test images \(test.height)x\(test.width)x\(test.channels)")
        }
        if config.dog.opponent && train.channels != 3 {
            throw ConfigError(file: url.path, field: "preprocess.dog.colour",
                              message: "\"opponent\" needs RGB images; the dataset has \(train.channels) channel(s)")
        }
        let input = Shape(height: train.height, width: train.width, channels: train.channels * 2)
        shapes = try config.checkShapes(input: input, file: url.path)
        try PreparedRun.checkMemory(config: config, shapes: shapes, images: train.count + test.count, file: url.path)
        guard config.spinnaker.enabled, doMap else { machine = nil; mapping = nil; return }
        let machinePath = config.spinnaker.machine
        let machine = try context("spinnaker.machine") { try Machine.load(descriptionAt: URL(fileURLWithPath: machinePath)) }
        self.machine = machine
        let (c, sh) = (config, shapes)
        mapping = try context("spinnaker.machine") {
            do { return try mapForRun(c, shapes: sh, machine: machine) } catch {
                throw RunError("the network does not map onto \(machinePath): \(error)")
            }
        }
    }
}

extension PreparedRun {
    /// A rough upper bound of one rank's memory, checked against this node's share of RAM, so a
    /// config too large for the machine fails now, naming the layer, not after hours of training.
    /// Counted: the spike times of a layer's input and output for every image (one byte per neuron)
    /// and a layer's readout features (floats, held about four times over by the SVM stage).
    static func checkMemory(config: ExperimentConfig, shapes: [Shape], images: Int, file: String) throws {
        let env = ProcessInfo.processInfo.environment
        let localRanks = Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
        let budget = Double(ProcessInfo.processInfo.physicalMemory) / Double(max(localRanks, 1))
        var worst = (bytes: 0.0, field: "layers")
        for (i, l) in config.layers.enumerated() {
            guard case .conv = l.spec else { continue }
            let input = Double(images) * Double(shapes[i].count)
            let output = Double(images) * Double(shapes[i + 1].count)
            let grid = Double(min(config.readout.grid, shapes[i + 1].height, shapes[i + 1].width))
            let features = Double(images) * Double(shapes[i + 1].channels) * grid * grid * 4 * 4
            let total = input + output + features
            if total > worst.bytes { worst = (total, "layers[\(i)].maps") }
        }
        if worst.bytes > budget {
            throw ConfigError(file: file, field: worst.field,
                              message: String(format: "needs about %.1f GB per rank, more than this node's %.1f GB for %d local rank(s); use fewer maps, a smaller readout.grid or dataset limits",
                                              worst.bytes / 1e9, budget / 1e9, localRanks))
        }
    }
}

/// Every rank reports whether its step succeeded; if any failed, the lowest failing rank's error is
/// thrown on that rank and a short note on the others, so every rank stops together and cleanly.
func agreeOrFail(_ result: Result<Void, Error>, comm: Communicator) throws {
    let failed = comm.allgather(UInt8(result.isSuccess ? 0 : 1))
    guard let first = failed.firstIndex(of: 1) else { return }
    if case .failure(let e) = result, comm.rank == first { throw e }
    throw SilentFailure(rank: first)
}

/// Thrown on ranks whose peer reported the error.
public struct SilentFailure: Error { public let rank: Int }

extension Result {
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
}

/// This process's peak resident memory (VmHWM), in KiB; 0 where /proc is unavailable.
func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
    return 0
}
