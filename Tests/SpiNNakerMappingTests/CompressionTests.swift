import Testing
import SpiNNakerMapping

@Suite struct CompressionTests {
    let m: UInt32 = 0xFFFF_FFF0
    func entry(_ key: UInt32, _ route: UInt32, defaultable: Bool = false) -> RoutingEntry {
        RoutingEntry(key: key, mask: m, route: route, defaultable: defaultable)
    }

    @Test func mergeKeepsOnlyAgreeingBits() {
        let a = KeyAndMask(key: 0x10, mask: m), b = KeyAndMask(key: 0x30, mask: m)
        #expect(mergedKeyAndMask(a, b) == KeyAndMask(key: 0x10, mask: 0xFFFF_FFD0))
        #expect(mergedKeyAndMask(KeyAndMask(key: 0x00, mask: m), KeyAndMask(key: 0x30, mask: m))
                == KeyAndMask(key: 0, mask: 0xFFFF_FFC0))
    }

    @Test func mergeAroundAnEntryOfAnotherRoute() {
        // 0x00 and 0x20 merge to 0x00/...D0, which does not match 0x10.
        let table = RoutingTable(chip: chip(0, 0), entries: [entry(0x00, 1), entry(0x10, 2), entry(0x20, 1)])
        #expect(compressTable(table, zoneMask: 0xFFFF_FF00).entries == [
            RoutingEntry(key: 0x00, mask: 0xFFFF_FFD0, route: 1, defaultable: false), entry(0x10, 2),
        ])
    }

    @Test func mergeThatWouldCaptureAnotherRouteIsRefused() {
        // 0x00 + 0x30 would be 0x00/...CF, matching 0x10 of route 2.
        let table = RoutingTable(chip: chip(0, 0), entries: [entry(0x00, 1), entry(0x10, 2), entry(0x30, 1)])
        #expect(compressTable(table, zoneMask: 0xFFFF_FF00).entries == table.entries)
    }

    @Test func droppedDefaultableEntriesStillBlockMerges() {
        let table = RoutingTable(chip: chip(0, 0), entries: [entry(0x00, 1), entry(0x10, 1, defaultable: true), entry(0x30, 1)])
        #expect(compressTable(table, zoneMask: 0xFFFF_FF00).entries == [entry(0x00, 1), entry(0x30, 1)])
        let open = RoutingTable(chip: chip(0, 0), entries: [entry(0x00, 1), entry(0x110, 1, defaultable: true), entry(0x30, 1)])
        #expect(compressTable(open, zoneMask: 0xFFFF_FF00).entries
                == [RoutingEntry(key: 0x00, mask: 0xFFFF_FFC0, route: 1, defaultable: false)])
    }

    @Test func entriesOfDifferentLayersDoNotMerge() {
        let table = RoutingTable(chip: chip(0, 0), entries: [entry(0x000, 1), entry(0x100, 1)])
        #expect(compressTable(table, zoneMask: 0xFFFF_FF00).entries == table.entries)
        #expect(compressTable(table, zoneMask: 0xFFFF_F000).entries
                == [RoutingEntry(key: 0, mask: 0xFFFF_FEF0, route: 1, defaultable: false)])
    }

    @Test func oversizedTableNamesTheChip() throws {
        // Route by the parity of the vertex number: any merge of two same-parity keys also
        // covers a key one bit away, of the other parity, so nothing merges.
        let entries = (0..<200).map {
            RoutingEntry(key: UInt32($0) << 4, mask: m, route: UInt32(1 + $0.nonzeroBitCount % 2), defaultable: false)
        }
        let table = RoutingTable(chip: chip(3, 4), entries: entries)
        #expect(compressTable(table, zoneMask: 0xFFFF_0000).entries.count == 200)
        #expect(throws: MappingError.routingTableTooLarge(chip: chip(3, 4), entries: 200, limit: 199)) {
            try compressTables([table], zoneMask: 0xFFFF_0000, limit: 199)
        }
        #expect(try compressTables([table], zoneMask: 0xFFFF_0000).count == 1)   // within the default 1023
        #expect(MappingError.routingTableTooLarge(chip: chip(3, 4), entries: 1100, limit: 1023).description
                == "routing table of chip (3, 4) has 1100 entries after compression, the router holds 1023")
    }

    /// Every key of every original entry is routed alike by the compressed table: a kept entry
    /// by its first match, a defaultable one by no match at all.
    @Test func compressedTablesAreEquivalentOnTheNetwork() throws {
        let mapping = try mapNetwork(convolutionalChain, onto: Machine.spinn5(), maxNeuronsPerCore: 64)
        let compressed = Dictionary(uniqueKeysWithValues: mapping.routingTables.map { ($0.chip, $0.entries) })
        for table in mapping.uncompressedTables {
            for original in table.entries {
                let match = compressed[table.chip]?.first { original.key & $0.mask == $0.key }
                if original.defaultable {
                    #expect(match == nil, "\(original) on \(table.chip)")
                } else {
                    #expect(match?.route == original.route, "\(original) on \(table.chip)")
                }
            }
        }
    }
}
