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
        #expect(try Machine.load(descriptionAt: dir.appendingPathComponent("triad.json")) == Machine.triads(1, 1))
        #expect(try Machine.load(descriptionAt: dir.appendingPathComponent("24-boards.json")) == Machine.triads(4, 2))
        #expect(try Machine.load(descriptionAt: dir.appendingPathComponent("spalloc-16x16.json"))
                == Machine.spalloc(width: 16, height: 16))
        let faulty = try Machine.load(descriptionAt: dir.appendingPathComponent("spinn5-faulty.json"))
        #expect(faulty.chips.count == 47 && faulty.chips[chip(6, 6)] == nil)
        // (2,2) -> (3,2) is broken both ways; the chips around (6,6) lose their links into it.
        #expect(faulty.chips[chip(2, 2)]!.deadLinks == [.east] && faulty.chips[chip(3, 2)]!.deadLinks == [.west])
        #expect(faulty.chips[chip(5, 5)]!.deadLinks == [.northEast] && faulty.chips[chip(7, 7)]!.deadLinks == [.east, .northEast, .north, .southWest])
        // Every description in the directory loads.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 6)
        for name in names {
            #expect(throws: Never.self, "\(name)") { try Machine.load(descriptionAt: dir.appendingPathComponent(name)) }
        }
    }

    @Test func multiBoardKinds() throws {
        #expect(try load(#"{"kind": "triads", "triads": [2, 1]}"#) == Machine.triads(2, 1))
        #expect(try load(#"{"kind": "boards", "boards": 1}"#) == Machine.spinn5())
        #expect(try load(#"{"kind": "boards", "boards": 3}"#) == Machine.triads(1, 1))
        let twelve = try load(#"{"kind": "boards", "boards": 12}"#)
        #expect(twelve.width == 24 && twelve.height == 24 && twelve.chips.count == 576)
        let spalloc = try load(#"{"kind": "spalloc", "width": 28, "height": 16}"#)
        #expect(spalloc.width == 28 && spalloc.height == 16 && !spalloc.wrapsX && spalloc.ethernetChips.count == 6)
        // "cores" gives every chip the same count: 144 x 16 - 3 on a triad of whole chips.
        let whole = try load(#"{"kind": "triads", "triads": [1, 1], "cores": 18}"#)
        #expect(whole.applicationCores == 144 * 16 - 3)
        let sixteen = try load(#"{"kind": "spinn3", "cores": 16}"#)
        #expect(sixteen.applicationCores == 13 + 3 * 14)
    }

    @Test func deadChipsAndLinksOnEveryKind() throws {
        // On the triad torus (11,11)'s neighbours include (0,0) across both wraps.
        let triad = try load(#"{"kind": "triads", "triads": [1, 1], "dead_chips": [[11, 11]], "dead_links": [[11, 0, 0]]}"#)
        #expect(triad.chips.count == 143 && triad.chips[chip(11, 11)] == nil)
        #expect(triad.chips[chip(0, 0)]!.deadLinks == [.southWest])
        // (11,0): east broken; south of it is (11, -1 mod 12) = (11,11), removed.
        #expect(triad.chips[chip(11, 0)]!.deadLinks == [.east, .south])
        #expect(triad.neighbour(of: chip(0, 0), via: .west) == chip(11, 0))   // broken one way only
        let boards = try load(#"{"kind": "boards", "boards": 24, "dead_chips": [[47, 23]]}"#)
        #expect(boards.chips.count == 1151 && boards.chips[chip(0, 0)]!.deadLinks == [.southWest])
        let spalloc = try load(#"{"kind": "spalloc", "width": 16, "height": 16, "dead_links": [[15, 11, 3]]}"#)
        #expect(spalloc.chips[chip(15, 11)]!.deadLinks == [.east, .northEast, .north, .west])
        let spinn3 = try load(#"{"kind": "spinn3", "dead_chips": [[1, 1]]}"#)
        #expect(spinn3.chips.count == 3)
        // Ethernet chips of every board stay.
        #expect(field(of: #"{"kind": "triads", "triads": [1, 1], "dead_chips": [[4, 8]]}"#) == "dead_chips[0]")
        #expect(field(of: #"{"kind": "boards", "boards": 24, "dead_chips": [[1, 1], [44, 16]]}"#) == "dead_chips[1]")
        #expect(field(of: #"{"kind": "spalloc", "width": 16, "height": 16, "dead_chips": [[12, 0]]}"#) == "dead_chips[0]")
        #expect(field(of: #"{"kind": "spalloc", "width": 16, "height": 16, "dead_links": [[15, 15, 0]]}"#) == "dead_links[0]")
    }

    @Test(arguments: [
        (#"{"kind": "triads"}"#, "triads"),
        (#"{"kind": "triads", "triads": [1]}"#, "triads"),
        (#"{"kind": "triads", "triads": 3}"#, "triads"),
        (#"{"kind": "triads", "triads": [1, 0]}"#, "triads[1]"),
        (#"{"kind": "triads", "triads": [-2, 1]}"#, "triads[0]"),
        (#"{"kind": "triads", "triads": [22, 1]}"#, "triads[0]"),
        (#"{"kind": "triads", "triads": [1, "a"]}"#, "triads[1]"),
        (#"{"kind": "boards"}"#, "boards"),
        (#"{"kind": "boards", "boards": 4}"#, "boards"),
        (#"{"kind": "boards", "boards": 0}"#, "boards"),
        (#"{"kind": "boards", "boards": -3}"#, "boards"),
        (#"{"kind": "boards", "boards": 2.5}"#, "boards"),
        (#"{"kind": "boards", "boards": "24"}"#, "boards"),
        (#"{"kind": "boards", "boards": 1e30}"#, "boards"),
        (#"{"kind": "triads", "triads": [1, 1.5]}"#, "triads[1]"),
        (#"{"kind": "spinn5", "dead_links": [[1, 1, 0], [0, 0.5, 1]]}"#, "dead_links[1][1]"),
        (#"{"kind": "boards", "boards": 3000}"#, "boards"),
        (#"{"kind": "boards", "boards": 93}"#, "boards"),            // 31 x 1 triads: 372 chips wide
        (#"{"kind": "spalloc", "height": 16}"#, "width"),
        (#"{"kind": "spalloc", "width": 16}"#, "height"),
        (#"{"kind": "spalloc", "width": 24, "height": 16}"#, "width"),
        (#"{"kind": "spalloc", "width": 16, "height": 12}"#, "height"),
        (#"{"kind": "spalloc", "width": 4, "height": 16}"#, "width"),
        (#"{"kind": "spalloc", "width": 16, "height": -8}"#, "height"),
        (#"{"kind": "spalloc", "width": 268, "height": 16}"#, "width"),
        (#"{"kind": "spinn5", "boards": 3}"#, "boards"),
        (#"{"kind": "triads", "triads": [1, 1], "width": 16}"#, "width"),
        (#"{"kind": "boards", "boards": 3, "triads": [1, 1]}"#, "triads"),
        (#"{"kind": "spinn5", "cores": 19}"#, "cores"),
        (#"{"kind": "triads", "triads": [1, 1], "cores": 0}"#, "cores"),
        (#"{"kind": "spinn3", "cores": -1}"#, "cores"),
        (#"{"kind": "spinn5", "board": 3}"#, "board"),
    ])
    func badMultiBoardFieldsAreNamed(text: String, expected: String) {
        #expect(field(of: text) == expected, "\(text)")
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
        do {
            _ = try load(#"{"kind": "boards", "boards": 4}"#, name: "four-boards.json")
            Issue.record("4 boards loaded")
        } catch {
            let text = "\(error)"
            #expect(text.contains("four-boards.json") && text.contains("\"boards\"") && text.contains("multiple of 3"), "\(text)")
        }
        #expect(throws: MappingError.self) { try load("not json") }
        #expect(throws: MappingError.self) {
            try Machine.load(descriptionAt: URL(fileURLWithPath: "/nonexistent/board.json"))
        }
    }
}
