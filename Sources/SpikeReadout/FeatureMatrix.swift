/// A row-major `count x dim` matrix of readout features (one row per image), held in one of two ways:
///
/// - `values`: the floats themselves.
/// - `codes`: one byte per feature plus a lookup table; the value of feature `j` of a row whose byte
///   is `c` is `lookup[j * stride + c]`. `stride` is 0 when every feature shares one 256-entry
///   table (the spike-step-to-feature table of a layer whose readout cells are single neurons, see
///   `TimeFeatures.cellValues`), 256 when each feature has its own (after `MinMaxScaler.transform`,
///   which rewrites the tables instead of the codes). A quarter of the memory of `values`.
///
/// Everything that reads the matrix (`MinMaxScaler`, `LinearSVM`, `OneVsOneSVM`, writing it out)
/// reads rows as floats through `forEachRow` / `forEachBlock`, so both storages give bit-identical
/// results: a code's float is the float the values storage would hold.
public struct FeatureMatrix: Sendable {
    public let count: Int
    public let dim: Int
    /// Internal: the readers in this module take it apart; others build matrices with the initialisers.
    var storage: Storage

    enum Storage: Sendable {
        case values([Float])
        case codes([UInt8], lookup: [Float], stride: Int)
    }

    /// `count x dim` floats, row-major.
    public init(values: [Float], count: Int, dim: Int) {
        precondition(count >= 0 && dim >= 0 && values.count == count * dim,
                     "FeatureMatrix: \(values.count) values for \(count) x \(dim)")
        self.count = count
        self.dim = dim
        storage = .values(values)
    }

    /// `count x dim` bytes, row-major, each standing for `table[byte]` (`table` has 256 entries).
    public init(codes: [UInt8], count: Int, dim: Int, table: [Float]) {
        precondition(count >= 0 && dim >= 0 && codes.count == count * dim,
                     "FeatureMatrix: \(codes.count) codes for \(count) x \(dim)")
        precondition(table.count == 256, "FeatureMatrix: a code table has 256 entries, not \(table.count)")
        self.count = count
        self.dim = dim
        storage = .codes(codes, lookup: table, stride: 0)
    }

    init(count: Int, dim: Int, storage: Storage) {
        self.count = count
        self.dim = dim
        self.storage = storage
    }

    /// An empty `0 x 0` matrix.
    public static var empty: FeatureMatrix { FeatureMatrix(values: [], count: 0, dim: 0) }

    /// Whether the features are held as codes.
    public var isCompact: Bool { if case .codes = storage { return true } else { return false } }

    /// The bytes the matrix holds (features and tables).
    public var bytes: Int {
        switch storage {
        case .values(let v): return v.count * MemoryLayout<Float>.size
        case .codes(let c, let lookup, _): return c.count + lookup.count * MemoryLayout<Float>.size
        }
    }

    /// Every value, row-major (a float copy of a compact matrix: for tests and small matrices).
    public var floats: [Float] {
        if case .values(let v) = storage { return v }
        var out = [Float](repeating: 0, count: count * dim)
        out.withUnsafeMutableBufferPointer { o in
            forEachBlock(0..<count) { rows, xs in
                (o.baseAddress! + rows.lowerBound * dim).update(from: xs, count: rows.count * dim)
            }
        }
        return out
    }

    /// Rows decoded per block by `forEachBlock` by default: at most 1 MiB of floats, at most 256 rows.
    public var blockRows: Int { max(1, min(256, (1 << 18) / max(dim, 1))) }

    /// Calls `body(r, row)` for each row `r` of `rows`, in that order, with its `dim` values. `row`
    /// points into the matrix (values) or into one scratch row (codes), valid during the call only.
    public func forEachRow<S: Sequence>(_ rows: S, _ body: (Int, UnsafePointer<Float>) throws -> Void) rethrows
    where S.Element == Int {
        let dim = self.dim
        switch storage {
        case .values(let v):
            try v.withUnsafeBufferPointer { xs in
                guard let base = xs.baseAddress else {
                    for r in rows { try withUnsafeTemporaryAllocation(of: Float.self, capacity: 1) { try body(r, $0.baseAddress!) } }
                    return
                }
                for r in rows { try body(r, base + r * dim) }
            }
        case .codes(let c, let lookup, let stride):
            try Self.decoding(c, lookup, stride, dim: dim, rows: 1) { decode, scratch in
                for r in rows {
                    decode(r, 1)
                    try body(r, scratch)
                }
            }
        }
    }

    /// Calls `body(block, rows)` for consecutive blocks of at most `rowsPerBlock` rows covering
    /// `range`, with the block's `block.count x dim` values, row-major (pointing into the matrix, or
    /// into scratch for codes; valid during the call only).
    public func forEachBlock(_ range: Range<Int>, rowsPerBlock: Int? = nil,
                             _ body: (Range<Int>, UnsafePointer<Float>) throws -> Void) rethrows {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FeatureMatrix: rows \(range) of \(count)")
        guard !range.isEmpty else { return }
        let per = max(1, rowsPerBlock ?? blockRows)
        let dim = self.dim
        switch storage {
        case .values(let v):
            try v.withUnsafeBufferPointer { xs in
                for start in stride(from: range.lowerBound, to: range.upperBound, by: per) {
                    let block = start..<min(start + per, range.upperBound)
                    if let base = xs.baseAddress {
                        try body(block, base + start * dim)
                    } else {
                        // dim == 0: no values to point at.
                        try withUnsafeTemporaryAllocation(of: Float.self, capacity: 1) { try body(block, $0.baseAddress!) }
                    }
                }
            }
        case .codes(let c, let lookup, let stride):
            try Self.decoding(c, lookup, stride, dim: dim, rows: min(per, range.count)) { decode, scratch in
                for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: per) {
                    let block = start..<min(start + per, range.upperBound)
                    decode(start, block.count)
                    try body(block, scratch)
                }
            }
        }
    }

    /// Scratch for `rows` decoded rows and a decoder `(first, n)` filling it with rows first..<first+n.
    private static func decoding(_ codes: [UInt8], _ lookup: [Float], _ stride: Int, dim: Int, rows: Int,
                                 _ body: ((Int, Int) -> Void, UnsafePointer<Float>) throws -> Void) rethrows {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(rows * dim, 1))
        defer { scratch.deallocate() }
        try codes.withUnsafeBufferPointer { cs in
            try lookup.withUnsafeBufferPointer { lut in
                let table = lut.baseAddress!
                func decode(_ first: Int, _ n: Int) {
                    guard let base = cs.baseAddress else { return }
                    for i in 0..<n {
                        let c = base + (first + i) * dim
                        let out = scratch + i * dim
                        if stride == 0 {
                            for j in 0..<dim { out[j] = table[Int(c[j])] }
                        } else {
                            for j in 0..<dim { out[j] = table[j &* stride &+ Int(c[j])] }
                        }
                    }
                }
                try body(decode, scratch)
            }
        }
    }

    /// A matrix of the same kind whose stored array is `values(...)` or `codes(...)` of this one's
    /// (e.g. every rank's rows gathered by a collective); its row count follows the new length. The
    /// lookup table is kept as is.
    public func mapStorage(values: ([Float]) -> [Float], codes: ([UInt8]) -> [UInt8]) -> FeatureMatrix {
        switch storage {
        case .values(let v):
            let out = values(v)
            precondition(dim > 0 && out.count % dim == 0, "FeatureMatrix: \(out.count) values for rows of \(dim)")
            return FeatureMatrix(count: out.count / dim, dim: dim, storage: .values(out))
        case .codes(let c, let lookup, let stride):
            let out = codes(c)
            precondition(dim > 0 && out.count % dim == 0, "FeatureMatrix: \(out.count) codes for rows of \(dim)")
            return FeatureMatrix(count: out.count / dim, dim: dim,
                                 storage: .codes(out, lookup: lookup, stride: stride))
        }
    }
}
