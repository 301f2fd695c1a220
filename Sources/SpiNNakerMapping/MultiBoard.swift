/// Machines of several SpiNN-5 boards (docs/spinnaker-reference.md section 2).
///
/// Every multi-board machine here is a set of SpiNN-5 boards, each placed by its Ethernet chip:
/// a board's 48 chips are the SpiNN-5 shape (`Machine.spinn5Rows`) offset from its Ethernet
/// chip, reduced modulo the width (height) where the machine wraps that way. Every chip's
/// `ethernet` is its board's Ethernet chip, and every Ethernet chip gets the virtual IP address
/// `127.0.x.y`, as the stack's virtual machine does.
///
/// Boards come in triads: three boards with Ethernet chips at (0, 0), (4, 8) and (8, 4) tile a
/// 12 x 12 block of chips. `w x h` triads are placed at (12 i, 12 j), i < w, j < h.
/// - `triads(w, h)`: a torus of 12w x 12h chips, wrapped both ways (the boards' edge links are
///   joined by the machine's cables). The three boards of each triad tile it exactly; the
///   generator checks it.
/// - `boards(n)`: n = 1 is one SpiNN-5 board; n a multiple of 3 is `triads(w, h)` with rig's
///   factorisation of n / 3 (`triadGrid(boards:)`).
/// - `spalloc(width:height:)`: a non-wrapped allocation of 12k + 4 by 12l + 4 chips holding the
///   same k x l triads of boards, the spare 4 chips on each side taken by the boards that
///   stick out of the 12 x 12 grid (the layout of SpiNNMachine's virtual machine; see there).
///
/// Per-chip cores: by default every board repeats the stack's SpiNN-5 pattern, 17 cores on the
/// chips at local (1,1) (1,3) (3,1) (3,3) (3,5) (5,2) (5,4) (5,6) and 18 elsewhere (SpiNNMachine
/// does the same: its `get_xy_cores_by_ethernet` offsets the one-board `CHIPS_PER_BOARD` map by
/// each Ethernet chip), so `boards(1) == spinn5()`. Pass `cores:` to give every chip the same
/// count instead (18: every chip whole).
extension Machine {
    /// Chips per side of a triad of three SpiNN-5 boards.
    public static let triadSide = 12

    /// The Ethernet chips of a triad's three boards, relative to the triad's (0, 0).
    public static let triadEthernetOffsets: [ChipCoordinate] = [
        ChipCoordinate(0, 0), ChipCoordinate(4, 8), ChipCoordinate(8, 4),
    ]

    /// The widest and tallest machine: chip coordinates are 8-bit on SpiNNaker (a chip's P2P
    /// address is `x << 8 | y`).
    public static let maximumSide = 256

    /// The 48 chips of a SpiNN-5 board relative to its Ethernet chip, row by row.
    public static let spinn5LocalChips: [ChipCoordinate] =
        spinn5Rows.flatMap { row in row.xs.map { ChipCoordinate($0, row.y) } }

    /// Ethernet chips of `w x h` triads, in PACMAN order (x, then y); the first is (0, 0).
    public static func triadEthernetChips(_ w: Int, _ h: Int) -> [ChipCoordinate] {
        var chips: [ChipCoordinate] = []
        chips.reserveCapacity(3 * max(0, w) * max(0, h))
        for i in 0..<max(0, w) {
            for j in 0..<max(0, h) {
                for offset in triadEthernetOffsets {
                    chips.append(ChipCoordinate(triadSide * i + offset.x, triadSide * j + offset.y))
                }
            }
        }
        return chips.sorted()
    }

    /// Triads `(width, height)` of a machine of `n` boards, the way rig's
    /// `rig.geometry.standard_system_dimensions(num_boards)` sizes a standard system: n must be
    /// a multiple of 3; of the factorisations w x h of n / 3 it takes the one with the largest
    /// h <= sqrt(n / 3) ("as squarely as possible ... prefers wider systems over taller
    /// systems"), so w >= h. E.g. 24 boards: 8 triads, 4 x 2 (48 x 24 chips); 21 boards: 7 x 1.
    /// (rig gives 8 x 8 chips for n = 1, a single board: see `boards(_:)`. SpiNNMachine 7's
    /// `size_from_n_boards` differs: it rounds the triads up to a ceil(sqrt) x ceil square of
    /// non-wrapped 12k + 4 chips, which `spalloc(width:height:)` builds when given that size.)
    public static func triadGrid(boards n: Int) throws -> (width: Int, height: Int) {
        guard n >= 3, n % 3 == 0 else {
            throw MappingError.invalidMachine("\(n) boards: a multi-board machine has a positive multiple of 3 boards")
        }
        let triads = n / 3
        var h = Int(Double(triads).squareRoot())
        while h * h > triads { h -= 1 }
        while (h + 1) * (h + 1) <= triads { h += 1 }
        while triads % h != 0 { h -= 1 }
        return (triads / h, h)
    }

    /// A machine of `n` boards: one SpiNN-5 board for n = 1, else the torus of
    /// `triadGrid(boards: n)` triads.
    public static func boards(_ n: Int, cores: Int? = nil) throws -> Machine {
        if n == 1 {
            return try spinn5Boards(ethernetChips: [ChipCoordinate(0, 0)], width: 8, height: 8,
                                    wrapsX: false, wrapsY: false, cores: cores)
        }
        let grid = try triadGrid(boards: n)
        return try triads(grid.width, grid.height, cores: cores)
    }

    /// `w x h` triads of SpiNN-5 boards as a torus of 12w x 12h chips, wrapped both ways.
    public static func triads(_ w: Int, _ h: Int, cores: Int? = nil) throws -> Machine {
        guard w >= 1, h >= 1, w <= maximumSide / triadSide, h <= maximumSide / triadSide else {
            throw MappingError.invalidMachine(
                "\(w) x \(h) triads: each side needs 1 to \(maximumSide / triadSide) triads (at most \(maximumSide) chips)")
        }
        let machine = try spinn5Boards(ethernetChips: triadEthernetChips(w, h),
                                       width: triadSide * w, height: triadSide * h,
                                       wrapsX: true, wrapsY: true, cores: cores)
        // spinn5Boards refuses a chip on two boards; with as many chips as positions, every
        // position of the torus is on exactly one board.
        guard machine.chips.count == machine.width * machine.height else {
            throw MappingError.invalidMachine(
                "\(w) x \(h) triads cover \(machine.chips.count) of \(machine.width * machine.height) chips")
        }
        return machine
    }

    /// A non-wrapped allocation of `width x height` chips, both 12k + 4 (k >= 1), holding
    /// ((width - 4) / 12) x ((height - 4) / 12) triads of boards.
    ///
    /// The layout follows SpiNNMachine's virtual machine (spinn_machine/virtual_machine.py,
    /// `_VirtualMachine.__init__`, and spinnaker_triad_geometry.py,
    /// `SpiNNakerTriadGeometry.get_potential_ethernet_chips`): on a side that is not a multiple
    /// of 12 the Ethernet chips are the triad roots (0, 0), (4, 8), (8, 4) stepped by 12 while
    /// below `side - 8 + 1` (older releases: below `side - 4`), i.e. exactly the k triads'
    /// Ethernet chips; a `NoWrapMachine` then places each board's chips at Ethernet chip +
    /// local offset without wrapping (`get_xys_by_ethernet`). The boards of the right-most and
    /// top-most triads reach x (y) = 12k + 3, hence the 4 extra chips; positions of the box that
    /// no board covers (e.g. (12, 0) in 16 x 16) have no chip.
    public static func spalloc(width: Int, height: Int, cores: Int? = nil) throws -> Machine {
        for (name, side) in [("width", width), ("height", height)] {
            guard side >= triadSide + 4, (side - 4) % triadSide == 0, side <= maximumSide else {
                throw MappingError.invalidMachine(
                    "\(name) \(side): a non-wrapped allocation is 12k + 4 chips (k >= 1) up to \(maximumSide)")
            }
        }
        return try spinn5Boards(ethernetChips: triadEthernetChips((width - 4) / triadSide, (height - 4) / triadSide),
                                width: width, height: height, wrapsX: false, wrapsY: false, cores: cores)
    }

    /// SpiNN-5 boards with their Ethernet chips at `ethernetChips` on a `width x height`
    /// machine; the first Ethernet chip is the root (boot) chip. Throws when a board leaves a
    /// non-wrapping side or two boards share a chip.
    public static func spinn5Boards(ethernetChips: [ChipCoordinate], width: Int, height: Int,
                                    wrapsX: Bool, wrapsY: Bool, cores: Int? = nil) throws -> Machine {
        guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
            throw MappingError.invalidMachine("size \(width)x\(height): each side must be 1 to \(maximumSide) chips")
        }
        if let cores, !(1...18).contains(cores) {
            throw MappingError.invalidMachine("\(cores) cores per chip (1 to 18 allowed)")
        }
        guard let root = ethernetChips.first else {
            throw MappingError.invalidMachine("a machine of SpiNN-5 boards needs at least one board")
        }
        // board[x * height + y]: index of the board holding chip (x, y), -1 for none.
        var board = [Int](repeating: -1, count: width * height)
        var chips: [Chip] = []
        chips.reserveCapacity(spinn5LocalChips.count * ethernetChips.count)
        for (b, ethernet) in ethernetChips.enumerated() {
            guard (0..<width).contains(ethernet.x), (0..<height).contains(ethernet.y) else {
                throw MappingError.invalidMachine("Ethernet chip \(ethernet) lies outside \(width)x\(height)")
            }
            for local in spinn5LocalChips {
                var x = ethernet.x + local.x, y = ethernet.y + local.y
                if wrapsX { x %= width }
                if wrapsY { y %= height }
                guard x < width, y < height else {
                    throw MappingError.invalidMachine(
                        "the board of Ethernet chip \(ethernet) reaches chip (\(x), \(y)), outside \(width)x\(height)")
                }
                let c = ChipCoordinate(x, y)
                let index = x * height + y
                guard board[index] < 0 else {
                    throw MappingError.invalidMachine(
                        "chip \(c) lies on two boards, those of Ethernet chips \(ethernetChips[board[index]]) and \(ethernet)")
                }
                board[index] = b
                chips.append(Chip(coordinate: c,
                                  totalCores: cores ?? (spinn5SeventeenCoreChips.contains(local) ? 17 : 18),
                                  ethernet: ethernet,
                                  ipAddress: c == ethernet ? virtualIPAddress(c) : nil))
            }
        }
        return try Machine(width: width, height: height, wrapsX: wrapsX, wrapsY: wrapsY, root: root, chips: chips)
    }

    /// The same machine with `cores` cores on every chip (links, Ethernet chips unchanged).
    public func settingCores(_ cores: Int) throws -> Machine {
        let rebuilt = chips.values.map { chip in
            Chip(coordinate: chip.coordinate, totalCores: cores, ethernet: chip.ethernet,
                 ipAddress: chip.ipAddress, brokenLinks: chip.deadLinks)
        }
        return try Machine(width: width, height: height, wrapsX: wrapsX, wrapsY: wrapsY, root: root, chips: rebuilt)
    }

    /// The Ethernet chips of the machine, in PACMAN order.
    public var ethernetChips: [ChipCoordinate] {
        chips.values.filter(\.isEthernet).map(\.coordinate).sorted()
    }
}
