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

/// Places the vertices layer after layer, in order, on application cores p = 1 ... of the chips
/// in `placementOrder`. Result: one array of placements per layer, parallel to `vertices`.
public func placeVertices(_ vertices: [[MachineVertex]], on machine: Machine) throws -> [[Placement]] {
    let cores = placementOrder(of: machine).flatMap { c in
        (machine.chips[c]!.applicationCoreIDs.map(Array.init) ?? []).map { CoreLocation(chip: c, core: $0) }
    }
    let needed = vertices.reduce(0) { $0 + $1.count }
    guard needed <= cores.count else {
        throw MappingError.doesNotFit(coresNeeded: needed, coresAvailable: cores.count)
    }
    var next = 0
    return vertices.map { layer in
        layer.map { vertex in
            defer { next += 1 }
            return Placement(vertex: vertex, location: cores[next])
        }
    }
}
