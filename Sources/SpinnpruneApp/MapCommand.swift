import Foundation
import SpikeModel
import SpiNNakerMapping

/// `spinnprune map`: the SpiNNaker mapping of a config's network on its own, without training, so
/// a layout can be tried on any machine (and a trained run's pruning masks mapped onto another).
func mapCommand(_ args: [String], fail: (String, Int32) -> Int32) -> Int32 {
    var rest = args
    var configPath: String?, inputSize: String?, machinePath: String?, runDir: String?, outDir: String?
    while !rest.isEmpty {
        let a = rest.removeFirst()
        switch a {
        case "-h", "--help":
            print(usage)
            return 0
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
    do {
        let url = URL(fileURLWithPath: configPath)
        var config = try ExperimentConfig.load(url)
        if let machinePath { config.spinnaker.machine = machinePath }
        // The input: --input (image channels; the DoG doubles them into on/off), else the dataset's.
        let input: Shape
        if let inputSize {
            let parts = inputSize.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ConfigError(file: "command line", field: "--input", message: "\"\(inputSize)\": give WxHxC, e.g. 96x96x3")
            }
            input = Shape(height: parts[1], width: parts[0], channels: parts[2] * 2)
        } else {
            let run = try PreparedRun(TrainOptions(configPath: configPath), mapping: false)
            input = run.shapes[0]
        }
        let shapes = try config.checkShapes(input: input, file: url.path)
        let machineURL = URL(fileURLWithPath: config.spinnaker.machine)
        let machine: Machine
        do { machine = try Machine.load(descriptionAt: machineURL) } catch {
            throw ConfigError(file: machinePath == nil ? url.path : "command line",
                              field: machinePath == nil ? "spinnaker.machine" : "--machine", message: "\(error)")
        }
        var masks: [String: [UInt8]] = [:]
        if let runDir {
            for (k, l) in config.layers.enumerated() {
                guard case .conv(let c) = l.spec else { continue }
                let file = URL(fileURLWithPath: runDir).appendingPathComponent("weights/\(c.name).mask.u8")
                guard let data = try? Data(contentsOf: file) else {
                    throw RunError("--run \(runDir): cannot read \(file.path)")
                }
                let expected = c.kernel * c.kernel * shapes[k].channels * c.maps
                guard data.count == expected else {
                    throw RunError("\(file.path): \(data.count) bytes, layer \(c.name) of \(configPath) has \(expected) synapses")
                }
                masks[c.name] = [UInt8](data)
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
        let out = URL(fileURLWithPath: outDir ?? "spinnaker-\(config.name)")
        try writeMappingFiles(mapping, machine: machine, machineName: config.spinnaker.machine, traffic: nil,
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
