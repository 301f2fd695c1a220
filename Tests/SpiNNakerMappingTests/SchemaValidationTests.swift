import Foundation
import Testing
import SpiNNakerMapping

/// Validates written files with tools/validate_pacman.py against the schemas of the real
/// spinnaker-pacman wheel. Missing schemas fail the test: run launch/fetch-pacman-schemas.
@Suite struct SchemaValidationTests {
    /// 8 + 12 + 1 vertices at 16 neurons per core: fits a SpiNN-3 and spans three of its chips.
    let smallChain = [NetworkLayer(name: "input", width: 8, height: 8, channels: 2),
                      NetworkLayer(name: "conv", width: 6, height: 6, channels: 4),
                      NetworkLayer(name: "output", width: 1, height: 1, channels: 10)]
    let schemas = repositoryRoot.appendingPathComponent(".tools/pacman-schemas")

    func validate(_ directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("tools/validate_pacman.py").path, directory.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func schemasPresent() -> Bool {
        let present = ["machine.json", "placements.json", "routing_tables.json"].allSatisfy {
            FileManager.default.fileExists(atPath: schemas.appendingPathComponent($0).path)
        }
        if !present {
            Issue.record("PACMAN schemas missing in \(schemas.path): run launch/fetch-pacman-schemas")
        }
        return present
    }

    func writtenFiles(_ machine: Machine, _ layers: [NetworkLayer], maxNeuronsPerCore: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)")
        try writePACMANFiles(try mapNetwork(layers, onto: machine, maxNeuronsPerCore: maxNeuronsPerCore),
                             machine: machine, to: dir)
        return dir
    }

    @Test(arguments: ["spinn3", "spinn5"])
    func writtenFilesMatchThePACMANSchemas(board: String) throws {
        guard schemasPresent() else { return }
        let machine = board == "spinn3" ? Machine.spinn3() : Machine.spinn5()
        let layers = board == "spinn3" ? smallChain : Array(convolutionalChain.prefix(3))
        let dir = try writtenFiles(machine, layers, maxNeuronsPerCore: board == "spinn3" ? 16 : 64)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (status, output) = try validate(dir)
        #expect(status == 0, "validate_pacman.py: \(output)")
    }

    /// Multi-board machines: the triad torus (wrap-around links, three Ethernet chips), a
    /// non-wrapped allocation and a triad with a dead chip and a dead link.
    @Test(arguments: ["triad", "spalloc-16x16", "faulty-triad"])
    func multiBoardFilesMatchThePACMANSchemas(kind: String) throws {
        guard schemasPresent() else { return }
        let machine: Machine
        switch kind {
        case "triad": machine = try Machine.triads(1, 1)
        case "spalloc-16x16": machine = try Machine.spalloc(width: 16, height: 16)
        default: machine = try Machine.triads(1, 1).removing(chips: [chip(11, 11)], breaking: [(chip(1, 0), .east)])
        }
        // 28 + 288 + 96 vertices at 64 neurons per core: more than one board of the triad.
        let dir = try writtenFiles(machine, Array(convolutionalChain.prefix(3)), maxNeuronsPerCore: 64)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (status, output) = try validate(dir)
        #expect(status == 0, "validate_pacman.py: \(output)")
    }

    @Test func theValidatorRejectsABrokenFile() throws {
        guard schemasPresent() else { return }
        let dir = try writtenFiles(Machine.spinn3(), smallChain, maxNeuronsPerCore: 16)
        defer { try? FileManager.default.removeItem(at: dir) }
        // An extra field is not allowed by placements.json.
        try #"[{"vertex_label": "a", "x": 0, "y": 0, "p": 1, "extra": 2}]"#
            .write(to: dir.appendingPathComponent("placements.json"), atomically: true, encoding: .utf8)
        let (status, output) = try validate(dir)
        #expect(status == 1, "\(output)")
        #expect(output.contains("placements.json") && output.contains("extra"), "\(output)")
    }
}
