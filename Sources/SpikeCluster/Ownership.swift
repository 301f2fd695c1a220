/// Which rank owns which feature maps of a layer: contiguous slices by global map index, the
/// first `count % ranks` ranks taking one more. Ownership depends only on (count, ranks), never
/// on timing, so every rank computes the same table.
public struct MapSlices: Sendable, Equatable {
    public let count: Int
    public let ranks: Int
    public let starts: [Int]   // starts[r] ..< starts[r+1] belong to rank r; starts has ranks+1 entries

    public init(count: Int, ranks: Int) {
        self.count = count
        self.ranks = ranks
        let base = count / ranks, extra = count % ranks
        var s = [0]
        for r in 0..<ranks { s.append(s[r] + base + (r < extra ? 1 : 0)) }
        starts = s
    }

    public func range(of rank: Int) -> Range<Int> { starts[rank]..<starts[rank + 1] }
    public var counts: [Int] { (0..<ranks).map { starts[$0 + 1] - starts[$0] } }
    public func owner(of map: Int) -> Int {
        var r = 0
        while starts[r + 1] <= map { r += 1 }
        return r
    }
}
