import Foundation
import Testing
import SpiNNakerMapping

/// Machines of several SpiNN-5 boards. Expected values are worked out by hand from the board
/// shape (rows y: x-range 0: 0-4, 1: 0-5, 2: 0-6, 3: 0-7, 4: 1-7, 5: 2-7, 6: 3-7, 7: 4-7) and
/// the triad's Ethernet chips (0,0), (4,8), (8,4).
@Suite struct MultiBoardTests {
    let triad = try! Machine.triads(1, 1)

    /// Every (x, y) of a width x height box.
    func box(_ width: Int, _ height: Int) -> Set<ChipCoordinate> {
        Set((0..<width).flatMap { x in (0..<height).map { y in chip(x, y) } })
    }

    /// Chips per Ethernet chip.
    func boardSizes(_ m: Machine) -> [ChipCoordinate: Int] {
        m.chips.values.reduce(into: [:]) { $0[$1.ethernet, default: 0] += 1 }
    }

    @Test func aTriadIsATwelveByTwelveTorusOfThreeBoards() {
        #expect(triad.width == 12 && triad.height == 12 && triad.wrapsX && triad.wrapsY)
        #expect(triad.root == chip(0, 0))
        #expect(triad.chips.count == 144)
        #expect(Set(triad.chips.keys) == box(12, 12))   // every chip of the torus, each once
        #expect(triad.ethernetChips == [chip(0, 0), chip(4, 8), chip(8, 4)])
        #expect(boardSizes(triad) == [chip(0, 0): 48, chip(4, 8): 48, chip(8, 4): 48])
        #expect(triad.chips[chip(0, 0)]!.ipAddress == "127.0.0.0")
        #expect(triad.chips[chip(4, 8)]!.ipAddress == "127.0.4.8")
        #expect(triad.chips[chip(8, 4)]!.ipAddress == "127.0.8.4")
        #expect(triad.chips.values.filter { $0.ipAddress != nil }.count == 3)
    }

    @Test(arguments: [
        // (11,11): on (4,8)'s board at local (7,3), row 3 holds x 0-7. Not on (0,0)'s (x 11 > 7)
        // nor on (8,4)'s: local (3,7), row 7 holds only x 4-7.
        (11, 11, 4, 8),
        // (11,0): (4,8)'s board at local (7, 0-8 mod 12 = 4), row 4 holds x 1-7 (wraps in y).
        (11, 0, 4, 8),
        // (0,11): (8,4)'s board at local (0-8 mod 12 = 4, 7), row 7 holds x 4-7 (wraps in x).
        (0, 11, 8, 4),
        // (0,4): not on (0,0)'s board (row 4 starts at x 1); (8,4)'s at local (4, 0), row 0 x 0-4.
        (0, 4, 8, 4),
        // (8,3): not (0,0)'s (x 8 > 7), not (8,4)'s (local y -1 = 11); (4,8)'s at local (4, 7).
        (8, 3, 4, 8),
        // (7,3) and (4,0): the ends of rows 3 and 0 of the (0,0) board itself.
        (7, 3, 0, 0), (4, 0, 0, 0),
        // (5,0): past the end of row 0 of (0,0)'s board; (4,8)'s at local (1, 0-8 mod 12 = 4),
        // row 4 starts at x 1.
        (5, 0, 4, 8),
    ])
    func chipsBelongToTheRightBoard(x: Int, y: Int, ethernetX: Int, ethernetY: Int) {
        #expect(triad.chips[chip(x, y)]?.ethernet == chip(ethernetX, ethernetY))
    }

    @Test func aFullTorusHasNoDeadLinksAndWrapsBothWays() {
        #expect(triad.chips.values.allSatisfy { $0.deadLinks.isEmpty })
        #expect(triad.neighbour(of: chip(11, 0), via: .east) == chip(0, 0))
        #expect(triad.neighbour(of: chip(0, 0), via: .west) == chip(11, 0))
        #expect(triad.neighbour(of: chip(0, 0), via: .southWest) == chip(11, 11))
        #expect(triad.neighbour(of: chip(11, 11), via: .northEast) == chip(0, 0))
        #expect(triad.neighbour(of: chip(5, 11), via: .north) == chip(5, 0))
        #expect(triad.neighbour(of: chip(5, 0), via: .south) == chip(5, 11))
        // Across the torus the far corner is one hop away.
        #expect(triad.hopDistance(chip(0, 0), chip(11, 11)) == 1)
    }

    @Test func coresFollowTheSpiNN5PatternOnEveryBoardUnlessOverridden() throws {
        // 17 cores at local (1,1), (5,6) etc. of every board: (4,8)+(1,1) = (5,9), (8,4)+(1,1) =
        // (9,5), and (4,8)+(5,6) = (9,14) wraps to (9,2).
        for c in [chip(1, 1), chip(5, 9), chip(9, 5), chip(9, 2), chip(5, 6)] {
            #expect(triad.chips[c]!.totalCores == 17, "\(c)")
        }
        for c in [chip(0, 0), chip(2, 2), chip(11, 11), chip(4, 8)] {
            #expect(triad.chips[c]!.totalCores == 18, "\(c)")
        }
        // 144 chips x 16, 3 Ethernet chips keep one more, 24 chips of 17 cores one fewer.
        #expect(triad.applicationCores == 144 * 16 - 3 - 24)
        let whole = try Machine.triads(1, 1, cores: 18)
        #expect(whole.chips.values.allSatisfy { $0.totalCores == 18 })
        #expect(whole.applicationCores == 144 * 16 - 3)
        #expect(try triad.settingCores(18) == whole)
    }

    @Test(arguments: [
        // rig's standard_system_dimensions: largest h <= sqrt(n/3) dividing n/3, w = n/3/h.
        (3, 1, 1), (6, 2, 1), (9, 3, 1), (12, 2, 2), (18, 3, 2), (21, 7, 1),
        (24, 4, 2), (27, 3, 3), (36, 4, 3), (48, 4, 4), (120, 8, 5), (1200, 20, 20),
    ])
    func boardCountsBecomeTheSquarestTriads(boards: Int, w: Int, h: Int) throws {
        let grid = try Machine.triadGrid(boards: boards)
        #expect(grid.width == w && grid.height == h)
    }

    @Test func twentyFourBoardsAreFourByTwoTriads() throws {
        let m = try Machine.boards(24)
        #expect(m.width == 48 && m.height == 24 && m.wrapsX && m.wrapsY)
        #expect(m.chips.count == 1152 && Set(m.chips.keys) == box(48, 24))
        #expect(m.ethernetChips.count == 24)
        #expect(boardSizes(m).values.allSatisfy { $0 == 48 })
        // Triads at x 0, 12, 24, 36 and y 0, 12: e.g. (12,0)+(4,8) = (16,8), (36,12)+(8,4) = (44,16).
        for c in [chip(12, 0), chip(16, 8), chip(20, 4), chip(0, 12), chip(36, 12), chip(40, 20), chip(44, 16)] {
            #expect(m.chips[c]?.isEthernet == true, "\(c)")
        }
        // (47,23) is (11,11) of the last triad (36,12): on the board of (40,20).
        #expect(m.chips[chip(47, 23)]!.ethernet == chip(40, 20))
        // (47,0): local (7, 0-20 mod 24 = 4) of (40,20)'s board, across the y wrap.
        #expect(m.chips[chip(47, 0)]!.ethernet == chip(40, 20))
        #expect(m.neighbour(of: chip(47, 23), via: .northEast) == chip(0, 0))
        #expect(m.chips.values.allSatisfy { $0.deadLinks.isEmpty })
        #expect(m.applicationCores == 1152 * 16 - 24 - 24 * 8)
        #expect(try Machine.boards(1) == Machine.spinn5())
        #expect(try Machine.boards(3) == triad)
    }

    @Test func badBoardCountsAreRefused() {
        for n in [0, 2, 4, -3, 25] {
            #expect(throws: MappingError.self, "\(n) boards") { try Machine.boards(n) }
        }
        #expect(throws: MappingError.self) { try Machine.triads(0, 1) }
        #expect(throws: MappingError.self) { try Machine.triads(22, 1) }   // 264 chips wide
        #expect(throws: MappingError.self) { try Machine.triads(1, 1, cores: 19) }
    }

    @Test func aSpallocAllocationIsOneTriadWithoutWrapAround() throws {
        let m = try Machine.spalloc(width: 16, height: 16)
        #expect(m.width == 16 && m.height == 16 && !m.wrapsX && !m.wrapsY && m.root == chip(0, 0))
        #expect(m.ethernetChips == [chip(0, 0), chip(4, 8), chip(8, 4)])
        #expect(m.chips.count == 144 && boardSizes(m).values.allSatisfy { $0 == 48 })
        // (8,4)'s board reaches (15, 11), (4,8)'s (11, 15); nothing wraps.
        #expect(m.chips[chip(15, 11)]?.ethernet == chip(8, 4))
        #expect(m.chips[chip(11, 15)]?.ethernet == chip(4, 8))
        // Positions no board covers: (12,0) (right of (0,0)'s row 0, below (8,4)'s board),
        // (15,15) and (0,15).
        for c in [chip(12, 0), chip(15, 15), chip(0, 15), chip(15, 0)] { #expect(m.chips[c] == nil, "\(c)") }
        // On the torus (11,0) is on (4,8)'s board across the y wrap; here nothing wraps, and
        // (8,4)'s board starts at y 4: (11,0) is empty.
        #expect(m.chips[chip(11, 0)] == nil)
        // Edge links are dead.
        #expect(m.chips[chip(0, 0)]!.deadLinks == [.west, .southWest, .south])
        #expect(m.chips[chip(15, 8)]!.deadLinks == [.east, .northEast])        // (15,9) is there
        #expect(m.chips[chip(11, 15)]!.deadLinks == [.east, .northEast, .north])
        // (7,3): (8,3) and (7,2) missing, but unlike on one board (8,4) is there.
        #expect(m.chips[chip(7, 3)]!.deadLinks == [.east, .south])
        #expect(m.neighbour(of: chip(7, 3), via: .northEast) == chip(8, 4))
        #expect(m.neighbour(of: chip(15, 8), via: .east) == nil)
        #expect(m.step(from: chip(15, 8), via: .east) == nil)
        // Live links are live both ways.
        for (c, _) in m.chips {
            for link in Link.allCases {
                guard let n = m.neighbour(of: c, via: link) else { continue }
                #expect(m.neighbour(of: n, via: link.opposite) == c)
            }
        }
    }

    @Test func aLargerSpallocAllocation() throws {
        // 28 x 16: 2 x 1 triads, 6 boards.
        let m = try Machine.spalloc(width: 28, height: 16)
        #expect(m.ethernetChips == [chip(0, 0), chip(4, 8), chip(8, 4), chip(12, 0), chip(16, 8), chip(20, 4)])
        #expect(m.chips.count == 6 * 48)
        // (12,0)'s board: row 0 of it is x 12-16; (11,0) is still empty.
        #expect(m.chips[chip(16, 0)]?.ethernet == chip(12, 0) && m.chips[chip(11, 0)] == nil)
        // (27,11) is (20,4)+(7,7); (27,12) is nowhere.
        #expect(m.chips[chip(27, 11)]?.ethernet == chip(20, 4) && m.chips[chip(27, 12)] == nil)
        for bad in [(24, 16), (16, 4), (-8, 16), (4, 16), (268, 16)] {
            #expect(throws: MappingError.self, "\(bad)") { try Machine.spalloc(width: bad.0, height: bad.1) }
        }
    }

    @Test func overlappingBoardsAreRefused() {
        // A board at (4,4) shares (4,4) itself with the board at (0,0).
        #expect(throws: MappingError.invalidMachine(
            "chip (4, 4) lies on two boards, those of Ethernet chips (0, 0) and (4, 4)")) {
            try Machine.spinn5Boards(ethernetChips: [chip(0, 0), chip(4, 4)], width: 12, height: 12,
                                     wrapsX: true, wrapsY: true)
        }
        // Without wrap-around a board at (8,0) leaves an 8-wide machine.
        #expect(throws: MappingError.self) {
            try Machine.spinn5Boards(ethernetChips: [chip(0, 0), chip(8, 0)], width: 8, height: 8,
                                     wrapsX: false, wrapsY: false)
        }
    }

    /// Removing chips and links from a 24-board machine keeps the rest (no timing here: speed is
    /// measured by the benchmarks, not asserted by tests).
    @Test func deadChipsOnTwentyFourBoards() throws {
        let machine = try Machine.boards(24)
        #expect(machine.chips.count == 1152)
        let faulty = try machine.removing(chips: [chip(1, 1), chip(30, 10)], breaking: [(chip(2, 2), .east)])
        #expect(faulty.chips.count == 1150)
        #expect(faulty.neighbour(of: chip(2, 2), via: .east) == nil && faulty.neighbour(of: chip(3, 2), via: .west) == chip(2, 2))
        #expect(faulty.neighbour(of: chip(0, 0), via: .northEast) == nil)
    }
}

@Suite struct MultiBoardWriterTests {
    @Test func machineFileOfATriad() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: machineJSON(Machine.triads(1, 1))) as? [String: Any])
        #expect(json["width"] as? Int == 12 && json["height"] as? Int == 12 && json["root"] as? [Int] == [0, 0])
        let chips = try #require(json["chips"] as? [[Any]])
        #expect(chips.count == 144)
        var details: [ChipCoordinate: [String: Any]] = [:]
        for row in chips { details[chip(row[0] as! Int, row[1] as! Int)] = row[2] as? [String: Any] }
        // No chip of a full torus has a dead link, so no chip lists any.
        #expect(details.values.allSatisfy { $0["deadLinks"] == nil })
        let addresses = details.compactMapValues { $0["ipAddress"] as? String }
        #expect(addresses == [chip(0, 0): "127.0.0.0", chip(4, 8): "127.0.4.8", chip(8, 4): "127.0.8.4"])
        #expect(details[chip(11, 11)]?["ethernet"] as? [Int] == [4, 8])
        #expect(details[chip(0, 11)]?["ethernet"] as? [Int] == [8, 4])
        #expect(details[chip(9, 2)]?["cores"] as? Int == 17)
        // Rows in PACMAN order: x, then y.
        #expect(chips.prefix(3).map { [$0[0] as! Int, $0[1] as! Int] } == [[0, 0], [0, 1], [0, 2]])
    }
}
