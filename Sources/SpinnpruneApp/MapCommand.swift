import Foundation
import SpikeCluster
import SpikeModel
import SpiNNakerMapping

/// `spinnprune map`: the SpiNNaker mapping of a config's network on its own, without training, so
/// a layout can be tried on any machine (and a trained run's pruning masks mapped onto another).
func mapCommand(_ args: [String], fail: (String, Int32) -> Int32) -> Int32 {
    var rest = args
    var configPath: String?, inputSize: String?, machinePath: String?, runDir: String?, outDir: String?
    var trafficImages = 0
    while !rest.isEmpty {
        let a = rest.removeFirst()
        switch a {
        case "-h", "--help":
            print(usage)
            return 0
        case "--traffic":
            guard let v = rest.first, let n = Int(v), n >= 1 else { return fail("--traffic needs a count of at least 1\n\(usage)", 2) }
            rest.removeFirst()
            trafficImages = n
        case "--input", "--machine", "--run", "--out":
            guard let v = rest.first else { return fail("\(a) needs a value\n\(usage)", 2) }
            rest.removeFirst()
            switch a {
            case "--input": inputSize = v
            case "--machine": machinePath = v
            case "--run": runDir = v
            default: outDir = v
            }
        default:
            if a.hasPrefix("-") || configPath != nil { return fail("unexpected argument \(a)\n\(usage)", 2) }
            configPath = a
        }
    }
    guard let configPath else { return fail(usage, 2) }
    if trafficImages > 0 && (runDir == nil || inputSize != nil) {
        return fail("--traffic needs --run (the trained weights) and the dataset (not --input)\n\(usage)", 2)
    }
    do {
        let url = URL(fileURLWithPath: configPath)
        var config = try ExperimentConfig.load(url)
        if let machinePath { config.spinnaker.machine = machinePath }
        // The input: --input (image channels; the DoG doubles them into on/off), else the dataset's.
        let input: Shape
        var prepared: PreparedRun? = nil
        if let inputSize {
            let parts = inputSize.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ConfigError(file: "command line", field: "--input", message: "\"\(inputSize)\": give WxHxC, e.g. 96x96x3")
            }
            input = Shape(height: parts[1], width: parts[0], channels: parts[2] * 2)
        } else {
            let run = try PreparedRun(TrainOptions(configPath: configPath), mapping: false)
            input = run.shapes[0]
            prepared = run
        }
        let shapes = try config.checkShapes(input: input, file: url.path)
        let machineURL = URL(fileURLWithPath: config.spinnaker.machine)
        let machine: Machine
        do { machine = try Machine.load(descriptionAt: machineURL) } catch {
            throw ConfigError(file: machinePath == nil ? url.path : "command line",
                              field: machinePath == nil ? "spinnaker.machine" : "--machine", message: "\(error)")
        }
        var masks: [String: [UInt8]] = [:]
        var trained: [TrainedConv] = []
        if let runDir {
            var convIndex = 0
            for (k, l) in config.layers.enumerated() {
                guard case .conv(let c) = l.spec else {
                    if case .pool(let p) = l.spec, !trained.isEmpty { trained[trained.count - 1].pools.append(p) }
                    continue
                }
                func read(_ suffix: String, _ count: Int) throws -> Data {
                    let file = URL(fileURLWithPath: runDir).appendingPathComponent("weights/\(c.name).\(suffix)")
                    guard let data = try? Data(contentsOf: file) else { throw RunError("--run \(runDir): cannot read \(file.path)") }
                    guard data.count == count else {
                        throw RunError("\(file.path): \(data.count) bytes, layer \(c.name) of \(configPath) needs \(count)")
                    }
                    return data
                }
                let synapses = c.kernel * c.kernel * shapes[k].channels * c.maps
                masks[c.name] = [UInt8](try read("mask.u8", synapses))
                if trafficImages > 0 {
                    let whole = ConvSlice(spec: c, input: shapes[k], maps: 0..<c.maps, seed: config.seed, layerIndex: convIndex)
                    whole.weights = littleEndianFloats(try read("weights.f32", synapses * 4))
                    whole.mask = masks[c.name]!
                    whole.thresholds = littleEndianFloats(try read("thresholds.f32", c.maps * 4))
                    trained.append(TrainedConv(slice: whole, pools: []))
                }
                convIndex += 1
            }
        }
        let neurons = shapes.dropFirst().map(\.count).max() ?? 0
        print("map: \(config.name): \(shapes.map(\.description).joined(separator: " -> ")) (largest layer \(neurons) neurons) onto \(config.spinnaker.machine) (\(machine.chips.count) chips, \(machine.applicationCores) application cores)")
        let start = monotonicSeconds()
        let mapping: NetworkMapping
        do { mapping = try mapForRun(config, shapes: shapes, machine: machine, masks: masks) } catch {
            throw RunError("the network does not map onto \(config.spinnaker.machine): \(error)")
        }
        let seconds = monotonicSeconds() - start
        var traffic: TrafficReport? = nil
        if trafficImages > 0, let run = prepared {
            // The run's own encoding: scaling fitted on the training set, then the first test images.
            let encoder = Encoder(config: config, comm: LocalCommunicator())
            let (_, range) = encoder.encode(run.train, range: nil)
            let (testData, _) = encoder.encode(run.test.prefix(trafficImages), range: range)
            traffic = emulateTraffic(mapping, machine: machine, layers: trained, input: testData,
                                     timesteps: config.timesteps, batchSize: config.batchSize)
            print("map: traffic of \(testData.count) test images: busiest router \(traffic!.busiestRouter.packets), busiest link \(traffic!.busiestLink.packets) packets in one timestep")
        }
        let out = URL(fileURLWithPath: outDir ?? "spinnaker-\(config.name)")
        try writeMappingFiles(mapping, machine: machine, machineName: config.spinnaker.machine, traffic: traffic,
                              seconds: seconds, to: out)
        print(String(format: "map: %@ in %.2f s (%@ placer; routing distance %@); wrote %@/",
                     mapping.summary, seconds, mapping.placer.rawValue,
                     mapping.routingDistance.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "),
                     out.path))
        return 0
    } catch {
        return fail("error: \(error)", 1)
    }
}

/// Float32 values from little-endian bytes.
func littleEndianFloats(_ d: Data) -> [Float] {
    stride(from: 0, to: d.count - d.count % 4, by: 4).map { o in
        Float(bitPattern: UInt32(d[d.startIndex + o]) | UInt32(d[d.startIndex + o + 1]) << 8
              | UInt32(d[d.startIndex + o + 2]) << 16 | UInt32(d[d.startIndex + o + 3]) << 24)
    }
}
