import Foundation
import Testing
import SpiNNakerMapping

@Suite struct DescriptionTests {
    /// Writes `text` to a fresh file and loads it.
    func load(_ text: String, name: String = "machine.json") throws -> Machine {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return try Machine.load(descriptionAt: url)
    }

    func field(of text: String) -> String? {
        do {
            _ = try load(text)
            return nil
        } catch let MappingError.invalidDescription(_, field, _) {
            return field
        } catch {
            return "other error: \(error)"
        }
    }

    @Test func repositoryDescriptionsLoad() throws {
        let dir = repositoryRoot.appendingPathComponent("cluster-configs/machines")
        #expect(try Machine.load(descriptionAt: dir.appendingPathComponent("spinn5.json")) == Machine.spinn5())
        #expect(try Machine.load(descriptionAt: dir.appendingPathComponent("spinn3.json")) == Machine.spinn3())
    }

    @Test func deadChipsAndLinks() throws {
        let m = try load(#"{"kind": "spinn5", "dead_chips": [[7, 7]], "dead_links": [[2, 2, 0]]}"#)
        #expect(m.chips.count == 47 && m.chips[chip(7, 7)] == nil)
        #expect(m.chips[chip(6, 7)]!.deadLinks == [.east, .northEast, .north])
        #expect(m.chips[chip(2, 2)]!.deadLinks == [.east])
        #expect(m.chips[chip(3, 2)]!.deadLinks == [])   // a dead link is dead one way only
    }

    @Test func errorsNameTheField() {
        #expect(field(of: #"{"kind": "spinn9"}"#) == "kind")
        #expect(field(of: #"{"dead_chips": []}"#) == "kind")
        #expect(field(of: #"{"kind": 5}"#) == "kind")
        #expect(field(of: #"{"kind": "spinn5", "dead_link": []}"#) == "dead_link")
        #expect(field(of: #"{"kind": "spinn5", "dead_links": [[0, 0, 9]]}"#) == "dead_links[0]")
        #expect(field(of: #"{"kind": "spinn5", "dead_links": [[1, 1, 0], [0, 0]]}"#) == "dead_links[1]")
        #expect(field(of: #"{"kind": "spinn5", "dead_links": [[0, 0, "a"]]}"#) == "dead_links[0][2]")
        #expect(field(of: #"{"kind": "spinn5", "dead_chips": [[0, 7]]}"#) == "dead_chips[0]")
        #expect(field(of: #"{"kind": "spinn5", "dead_chips": [[0, 0]]}"#) == "dead_chips[0]")
        #expect(field(of: #"{"kind": "spinn5", "dead_chips": 3}"#) == "dead_chips")
    }

    @Test func errorMessagesNameTheFile() {
        do {
            _ = try load(#"{"kind": "spinn9"}"#, name: "odd-board.json")
            Issue.record("an unknown kind loaded")
        } catch {
            let text = "\(error)"
            #expect(text.contains("odd-board.json") && text.contains("\"kind\"") && text.contains("spinn9"), "\(text)")
        }
        #expect(throws: MappingError.self) { try load("not json") }
        #expect(throws: MappingError.self) {
            try Machine.load(descriptionAt: URL(fileURLWithPath: "/nonexistent/board.json"))
        }
    }
}
