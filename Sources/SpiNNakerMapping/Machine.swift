/// The machine model: which chips exist, their cores, their Ethernet chip and which links work.

/// One chip. `deadLinks` holds every link that cannot be used: those leading off the machine
/// (or across a wrap-around the machine does not have), to a missing chip, or broken.
public struct Chip: Equatable, Sendable {
    public let coordinate: ChipCoordinate
    /// All cores of the chip, including the monitor.
    public let totalCores: Int
    /// The Ethernet chip this chip belongs to (itself for an Ethernet chip).
    public let ethernet: ChipCoordinate
    /// IP address of an Ethernet chip, nil on the others.
    public let ipAddress: String?
    public internal(set) var deadLinks: Set<Link>

    public init(coordinate: ChipCoordinate, totalCores: Int, ethernet: ChipCoordinate,
                ipAddress: String? = nil, brokenLinks: Set<Link> = []) {
        self.coordinate = coordinate
        self.totalCores = totalCores
        self.ethernet = ethernet
        self.ipAddress = ipAddress
        self.deadLinks = brokenLinks
    }

    public var isEthernet: Bool { ethernet == coordinate }

    /// Cores the system keeps: the monitor (core 0), one system core, and one more on an
    /// Ethernet chip. These are the "monitors" of PACMAN's machine.json.
    public var reservedCores: Int { isEthernet ? 3 : 2 }

    /// Cores free for application vertices: 16 on an 18-core chip, 15 on an Ethernet chip.
    public var applicationCores: Int { max(0, totalCores - reservedCores) }

    /// Core numbers of the application cores: p = 1 ... applicationCores (core 0 is the
    /// monitor, the reserved system cores are the last ones).
    public var applicationCoreIDs: ClosedRange<Int>? {
        applicationCores > 0 ? 1...applicationCores : nil
    }
}

public struct Machine: Equatable, Sendable {
    public static let routerEntries = 1023
    public static let sdramPerChip = 123_469_792

    public let width: Int
    public let height: Int
    public let wrapsX: Bool
    public let wrapsY: Bool
    /// The boot chip.
    public let root: ChipCoordinate
    public let chips: [ChipCoordinate: Chip]

    public var routerEntries: Int { Machine.routerEntries }
    public var sdramPerChip: Int { Machine.sdramPerChip }

    /// Builds a machine and completes every chip's dead links: a chip's `brokenLinks` stay
    /// dead, and so does every link that leads to no chip.
    public init(width: Int, height: Int, wrapsX: Bool, wrapsY: Bool,
                root: ChipCoordinate, chips: [Chip]) throws {
        guard width > 0, height > 0 else {
            throw MappingError.invalidMachine("size \(width)x\(height) must be positive")
        }
        var byCoordinate: [ChipCoordinate: Chip] = [:]
        for chip in chips {
            let c = chip.coordinate
            guard (0..<width).contains(c.x), (0..<height).contains(c.y) else {
                throw MappingError.invalidMachine("chip \(c) lies outside \(width)x\(height)")
            }
            guard byCoordinate[c] == nil else {
                throw MappingError.invalidMachine("chip \(c) is listed twice")
            }
            guard chip.totalCores >= 1, chip.totalCores <= 18 else {
                throw MappingError.invalidMachine("chip \(c) has \(chip.totalCores) cores (1 to 18 allowed)")
            }
            byCoordinate[c] = chip
        }
        guard byCoordinate[root] != nil else {
            throw MappingError.invalidMachine("root chip \(root) does not exist")
        }
        for chip in chips where byCoordinate[chip.ethernet]?.isEthernet != true {
            throw MappingError.invalidMachine(
                "chip \(chip.coordinate) names \(chip.ethernet) as its Ethernet chip, which is not one")
        }
        var completed = byCoordinate
        for c in byCoordinate.keys {
            for link in Link.allCases {
                let target = Machine.step(from: c, via: link, width: width, height: height,
                                          wrapsX: wrapsX, wrapsY: wrapsY)
                if let target, byCoordinate[target] != nil { continue }
                completed[c]!.deadLinks.insert(link)
            }
        }
        self.width = width
        self.height = height
        self.wrapsX = wrapsX
        self.wrapsY = wrapsY
        self.root = root
        self.chips = completed
    }

    /// Chip coordinates in PACMAN order (x, then y).
    public var coordinates: [ChipCoordinate] { chips.keys.sorted() }

    public func chip(at c: ChipCoordinate) -> Chip? { chips[c] }

    /// Total application cores over all chips.
    public var applicationCores: Int { chips.values.reduce(0) { $0 + $1.applicationCores } }

    /// Where `link` leads from `c` geometrically (wrapping where the machine wraps), whether or
    /// not a chip is there or the link works; nil when it leaves a non-wrapping edge.
    public func step(from c: ChipCoordinate, via link: Link) -> ChipCoordinate? {
        Machine.step(from: c, via: link, width: width, height: height, wrapsX: wrapsX, wrapsY: wrapsY)
    }

    static func step(from c: ChipCoordinate, via link: Link, width: Int, height: Int,
                     wrapsX: Bool, wrapsY: Bool) -> ChipCoordinate? {
        var x = c.x + link.delta.dx, y = c.y + link.delta.dy
        if wrapsX { x = (x + width) % width } else if !(0..<width).contains(x) { return nil }
        if wrapsY { y = (y + height) % height } else if !(0..<height).contains(y) { return nil }
        return ChipCoordinate(x, y)
    }

    /// The chip reached over `link` from `c`, or nil when that link is dead.
    public func neighbour(of c: ChipCoordinate, via link: Link) -> ChipCoordinate? {
        guard let chip = chips[c], !chip.deadLinks.contains(link) else { return nil }
        return step(from: c, via: link)
    }

    /// The shortest displacement from `a` to `b` over the mesh geometry (wrap-around included
    /// where the machine wraps; dead links ignored). Ties prefer not wrapping.
    public func displacement(from a: ChipCoordinate, to b: ChipCoordinate) -> HexVector {
        let dx = b.x - a.x, dy = b.y - a.y
        let xs = wrapsX ? [dx, dx - width, dx + width] : [dx]
        let ys = wrapsY ? [dy, dy - height, dy + height] : [dy]
        var best = HexVector(dx: dx, dy: dy)
        for cx in xs {
            for cy in ys {
                let v = HexVector(dx: cx, dy: cy)
                if v.hops < best.hops { best = v }
            }
        }
        return best
    }

    /// Hops between two chips on the mesh (wrap-around where the machine wraps).
    public func hopDistance(_ a: ChipCoordinate, _ b: ChipCoordinate) -> Int {
        displacement(from: a, to: b).hops
    }
}

extension Machine {
    /// The same machine without `removedChips` and with `brokenLinks` dead as well.
    public func removing(chips removedChips: Set<ChipCoordinate>,
                         breaking brokenLinks: [(ChipCoordinate, Link)] = []) throws -> Machine {
        var extra: [ChipCoordinate: Set<Link>] = [:]
        for (c, link) in brokenLinks { extra[c, default: []].insert(link) }
        let kept = chips.values.filter { !removedChips.contains($0.coordinate) }.map { chip in
            // Keep only the explicitly broken links; edge links are recomputed by init.
            var links = chip.deadLinks.filter { link in
                guard let target = step(from: chip.coordinate, via: link) else { return false }
                return chips[target] != nil
            }
            links.formUnion(extra[chip.coordinate] ?? [])
            return Chip(coordinate: chip.coordinate, totalCores: chip.totalCores,
                        ethernet: chip.ethernet, ipAddress: chip.ipAddress, brokenLinks: links)
        }
        return try Machine(width: width, height: height, wrapsX: wrapsX, wrapsY: wrapsY,
                           root: root, chips: kept)
    }
}
