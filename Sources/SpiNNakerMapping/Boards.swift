/// The standard boards, built from the facts of docs/spinnaker-reference.md section 2.

extension Machine {
    /// Chips present per row of a SpiNN-5 board: y -> x range.
    public static let spinn5Rows: [(y: Int, xs: ClosedRange<Int>)] = [
        (0, 0...4), (1, 0...5), (2, 0...6), (3, 0...7),
        (4, 1...7), (5, 2...7), (6, 3...7), (7, 4...7),
    ]

    /// Chips that the stack's virtual SpiNN-5 gives 17 cores instead of 18.
    public static let spinn5SeventeenCoreChips: Set<ChipCoordinate> = [
        ChipCoordinate(1, 1), ChipCoordinate(1, 3), ChipCoordinate(3, 1), ChipCoordinate(3, 3),
        ChipCoordinate(3, 5), ChipCoordinate(5, 2), ChipCoordinate(5, 4), ChipCoordinate(5, 6),
    ]

    /// Links of the 4-chip board that are not wired although the board wraps (the stack's
    /// virtual SpiNN-3 marks them down): the horizontal wrap-arounds, both ways.
    public static let spinn3DownLinks: [(ChipCoordinate, Link)] = [
        (ChipCoordinate(0, 0), .west), (ChipCoordinate(0, 0), .southWest),
        (ChipCoordinate(0, 1), .west), (ChipCoordinate(0, 1), .southWest),
        (ChipCoordinate(1, 0), .east), (ChipCoordinate(1, 0), .northEast),
        (ChipCoordinate(1, 1), .east), (ChipCoordinate(1, 1), .northEast),
    ]

    /// Virtual IP address given to an Ethernet chip when the description names none.
    static func virtualIPAddress(_ c: ChipCoordinate) -> String { "127.0.\(c.x).\(c.y)" }

    /// A SpiNN-5 board: 48 chips in an 8x8 box, no wrap-around, Ethernet chip (0, 0).
    public static func spinn5() -> Machine {
        let root = ChipCoordinate(0, 0)
        var chips: [Chip] = []
        for row in spinn5Rows {
            for x in row.xs {
                let c = ChipCoordinate(x, row.y)
                chips.append(Chip(coordinate: c,
                                  totalCores: spinn5SeventeenCoreChips.contains(c) ? 17 : 18,
                                  ethernet: root,
                                  ipAddress: c == root ? virtualIPAddress(c) : nil))
            }
        }
        // The chip list above is a fixed, valid board.
        return try! Machine(width: 8, height: 8, wrapsX: false, wrapsY: false, root: root, chips: chips)
    }

    /// A SpiNN-3 board: 4 chips of 18 cores, wrapped both ways, Ethernet chip (0, 0), with the
    /// horizontal wrap-around links down as on the real board.
    public static func spinn3() -> Machine {
        let root = ChipCoordinate(0, 0)
        var broken: [ChipCoordinate: Set<Link>] = [:]
        for (c, link) in spinn3DownLinks { broken[c, default: []].insert(link) }
        let chips = [(0, 0), (0, 1), (1, 0), (1, 1)].map { x, y in
            let c = ChipCoordinate(x, y)
            return Chip(coordinate: c, totalCores: 18, ethernet: root,
                        ipAddress: c == root ? virtualIPAddress(c) : nil,
                        brokenLinks: broken[c] ?? [])
        }
        return try! Machine(width: 2, height: 2, wrapsX: true, wrapsY: true, root: root, chips: chips)
    }
}
