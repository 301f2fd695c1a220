import Foundation
import Testing
import SpiNNakerMapping

@Suite struct WriterTests {
    func object(_ data: Data) throws -> Any { try JSONSerialization.jsonObject(with: data) }

    func files(_ mapping: NetworkMapping, _ machine: Machine) throws -> [String: Data] {
        Dictionary(uniqueKeysWithValues: try pacmanFiles(mapping, machine: machine).map { ($0.name, $0.data) })
    }

    @Test func machineFileOfSpiNN5() throws {
        let json = try #require(try object(machineJSON(Machine.spinn5())) as? [String: Any])
        #expect(Set(json.keys) == ["width", "height", "root", "standardResources", "ethernetResources", "chips"])
        #expect(json["width"] as? Int == 8 && json["height"] as? Int == 8)
        #expect(json["root"] as? [Int] == [0, 0])
        let standard = try #require(json["standardResources"] as? [String: Any])
        #expect(standard["monitors"] as? Int == 1 && standard["routerEntries"] as? Int == 1023)
        #expect(standard["sdram"] as? Int == 123_469_792 && (standard["tags"] as? [Int])?.isEmpty == true)
        let ethernet = try #require(json["ethernetResources"] as? [String: Any])
        #expect(ethernet["monitors"] as? Int == 1 && ethernet["tags"] as? [Int] == [1, 2, 3, 4, 5, 6, 7])
        let chips = try #require(json["chips"] as? [[Any]])
        #expect(chips.count == 48)
        var details: [ChipCoordinate: [String: Any]] = [:]
        for row in chips {
            #expect(row.count == 3)   // no resource exceptions on a standard board
            details[chip(row[0] as! Int, row[1] as! Int)] = row[2] as? [String: Any]
        }
        let root = try #require(details[chip(0, 0)])
        #expect(root["cores"] as? Int == 18 && root["ethernet"] as? [Int] == [0, 0])
        #expect(root["deadLinks"] as? [Int] == [3, 4, 5] && root["ipAddress"] as? String == "127.0.0.0")
        let inner = try #require(details[chip(3, 3)])
        #expect(inner["cores"] as? Int == 17 && inner["deadLinks"] == nil && inner["ipAddress"] == nil)
        #expect(details[chip(7, 3)]?["deadLinks"] as? [Int] == [0, 1, 5])
    }

    @Test func placementsAndTables() throws {
        let m = Machine.spinn3()
        let layers = [NetworkLayer(name: "input", width: 4, height: 4, channels: 2),
                      NetworkLayer(name: "out", width: 2, height: 2, channels: 4)]
        let mapping = try mapNetwork(layers, onto: m, maxNeuronsPerCore: 4)
        let f = try files(mapping, m)
        #expect(Set(f.keys) == ["machine.json", "placements.json", "routing_tables.json"])

        let placements = try #require(try object(f["placements.json"]!) as? [[String: Any]])
        #expect(placements.count == 8 + 4)
        #expect(placements.allSatisfy { Set($0.keys) == ["vertex_label", "x", "y", "p"] })
        #expect(placements.first?["vertex_label"] as? String == "input/0")
        #expect(placements.last?["vertex_label"] as? String == "out/3")
        #expect(placements.last?["p"] as? Int == 12 && placements.last?["x"] as? Int == 0)

        let tables = try #require(try object(f["routing_tables.json"]!) as? [[String: Any]])
        #expect(tables.count == mapping.routingTables.count)
        for (json, table) in zip(tables, mapping.routingTables) {
            #expect(json["x"] as? Int == table.chip.x && json["y"] as? Int == table.chip.y)
            let entries = try #require(json["entries"] as? [[String: Any]])
            #expect(entries.map { $0["key"] as? Int } == table.entries.map { Int($0.key) })
            #expect(entries.map { $0["mask"] as? Int } == table.entries.map { Int($0.mask) })
            #expect(entries.map { $0["spinnaker_route"] as? Int } == table.entries.map { Int($0.route) })
        }
        let text = String(decoding: f["routing_tables.json"]!, as: UTF8.self)
        #expect(text.contains("\"defaultable\":false") && !text.contains("\"defaultable\":0"))
        // All 12 vertices sit on (0,0) p1-12: 2 neuron bits, 3 vertex bits, 1 layer bit; the 8
        // input entries merge into key 0 / mask 0xFFFFFFE0 sending to cores 9-12 (bits 15-18).
        #expect(text == #"[{"entries":[{"defaultable":false,"key":0,"mask":4294967264,"spinnaker_route":491520}],"x":0,"y":0}]"#)
    }

    @Test func writingReplacesFilesAndLeavesNoTemporaries() throws {
        let m = Machine.spinn3()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pacman-\(UUID().uuidString)/out")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let small = [NetworkLayer(name: "input", width: 2, height: 2, channels: 1),
                     NetworkLayer(name: "out", width: 1, height: 1, channels: 2)]
        try writePACMANFiles(try mapNetwork(small, onto: m), machine: m, to: dir)
        let bigger = [NetworkLayer(name: "input", width: 4, height: 4, channels: 2),
                      NetworkLayer(name: "out", width: 2, height: 2, channels: 4)]
        let mapping = try mapNetwork(bigger, onto: m, maxNeuronsPerCore: 4)
        try writePACMANFiles(mapping, machine: m, to: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["machine.json", "placements.json", "routing_tables.json"])
        let expected = try files(mapping, m)
        for name in names {
            #expect(try Data(contentsOf: dir.appendingPathComponent(name)) == expected[name])
        }
    }

    @Test func placementsOffTheMachineAreRefused() throws {
        let layers = [NetworkLayer(name: "input", width: 1, height: 1, channels: 300),
                      NetworkLayer(name: "out", width: 1, height: 1, channels: 300)]
        let mapping = try mapNetwork(layers, onto: Machine.spinn5(), maxNeuronsPerCore: 4)
        #expect(throws: MappingError.self) { try pacmanFiles(mapping, machine: Machine.spinn3()) }
    }
}
