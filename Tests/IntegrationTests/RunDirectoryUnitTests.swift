import Foundation
import Testing
@testable import SpinnpruneApp

/// Staging directories of dead runs are swept; those of live processes are not.
@Suite struct RunDirectorySweepTests {
    @Test func abandonedStagingOfDeadProcessesIsRemoved() throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let fm = FileManager.default
        // pid 2147483646 cannot exist (above any pid_max); pid 1 always does.
        for name in [".exp.partial-2147483646", ".exp.old-2147483646", ".exp.partial-1", ".other.partial-2147483646", "exp2"] {
            try fm.createDirectory(at: runs.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let dir = try RunDirectory(runsDir: runs, name: "exp")
        let left = Set(try fm.contentsOfDirectory(atPath: runs.path))
        #expect(left == [".exp.partial-1", ".other.partial-2147483646", "exp2", dir.staging.lastPathComponent])
        try dir.commit()
        #expect(fm.fileExists(atPath: runs.appendingPathComponent("exp/weights").path))
    }
}
