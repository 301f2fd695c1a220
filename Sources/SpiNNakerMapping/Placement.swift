/// Placement: one machine vertex per application core, filling chips in a snake order.

/// A core of a chip.
public struct CoreLocation: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let chip: ChipCoordinate
    public let core: Int

    public init(chip: ChipCoordinate, core: Int) {
        self.chip = chip
        self.core = core
    }

    public static func < (a: CoreLocation, b: CoreLocation) -> Bool {
        (a.chip, a.core) < (b.chip, b.core)
    }

    public var description: String { "(\(chip.x), \(chip.y), \(core))" }
}

/// Where one vertex runs.
public struct Placement: Hashable, Sendable {
    public let vertex: MachineVertex
    public let location: CoreLocation

    public init(vertex: MachineVertex, location: CoreLocation) {
        self.vertex = vertex
        self.location = location
    }

    public var x: Int { location.chip.x }
    public var y: Int { location.chip.y }
    public var p: Int { location.core }
}

/// The order chips are filled in: rows bottom to top, even rows west to east, odd rows east to
/// west. Consecutive chips are neighbours on a SpiNN-5 board, so the vertices of one layer,
/// placed consecutively, land on a connected run of chips.
public func placementOrder(of machine: Machine) -> [ChipCoordinate] {
    machine.chips.keys.sorted { a, b in
        if a.y != b.y { return a.y < b.y }
        return a.y % 2 == 0 ? a.x < b.x : a.x > b.x
    }
}

/// The placers: `simple` fills chips in `placementOrder`, layer after layer; `hilbert` walks the
/// chips along a Hilbert curve and takes the vertices of every layer in the order of their tiles'
/// positions on the same kind of curve, so a tile lands near the tiles of the layers before and
/// after that cover the same part of the image (short routes); `best` tries both and keeps the
/// one with the shorter total routing distance.
public enum Placer: String, Sendable, CaseIterable {
    case simple, hilbert, best
}

/// Index of (x, y) along the Hilbert curve filling an `n x n` grid (`n` a power of two).
public func hilbertIndex(x: Int, y: Int, n: Int) -> Int {
    var (x, y, d) = (x, y, 0)
    var s = n / 2
    while s > 0 {
        let rx = (x & s) > 0 ? 1 : 0, ry = (y & s) > 0 ? 1 : 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0 {
            if rx == 1 { x = s - 1 - x; y = s - 1 - y }
            swap(&x, &y)
        }
        s /= 2
    }
    return d
}

/// The machine's chips along a Hilbert curve over its bounding square.
public func hilbertOrder(of machine: Machine) -> [ChipCoordinate] {
    var n = 1
    while n < max(machine.width, machine.height) { n *= 2 }
    return machine.chips.keys.sorted {
        let (a, b) = (hilbertIndex(x: $0.x, y: $0.y, n: n), hilbertIndex(x: $1.x, y: $1.y, n: n))
        return a != b ? a < b : $0 < $1
    }
}

/// The application cores of `chips`, in order.
func applicationCores(of machine: Machine, in chips: [ChipCoordinate]) -> [CoreLocation] {
    chips.flatMap { c in
        (machine.chips[c]!.applicationCoreIDs.map(Array.init) ?? []).map { CoreLocation(chip: c, core: $0) }
    }
}

/// Places the vertices layer after layer, in order, on application cores p = 1 ... of the chips
/// in `placementOrder`. Result: one array of placements per layer, parallel to `vertices`.
public func placeVertices(_ vertices: [[MachineVertex]], on machine: Machine) throws -> [[Placement]] {
    try assign(vertices, order: vertices.flatMap { $0 }, cores: applicationCores(of: machine, in: placementOrder(of: machine)))
}

/// The Hilbert placer: vertices sorted by the curve index of their tile's centre (in a
/// 1024 x 1024 grid over each layer's map), then layer, then index, onto the chips in
/// `hilbertOrder`.
public func placeVerticesAlongHilbertCurve(_ vertices: [[MachineVertex]], layers: [NetworkLayer],
                                           on machine: Machine) throws -> [[Placement]] {
    let grid = 1024
    let keyed = vertices.flatMap { $0 }.map { v -> (Int, MachineVertex) in
        let layer = layers[v.layer]
        let u = (v.xs.lowerBound + v.xs.upperBound) * grid / (2 * layer.width)
        let w = (v.ys.lowerBound + v.ys.upperBound) * grid / (2 * layer.height)
        return (hilbertIndex(x: min(u, grid - 1), y: min(w, grid - 1), n: grid), v)
    }
    let order = keyed.sorted { a, b in
        a.0 != b.0 ? a.0 < b.0 : (a.1.layer, a.1.index) < (b.1.layer, b.1.index)
    }.map(\.1)
    return try assign(vertices, order: order, cores: applicationCores(of: machine, in: hilbertOrder(of: machine)))
}

/// Gives `order[i]` core `cores[i]`; the result is grouped like `vertices`.
func assign(_ vertices: [[MachineVertex]], order: [MachineVertex], cores: [CoreLocation]) throws -> [[Placement]] {
    guard order.count <= cores.count else {
        throw MappingError.doesNotFit(coresNeeded: order.count, coresAvailable: cores.count)
    }
    var result = vertices.map { [Placement?](repeating: nil, count: $0.count) }
    for (i, v) in order.enumerated() { result[v.layer][v.index] = Placement(vertex: v, location: cores[i]) }
    return result.map { $0.map { $0! } }
}
