import Testing
import SpiNNakerMapping

@Suite struct GeometryTests {
    @Test func linksAndOpposites() {
        #expect(Link.allCases.map { $0.opposite.rawValue } == [3, 4, 5, 0, 1, 2])
        #expect(Link.allCases.map { [$0.delta.dx, $0.delta.dy] }
                == [[1, 0], [1, 1], [0, 1], [-1, 0], [-1, -1], [0, -1]])
    }

    @Test(arguments: [
        (0, 0, 0), (1, 1, 1), (-1, -1, 1), (3, 1, 3), (-2, 3, 5), (3, 3, 3),
        (-4, 3, 7), (2, -1, 3), (-2, -3, 3), (5, -5, 10),
    ])
    func hopsOnAPlainMesh(dx: Int, dy: Int, hops: Int) {
        #expect(hexHops(dx: dx, dy: dy) == hops)
    }

    @Test func hopDistanceOnBoards() {
        let spinn5 = Machine.spinn5()
        #expect(spinn5.hopDistance(chip(0, 0), chip(3, 1)) == 3)
        #expect(spinn5.hopDistance(chip(2, 0), chip(0, 3)) == 5)
        #expect(spinn5.hopDistance(chip(4, 0), chip(0, 3)) == 7)
        #expect(spinn5.hopDistance(chip(0, 0), chip(7, 7)) == 7)
        #expect(spinn5.hopDistance(chip(4, 0), chip(4, 7)) == 7)
        let spinn3 = Machine.spinn3()
        #expect(spinn3.hopDistance(chip(0, 1), chip(1, 0)) == 1)   // (1, +1) over the vertical wrap
        #expect(spinn3.hopDistance(chip(0, 0), chip(1, 1)) == 1)
    }

    @Test func hopDistanceOnATorus() throws {
        var chips: [Chip] = []
        for x in 0..<12 { for y in 0..<12 {
            chips.append(Chip(coordinate: chip(x, y), totalCores: 18, ethernet: chip(0, 0)))
        } }
        let torus = try Machine(width: 12, height: 12, wrapsX: true, wrapsY: true, root: chip(0, 0), chips: chips)
        #expect(torus.hopDistance(chip(0, 0), chip(11, 0)) == 1)
        #expect(torus.hopDistance(chip(0, 0), chip(11, 1)) == 2)    // (-1, +1)
        #expect(torus.hopDistance(chip(0, 0), chip(6, 6)) == 6)
        #expect(torus.hopDistance(chip(0, 0), chip(5, 11)) == 6)    // (5, -1)
        #expect(torus.hopDistance(chip(0, 0), chip(11, 11)) == 1)   // (-1, -1)
        #expect(torus.chips.values.allSatisfy { $0.deadLinks.isEmpty })
    }

    @Test func longestDimensionFirstMoves() {
        #expect(HexVector(dx: 3, dy: 1).longestDimensionFirst == [.east, .east, .northEast])
        #expect(HexVector(dx: 2, dy: 2).longestDimensionFirst == [.northEast, .northEast])
        #expect(HexVector(dx: -1, dy: 2).longestDimensionFirst == [.north, .north, .west])
        #expect(HexVector(dx: 1, dy: -3).longestDimensionFirst == [.south, .south, .south, .east])
        #expect(HexVector(dx: -3, dy: -1).longestDimensionFirst == [.west, .west, .southWest])
    }
}
