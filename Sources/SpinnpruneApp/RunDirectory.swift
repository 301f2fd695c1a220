import Foundation
import SpikeReadout

/// A run's outputs are written into a hidden staging directory and renamed into `runs/<name>` only
/// when everything is there, so a failed or killed run never leaves a half-written run directory.
struct RunDirectory {
    let final: URL
    let staging: URL

    init(runsDir: URL, name: String) throws {
        final = runsDir.appendingPathComponent(name)
        staging = runsDir.appendingPathComponent(".\(name).partial-\(ProcessInfo.processInfo.processIdentifier)")
        let fm = FileManager.default
        try? fm.removeItem(at: staging)
        RunDirectory.sweepAbandoned(in: runsDir, name: name)
        do {
            try fm.createDirectory(at: staging.appendingPathComponent("weights"), withIntermediateDirectories: true)
            try fm.createDirectory(at: staging.appendingPathComponent("spinnaker"), withIntermediateDirectories: true)
        } catch {
            throw RunError("cannot create the run directory under \(runsDir.path): \(error.localizedDescription)")
        }
    }

    func url(_ relative: String) -> URL { staging.appendingPathComponent(relative) }

    func write(_ data: Data, to relative: String) throws {
        do {
            try FileManager.default.createDirectory(at: url(relative).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try data.write(to: url(relative), options: .atomic)
        } catch {
            throw RunError("cannot write \(url(relative).path): \(error.localizedDescription)")
        }
    }

    func writeJSON(_ object: Any, to relative: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try write(data + Data("\n".utf8), to: relative)
    }

    func writeFloats(_ values: [Float], to relative: String) throws {
        // Little-endian float32, no header: shapes and layout are in model.json.
        try write(values.withUnsafeBufferPointer { Data(buffer: $0) }, to: relative)
    }

    /// A feature matrix as `writeFloats` writes its values (row-major float32, codes looked up),
    /// written block by block: no float copy of the whole matrix is made.
    func writeFloats(_ features: FeatureMatrix, to relative: String) throws {
        let file = url(relative)
        do {
            let fm = FileManager.default
            try fm.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard fm.createFile(atPath: file.path, contents: nil) else {
                throw RunError("cannot write \(file.path): cannot create the file")
            }
            let handle = try FileHandle(forWritingTo: file)
            do {
                // Blocks of about 4 MiB.
                try features.forEachBlock(0..<features.count, rowsPerBlock: max(1, (1 << 20) / max(features.dim, 1))) { rows, xs in
                    try handle.write(contentsOf: Data(bytes: xs, count: rows.count * features.dim * MemoryLayout<Float>.size))
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
        } catch let e as RunError {
            throw e
        } catch {
            throw RunError("cannot write \(file.path): \(error.localizedDescription)")
        }
    }

    /// Moves the finished run into place, replacing an earlier run of the same name. If the new run
    /// cannot be moved in, the earlier one is put back.
    func commit() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: final.path) {
            let old = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
            try fm.moveItem(at: final, to: old)
            do {
                try fm.moveItem(at: staging, to: final)
            } catch {
                try? fm.moveItem(at: old, to: final)
                throw RunError("cannot move the finished run to \(final.path): \(error.localizedDescription)")
            }
            try? fm.removeItem(at: old)
        } else {
            try fm.moveItem(at: staging, to: final)
        }
    }

    /// Removes staging and replaced directories of this name left by runs that died (killed, or
    /// stopped by another rank's failure); a directory of a live process is left alone.
    static func sweepAbandoned(in runsDir: URL, name: String) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: runsDir.path) else { return }
        for e in entries {
            for marker in [".\(name).partial-", ".\(name).old-"] where e.hasPrefix(marker) {
                guard let pid = Int32(e.dropFirst(marker.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
                try? fm.removeItem(at: runsDir.appendingPathComponent(e))
            }
        }
    }

    func discard() { try? FileManager.default.removeItem(at: staging) }
}

public struct RunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
