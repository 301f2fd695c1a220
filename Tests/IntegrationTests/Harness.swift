import Foundation
import Testing

// Support for the integration tests: they drive the built `spinnprune` executable (directly, or
// under `mpirun`) on a small synthetic data set written into a temporary directory.

/// The package root, found from this file's path (Tests/IntegrationTests/Harness.swift).
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The SpiNNaker machine description every test config points at (absolute path).
let spinn5Machine = packageRoot.appendingPathComponent("cluster-configs/machines/spinn5.json").path

/// Seconds after which a child process is killed and the test fails.
let processTimeout: Double = 300

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The executable under test: `$SPINNPRUNE_BIN`, else `.build/release/spinnprune`, else
/// `.build/debug/spinnprune` under the package root. Missing is a failure, not a skip.
func spinnpruneBinary() throws -> URL {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["SPINNPRUNE_BIN"], !env.isEmpty {
        guard fm.isExecutableFile(atPath: env) else {
            throw HarnessError("SPINNPRUNE_BIN=\(env) is not an executable file; run `swift build -c release` "
                + "(launch/test does that first) or point SPINNPRUNE_BIN at the built spinnprune")
        }
        return URL(fileURLWithPath: env)
    }
    let candidates = [".build/release/spinnprune", ".build/debug/spinnprune"].map { packageRoot.appendingPathComponent($0) }
    if let found = candidates.first(where: { fm.isExecutableFile(atPath: $0.path) }) { return found }
    throw HarnessError("no spinnprune executable: looked at $SPINNPRUNE_BIN, \(candidates.map(\.path).joined(separator: ", ")). "
        + "Run `swift build -c release` first (launch/test does that first), or set SPINNPRUNE_BIN.")
}

/// `mpirun` from PATH (OpenMPI 4.1).
func mpirunExecutable() throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw HarnessError("mpirun not found on PATH (\(path)); install openmpi-bin (launch/setup does)")
}

/// The child's environment: every inherited OMPI_* and PMIX_* variable stripped (a singleton MPI
/// init in this process would set some, and an mpirun inheriting them exits 1 silently), then the
/// settings for running as root on one small node.
func childEnvironment() -> [String: String] {
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
    env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env["OMPI_MCA_btl"] = "self,vader"
    env["OMPI_MCA_pml"] = "ob1"
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env
}

/// What a child process did.
struct RunResult: CustomStringConvertible {
    var command: [String]
    var status: Int32
    var exitedNormally: Bool
    var timedOut: Bool
    var seconds: Double
    var stdout: String
    var stderr: String

    var succeeded: Bool { exitedNormally && status == 0 && !timedOut }
    var output: String { stdout + stderr }

    var description: String {
        """
        $ \(command.joined(separator: " "))
        \(timedOut ? "TIMED OUT after \(Int(processTimeout)) s and killed; " : "")\(exitedNormally ? "exit status" : "killed by signal") \(status) after \(String(format: "%.2f", seconds)) s
        --- stdout ---
        \(stdout)--- stderr ---
        \(stderr)--------------
        """
    }

    /// Signs of a Swift runtime trap or a crash rather than a clean error exit.
    var trapped: Bool {
        if !exitedNormally { return true }
        if [132, 133, 134, 136, 139].contains(status) { return true }
        let markers = ["Fatal error", "Illegal instruction", "Trace/breakpoint trap", "Segmentation fault",
                       "Aborted (core dumped)", "Stack dump", "signal 4", "signal 5", "signal 11"]
        return markers.contains { output.contains($0) }
    }
}

/// Runs `executable args` in `directory` with `childEnvironment()`, stdout and stderr captured
/// in files (no pipe can fill up), killing it after `timeout` seconds.
func runProcess(_ executable: URL, _ args: [String], in directory: URL,
                timeout: Double = processTimeout) async throws -> RunResult {
    let fm = FileManager.default
    let io = directory.appendingPathComponent(".io-\(UUID().uuidString)")
    try fm.createDirectory(at: io, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: io) }
    let outURL = io.appendingPathComponent("stdout"), errURL = io.appendingPathComponent("stderr")
    _ = fm.createFile(atPath: outURL.path, contents: nil)
    _ = fm.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)

    let process = Process()
    process.executableURL = executable
    process.arguments = args
    process.currentDirectoryURL = directory
    process.environment = childEnvironment()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    try process.run()
    var timedOut = false
    while process.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            // mpirun does not reliably pass SIGTERM on to its ranks: signal the whole tree this
            // test started, by process id, then SIGKILL whatever is left of it.
            timedOut = true
            let tree = [process.processIdentifier] + descendants(of: process.processIdentifier)
            for pid in tree { kill(pid, SIGTERM) }
            let grace = Date()
            while process.isRunning && Date().timeIntervalSince(grace) < 3 {
                try await Task.sleep(for: .milliseconds(50))
            }
            for pid in tree.reversed() { kill(pid, SIGKILL) }
            break
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    process.waitUntilExit()
    let seconds = Date().timeIntervalSince(start)
    try? out.close()
    try? err.close()
    let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? "<stdout not UTF-8>"
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? "<stderr not UTF-8>"
    return RunResult(command: [executable.path] + args, status: process.terminationStatus,
                     exitedNormally: process.terminationReason == .exit, timedOut: timedOut,
                     seconds: seconds, stdout: stdout, stderr: stderr)
}

/// Every descendant of `root` (children first-level first), from the parent ids in /proc.
func descendants(of root: pid_t) -> [pid_t] {
    var children: [pid_t: [pid_t]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        // After "pid (comm)": state, then the parent id.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
    }
    var out: [pid_t] = []
    var queue = [root]
    while !queue.isEmpty {
        let next = children[queue.removeFirst()] ?? []
        out += next
        queue += next
    }
    return out
}

/// A temporary directory holding the synthetic data set, configs and run directories of one test.
/// Removed when the test ends, unless SPINNPRUNE_KEEP_TMP is set (then its path is printed).
final class Sandbox {
    let root: URL
    let dataset: URL
    let binary: URL

    init(_ label: String) throws {
        binary = try spinnpruneBinary()
        let fm = FileManager.default
        root = fm.temporaryDirectory
            .appendingPathComponent("spinnprune-integ-\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
            .resolvingSymlinksInPath()
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        dataset = root.appendingPathComponent("bars")
        try SyntheticBars.write(to: dataset)
    }

    deinit {
        if ProcessInfo.processInfo.environment["SPINNPRUNE_KEEP_TMP"] != nil {
            print("integration test files kept in \(root.path)")
        } else {
            try? FileManager.default.removeItem(at: root)
        }
    }

    func path(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// Writes `config` as JSON to `<root>/<file>` and returns its absolute path.
    @discardableResult
    func writeConfig(_ config: [String: Any], as file: String) throws -> String {
        let url = path(file)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: url)
        return url.path
    }

    /// `spinnprune args...` run directly (a one-rank singleton MPI job).
    func spinnprune(_ args: [String]) async throws -> RunResult {
        try await runProcess(binary, args, in: root)
    }

    /// `mpirun --oversubscribe -np N spinnprune args...`.
    /// `environment` is set in every rank (`mpirun -x NAME=value`).
    func mpirun(_ ranks: Int, _ args: [String], environment: [String: String] = [:]) async throws -> RunResult {
        let exports = environment.sorted { $0.key < $1.key }.flatMap { ["-x", "\($0.key)=\($0.value)"] }
        return try await runProcess(try mpirunExecutable(), ["--oversubscribe"] + exports + ["-np", "\(ranks)", binary.path] + args, in: root)
    }

    /// Every entry (hidden ones too) of a directory, sorted; empty when it does not exist.
    func entries(of dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }
}

/// 16x16 images of three classes: a 10-pixel bar, horizontal (0), vertical (1) or diagonal (2), at a
/// pseudo-random position on a background of uniform noise in 0..<64; bar pixels are 160..<256.
/// 300 training and 100 test images, classes cycling 0, 1, 2. Deterministic (a 64-bit LCG).
enum SyntheticBars {
    static let side = 16
    static let classes = 3
    static let trainCount = 300
    static let testCount = 100
    static let barLength = 10
    static let noise: UInt64 = 64

    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
    }

    static func images(count: Int, seed: UInt64) -> (pixels: [UInt8], labels: [UInt8]) {
        var rng = LCG(state: seed)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        let n = side, len = UInt64(barLength), room = UInt64(side - barLength + 1)
        for i in 0..<count {
            let c = i % classes
            var img = (0..<(n * n)).map { _ in UInt8(rng.next() % noise) }
            let r0 = Int(rng.next() % room), c0 = Int(rng.next() % room), off = Int(rng.next() % len)
            for t in 0..<barLength {
                let (r, col): (Int, Int)
                switch c {
                case 0: (r, col) = (r0 + off, c0 + t)
                case 1: (r, col) = (r0 + t, c0 + off)
                default: (r, col) = (r0 + t, c0 + t)
                }
                img[r * n + col] = UInt8(160 + rng.next() % 96)
            }
            pixels += img
            labels.append(UInt8(c))
        }
        return (pixels, labels)
    }

    static func bigEndian(_ values: [Int]) -> Data {
        var d = Data()
        for v in values { withUnsafeBytes(of: UInt32(v).bigEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// Raw (not gzipped) IDX files, as `IDXDataset` looks for them.
    static func write(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (prefix, count, seed) in [("train", trainCount, UInt64(1)), ("t10k", testCount, UInt64(2))] {
            let (pixels, labels) = images(count: count, seed: seed)
            try (bigEndian([0x0000_0803, count, side, side]) + Data(pixels))
                .write(to: dir.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try (bigEndian([0x0000_0801, count]) + Data(labels))
                .write(to: dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }
}

/// Configs of the tests, as JSON objects.
enum Configs {
    static func conv(_ name: String, kernel: Int, maps: Int, epochs: Int = 3) -> [String: Any] {
        [
            "type": "conv", "name": name, "kernel": kernel, "maps": maps, "epochs": epochs,
            "stdp": ["rule": "biological", "a": 0.1, "tau": 0.1],
            "threshold": ["init_mean": 8, "init_std": 0.1, "min": 1, "eta": 1, "target_time": 0.75],
            "anneal": 0.95,
            "pruning": ["final_sparsity": 0.5, "start_epoch": 0, "ramp": "cubic"],
        ]
    }

    /// One convolution: 5x5, 8 maps, 3 epochs, pruned to 50 %; T = 16.
    static func oneLayer(name: String = "bars", dataset: URL) -> [String: Any] {
        [
            "name": name, "seed": 1, "timesteps": 16,
            "dataset": ["format": "idx", "path": dataset.path],
            "preprocess": ["dog": ["size": 7, "sigma_center": 1, "sigma_surround": 4]],
            "layers": [conv("conv1", kernel: 5, maps: 8)],
            "readout": ["grid": 2, "C": 1],
            "spinnaker": ["machine": spinn5Machine, "neurons_per_core": 256],
        ]
    }

    /// conv 5x5 8 maps, pool 2/2, conv 3x3 12 maps.
    /// Three conv layers on 16x16: conv 5 -> 12x12x8, pool 2 -> 6x6, conv 3 pad 1 -> 6x6x10, pool 2 -> 3x3,
    /// fc (kernel 3) -> 1x1x16; two rules and normal initialisation on the way.
    static func threeLayers(name: String = "bars3", dataset: URL) -> [String: Any] {
        var c = oneLayer(name: name, dataset: dataset)
        var conv2 = conv("conv2", kernel: 3, maps: 10)
        conv2["pad"] = 1
        conv2["stdp"] = ["rule": "multiplicative", "a": 0.1, "b": 1]
        var fc = conv("fc1", kernel: 3, maps: 16)
        fc["weights"] = ["init": "normal", "mean": 0.8, "std": 0.1]
        c["layers"] = [conv("conv1", kernel: 5, maps: 8),
                       ["type": "pool", "name": "pool1", "window": 2, "stride": 2] as [String: Any],
                       conv2,
                       ["type": "pool", "name": "pool2", "window": 2, "stride": 2] as [String: Any],
                       fc]
        return c
    }

    /// The compression options on two layers: conv 5x5 8 maps pruned by a growing kernel-mean
    /// threshold (linear to 0.7) with full reinforcement; pool 2/2; conv 3x3 12 maps pruned to
    /// 60 % of its kernel slices on a cubic ramp from epoch 1, reinforcement 0.5.
    static func compressed(name: String = "barsc", dataset: URL) -> [String: Any] {
        var c = oneLayer(name: name, dataset: dataset)
        var conv1 = conv("conv1", kernel: 5, maps: 8)
        conv1["pruning"] = ["mode": "threshold", "final_threshold": 0.7, "ramp": "linear", "unit": "kernel", "reinforcement": 1]
        var conv2 = conv("conv2", kernel: 3, maps: 12)
        conv2["pruning"] = ["final_sparsity": 0.6, "start_epoch": 1, "ramp": "cubic", "unit": "kernel", "reinforcement": 0.5]
        c["layers"] = [conv1, ["type": "pool", "name": "pool1", "window": 2, "stride": 2] as [String: Any], conv2]
        return c
    }

    static func twoLayers(name: String = "bars2", dataset: URL) -> [String: Any] {
        var c = oneLayer(name: name, dataset: dataset)
        c["layers"] = [conv("conv1", kernel: 5, maps: 8),
                       ["type": "pool", "name": "pool1", "window": 2, "stride": 2] as [String: Any],
                       conv("conv2", kernel: 3, maps: 12).merging(["wta_infer": true]) { $1 }]
        return c
    }
}

// MARK: - Reading run outputs

func readJSON(_ url: URL) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

/// A JSON number as a Double, whatever Foundation decoded it as.
func number(_ v: Any?) -> Double? {
    switch v {
    case let d as Double: return d
    case let i as Int: return Double(i)
    case let n as NSNumber: return n.doubleValue
    default: return nil
    }
}

/// Follows a path of dictionary keys and array indices ("compression", "layers", 0, "pruned").
func lookup(_ json: Any?, _ path: Any...) -> Any? {
    var v = json
    for step in path {
        switch step {
        case let key as String: v = (v as? [String: Any])?[key]
        case let index as Int:
            guard let a = v as? [Any], a.indices.contains(index) else { return nil }
            v = a[index]
        default: return nil
        }
    }
    return v
}

func readFloats(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    guard data.count % 4 == 0 else { throw HarnessError("\(url.path): \(data.count) bytes is not a whole number of float32") }
    let bytes = [UInt8](data)
    var out: [Float] = []
    out.reserveCapacity(bytes.count / 4)
    for i in stride(from: 0, to: bytes.count, by: 4) {
        var bits = UInt32(bytes[i])
        bits |= UInt32(bytes[i + 1]) << 8
        bits |= UInt32(bytes[i + 2]) << 16
        bits |= UInt32(bytes[i + 3]) << 24
        out.append(Float(bitPattern: bits))
    }
    return out
}

func readBytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

/// The files a conv layer leaves in `weights/` (and lists in model.json's `files`, in this order).
func weightFiles(_ layer: String) -> [String] {
    ["weights/\(layer).weights.f32", "weights/\(layer).mask.u8", "weights/\(layer).thresholds.f32",
     "weights/\(layer).sparse"]
}

/// The files of the PyNN export (docs/PYNN.md) of a run with the given conv layers and pool
/// layers (each pool directly after a conv, so its expected output is known).
func pynnFiles(layers: [String], pools: [String] = []) -> [String] {
    ["spinnaker/pynn_network.py", "spinnaker/pynn/network.json", "spinnaker/pynn/inputs.npy"]
        + layers.flatMap { ["spinnaker/pynn/\($0).kernels.npy", "spinnaker/pynn/\($0).mask.npy", "spinnaker/pynn/expected_\($0).npy"] }
        + pools.map { "spinnaker/pynn/expected_\($0).npy" }
}

/// The complete set of files of a run directory with the given conv (and pool) layers.
func expectedRunFiles(layers: [String], pools: [String] = []) -> [String] {
    (["config.json", "epochs.csv", "metrics.json", "model.json", "training.svg",
      "spinnaker/machine.json", "spinnaker/placements.json", "spinnaker/routing_tables.json",
      "spinnaker/graph.json", "spinnaker/routing_keys.json", "spinnaker/traffic.json", "spinnaker/mapping_report.md"]
        + layers.flatMap(weightFiles) + pynnFiles(layers: layers, pools: pools)).sorted()
}

/// Every regular file under `dir`, as relative paths, sorted.
func filesUnder(_ dir: URL) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
    var files: [String] = []
    while let f = e.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path, isDirectory: &isDir), !isDir.boolValue {
            files.append(f)
        }
    }
    return files.sorted()
}

/// The exact compression rate magnitude pruning to `sparsity` must reach on `total` weights.
func expectedRate(sparsity: Double, total: Int) -> Double {
    (sparsity * Double(total)).rounded(.down) / Double(total)
}
