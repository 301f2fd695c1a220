/// Chip coordinates, the six inter-chip links and the hexagonal-mesh arithmetic on them.

/// A chip's (x, y) position. Ordered by x, then y (the order PACMAN lists chips in).
public struct ChipCoordinate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int

    public init(_ x: Int, _ y: Int) {
        self.x = x
        self.y = y
    }

    public static func < (a: ChipCoordinate, b: ChipCoordinate) -> Bool {
        (a.x, a.y) < (b.x, b.y)
    }

    public var description: String { "(\(x), \(y))" }
}

/// A router link. The raw value is the link number used in route words and dead-link lists.
public enum Link: Int, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    case east = 0, northEast = 1, north = 2, west = 3, southWest = 4, south = 5

    /// The link a packet sent on `self` arrives on at the neighbouring chip.
    public var opposite: Link { Link(rawValue: (rawValue + 3) % 6)! }

    /// The (dx, dy) step this link makes.
    public var delta: (dx: Int, dy: Int) {
        switch self {
        case .east: return (1, 0)
        case .northEast: return (1, 1)
        case .north: return (0, 1)
        case .west: return (-1, 0)
        case .southWest: return (-1, -1)
        case .south: return (0, -1)
        }
    }

    public static func < (a: Link, b: Link) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        ["east", "north_east", "north", "west", "south_west", "south"][rawValue]
    }
}

/// A mesh displacement in its shortest (x, y, z) form: x counts east steps, y north steps and
/// z south-west steps (negative values go the other way). At most two components are non-zero.
public struct HexVector: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var z: Int

    /// The shortest form of (dx, dy): subtract the median of (dx, dy, 0) from all three.
    public init(dx: Int, dy: Int) {
        let median = max(min(dx, dy), min(max(dx, dy), 0))
        x = dx - median
        y = dy - median
        z = -median
    }

    public var hops: Int { abs(x) + abs(y) + abs(z) }

    /// Longest-dimension-first moves: all steps of the longest component, then the next.
    /// Ties keep the order x, y, z.
    public var longestDimensionFirst: [Link] {
        let dims: [(length: Int, positive: Link, negative: Link)] = [
            (x, .east, .west), (y, .north, .south), (z, .southWest, .northEast),
        ]
        let ordered = dims.enumerated().sorted {
            abs($0.element.length) != abs($1.element.length)
                ? abs($0.element.length) > abs($1.element.length) : $0.offset < $1.offset
        }
        return ordered.flatMap { _, dim in
            Array(repeating: dim.length > 0 ? dim.positive : dim.negative, count: abs(dim.length))
        }
    }
}

/// Hops between two chips on a mesh without wrap-around.
public func hexHops(dx: Int, dy: Int) -> Int { HexVector(dx: dx, dy: dy).hops }
