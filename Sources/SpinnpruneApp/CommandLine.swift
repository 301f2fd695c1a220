import Foundation
import SpikeCluster
import SpikeMPI

public let spinnpruneVersion = "0.1.0"

let usage = """
usage: spinnprune train <config.json> [--runs-dir DIR] [--name NAME] [--groups G]
       spinnprune check <config.json>
       spinnprune map <config.json> [--input WxHxC] [--machine FILE] [--run RUN_DIR [--traffic N]] [--out DIR]
       spinnprune export-pynn <run-dir> [--images N]
       spinnprune --version

  train   train the network of the config on its dataset (run under mpirun for several ranks),
          read it out with a linear SVM, map it onto the SpiNNaker machine of the config, and
          write runs/<name>/ (config.json, metrics.json, model.json, weights/, spinnaker/ with the
          PACMAN and rig files, mapping_report.md, traffic.json and the PyNN export).
          --groups G (distribution.groups) splits the ranks into G groups that share out the
          images when the data goes through each trained layer; G must divide the rank count;
          "ranks" (the default) makes every rank a group
  check   validate a config, its dataset (the files are read) and the mapping of its network onto
          its SpiNNaker machine, and print the layer shapes
  map     map the config's network onto a SpiNNaker machine without training: partition, place,
          route, compress and check the tables, and write the PACMAN, rig and report files to DIR
          (default spinnaker-<name>). --input gives the image size when the dataset is not at hand
          (e.g. 96x96x3 for STL-10); --machine replaces spinnaker.machine; --run takes the pruning
          masks of a trained run (its weights/<layer>.mask.u8) and, with --traffic N, runs its first N
          test images through the trained layers to count the packets of every router and link
  export-pynn  write the run's PyNN export again (spinnaker/pynn_network.py and spinnaker/pynn/,
          docs/PYNN.md) with the first N test images (default \(PyNNExport.defaultImages)); run it
          where train ran (the config's relative paths)
  Relative paths in a config (dataset.path, spinnaker.machine) resolve against the current directory.
"""

/// Entry point of the executable: returns the process exit code.
public func spinnpruneMain(_ args: [String]) -> Int32 {
    func fail(_ message: String, code: Int32 = 2) -> Int32 {
        FileHandle.standardError.write(Data("spinnprune: \(message)\n".utf8))
        return code
    }
    guard let command = args.first else { return fail(usage) }
    switch command {
    case "-h", "--help", "help":
        print(usage)
        return 0
    case "--version", "version":
        print("spinnprune \(spinnpruneVersion)")
        return 0
    case "check":
        if args.dropFirst().contains(where: { $0 == "-h" || $0 == "--help" }) { print(usage); return 0 }
        guard args.count == 2 else { return fail(usage) }
        do {
            let run = try PreparedRun(TrainOptions(configPath: args[1]))
            let shapes = zip(run.config.layers, run.shapes.dropFirst()).map { "\($0.spec.name) \($1)" }
            print("\(args[1]): valid; input \(run.shapes[0]) (\(run.train.count) train, \(run.test.count) test images); "
                  + shapes.joined(separator: ", "))
            return 0
        } catch {
            return fail("error: \(error)", code: 1)
        }
    case "map":
        return mapCommand(Array(args.dropFirst()), fail: fail)
    case "export-pynn":
        var rest = Array(args.dropFirst())
        var runDir: String?
        var images = PyNNExport.defaultImages
        while !rest.isEmpty {
            let a = rest.removeFirst()
            switch a {
            case "-h", "--help":
                print(usage)
                return 0
            case "--images":
                guard let v = rest.first, let n = Int(v), n >= 1 else { return fail("--images needs a count of at least 1\n\(usage)") }
                rest.removeFirst()
                images = n
            default:
                if a.hasPrefix("-") || runDir != nil { return fail("unexpected argument \(a)\n\(usage)") }
                runDir = a
            }
        }
        guard let runDir else { return fail(usage) }
        do {
            let script = try exportPyNN(runDirectory: runDir, images: images)
            print("wrote \(script)")
            return 0
        } catch {
            return fail("error: \(error)", code: 1)
        }
    case "train":
        var rest = Array(args.dropFirst())
        var options: TrainOptions?
        while !rest.isEmpty {
            let a = rest.removeFirst()
            switch a {
            case "-h", "--help":
                print(usage)
                return 0
            case "--runs-dir", "--name", "--groups":
                guard let v = rest.first else { return fail("\(a) needs a value\n\(usage)") }
                rest.removeFirst()
                if options == nil { return fail("give the config file before \(a)\n\(usage)") }
                switch a {
                case "--runs-dir": options!.runsDir = v
                case "--name": options!.name = v
                default:
                    guard let g = RankGrouping(v) else { return fail("--groups needs \"ranks\" or a whole number of at least 1, got \"\(v)\"\n\(usage)") }
                    options!.groups = g
                }
            default:
                if a.hasPrefix("-") || options != nil { return fail("unexpected argument \(a)\n\(usage)") }
                options = TrainOptions(configPath: a)
            }
        }
        guard let options else { return fail(usage) }
        let comm = MPICommunicator()
        defer { comm.finalize() }
        do {
            try train(options, comm: TimedCommunicator(comm))   // collectives timed per stage (metrics.json "scaling")
            return 0
        } catch is SilentFailure {
            return 1
        } catch {
            FileHandle.standardError.write(Data("spinnprune: error\(comm.size > 1 ? " (rank \(comm.rank))" : ""): \(error)\n".utf8))
            return 1
        }
    default:
        return fail("unknown command \(command)\n\(usage)")
    }
}
