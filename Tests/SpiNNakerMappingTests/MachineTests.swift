import Testing
import SpiNNakerMapping

@Suite struct MachineTests {
    let spinn5 = Machine.spinn5()

    @Test func spinn5HasTheReferenceRows() {
        // Rows copied from the reference: y -> first and last x.
        let rows = [0: 0...4, 1: 0...5, 2: 0...6, 3: 0...7, 4: 1...7, 5: 2...7, 6: 3...7, 7: 4...7]
        var expected: Set<ChipCoordinate> = []
        for (y, xs) in rows { for x in xs { expected.insert(chip(x, y)) } }
        #expect(expected.count == 48)
        #expect(Set(spinn5.chips.keys) == expected)
        #expect(spinn5.width == 8 && spinn5.height == 8)
        #expect(!spinn5.wrapsX && !spinn5.wrapsY)
        #expect(spinn5.root == chip(0, 0))
    }

    @Test func spinn5CoresAndEthernet() {
        let seventeen: Set = [chip(1, 1), chip(1, 3), chip(3, 1), chip(3, 3),
                              chip(3, 5), chip(5, 2), chip(5, 4), chip(5, 6)]
        for (c, ch) in spinn5.chips {
            #expect(ch.totalCores == (seventeen.contains(c) ? 17 : 18), "cores of \(c)")
            #expect(ch.ethernet == chip(0, 0))
            #expect((ch.ipAddress != nil) == (c == chip(0, 0)))
        }
        #expect(spinn5.chips[chip(0, 0)]!.applicationCores == 15)
        #expect(spinn5.chips[chip(0, 0)]!.applicationCoreIDs == 1...15)
        #expect(spinn5.chips[chip(2, 0)]!.applicationCores == 16)
        #expect(spinn5.chips[chip(1, 1)]!.applicationCores == 15)
        // 1 Ethernet chip x 15 + 8 chips of 17 cores x 15 + 39 chips x 16.
        #expect(spinn5.applicationCores == 15 + 8 * 15 + 39 * 16)
        #expect(spinn5.routerEntries == 1023 && spinn5.sdramPerChip == 123_469_792)
    }

    @Test(arguments: [
        (0, 0, [3, 4, 5]),   // corner: nothing west or south
        (4, 0, [0, 4, 5]),   // (5,0) missing; (5,1) exists
        (7, 7, [0, 1, 2]),   // top-right corner
        (0, 3, [2, 3, 4]),   // (0,4) missing; (1,4) exists
        (3, 6, [2, 3]),      // (3,7) and (2,6) missing; (2,5) exists
        (7, 3, [0, 1, 5]),   // (7,2) missing
        (3, 3, []),          // interior
        (2, 2, []),
    ])
    func spinn5DeadLinks(x: Int, y: Int, dead: [Int]) {
        #expect(spinn5.chips[chip(x, y)]!.deadLinks.map(\.rawValue).sorted() == dead)
    }

    @Test func liveLinksAreSymmetricOnSpiNN5() {
        for (c, _) in spinn5.chips {
            for link in Link.allCases {
                guard let n = spinn5.neighbour(of: c, via: link) else { continue }
                #expect(spinn5.neighbour(of: n, via: link.opposite) == c)
            }
        }
    }

    @Test func spinn3IsAWrappedFourChipBoard() {
        let m = Machine.spinn3()
        #expect(Set(m.chips.keys) == [chip(0, 0), chip(0, 1), chip(1, 0), chip(1, 1)])
        #expect(m.wrapsX && m.wrapsY && m.width == 2 && m.height == 2)
        #expect(m.chips.values.allSatisfy { $0.totalCores == 18 && $0.ethernet == chip(0, 0) })
        #expect(m.applicationCores == 15 + 3 * 16)
        // Vertical wrap-arounds work: south of (0,0) is (0,1), north of (1,1) is (1,0).
        #expect(m.neighbour(of: chip(0, 0), via: .south) == chip(0, 1))
        #expect(m.neighbour(of: chip(1, 1), via: .north) == chip(1, 0))
        // Horizontal wrap-arounds are not wired on the board.
        #expect(m.chips[chip(0, 0)]!.deadLinks == [.west, .southWest])
        #expect(m.chips[chip(0, 1)]!.deadLinks == [.west, .southWest])
        #expect(m.chips[chip(1, 0)]!.deadLinks == [.east, .northEast])
        #expect(m.chips[chip(1, 1)]!.deadLinks == [.east, .northEast])
        #expect(m.neighbour(of: chip(0, 0), via: .northEast) == chip(1, 1))
    }

    @Test func removingAChipKillsTheLinksIntoIt() throws {
        let m = try spinn5.removing(chips: [chip(2, 2)])
        #expect(m.chips.count == 47)
        #expect(m.chips[chip(1, 2)]!.deadLinks == [.east])
        #expect(m.chips[chip(1, 1)]!.deadLinks == [.northEast])
        #expect(m.chips[chip(2, 1)]!.deadLinks == [.north])
        #expect(m.chips[chip(3, 2)]!.deadLinks == [.west])
        #expect(m.chips[chip(3, 3)]!.deadLinks == [.southWest])
        #expect(m.chips[chip(2, 3)]!.deadLinks == [.south])
        #expect(m.applicationCores == spinn5.applicationCores - 16)
    }

    @Test func invalidMachinesAreRejected() {
        #expect(throws: MappingError.self) {
            try Machine(width: 2, height: 2, wrapsX: false, wrapsY: false, root: chip(0, 0),
                        chips: [Chip(coordinate: chip(2, 0), totalCores: 18, ethernet: chip(2, 0))])
        }
        #expect(throws: MappingError.invalidMachine("root chip (0, 0) does not exist")) {
            try Machine(width: 2, height: 2, wrapsX: false, wrapsY: false, root: chip(0, 0),
                        chips: [Chip(coordinate: chip(1, 0), totalCores: 18, ethernet: chip(1, 0))])
        }
    }
}
