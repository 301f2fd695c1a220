/// Per-feature min-max scaling fitted on a row-major `count x dim` matrix:
/// `x' = (x - min) / (max - min)` for each feature (column).
///
/// - A feature whose `max == min` on the fitted data (constant feature) maps to 0, for any input.
/// - `transform` does NOT clip: values outside the fitted range (e.g. test data) map outside
///   [0, 1], as with scikit-learn's default `MinMaxScaler(clip=False)`.
/// - The scaling is stored as `x' = (x - min) * scale` with `scale = 1 / (max - min)`, so
///   results may differ from an exact division in the last bit.
public struct MinMaxScaler: Sendable, Equatable {
    public let dim: Int
    /// Per-feature minimum of the fitted data.
    public let minimum: [Float]
    /// Per-feature maximum of the fitted data.
    public let maximum: [Float]
    /// Per-feature `1 / (max - min)`, or 0 for constant features.
    public let scale: [Float]

    public init(minimum: [Float], maximum: [Float]) {
        precondition(minimum.count == maximum.count, "MinMaxScaler: minimum and maximum differ in length")
        self.dim = minimum.count
        self.minimum = minimum
        self.maximum = maximum
        self.scale = zip(minimum, maximum).map { lo, hi in hi > lo ? 1 / (hi - lo) : 0 }
    }

    /// Fits on `count` rows of `dim` features (row-major). With `count == 0` every feature
    /// is treated as constant (maps to 0).
    public static func fit(_ x: [Float], count: Int, dim: Int) -> MinMaxScaler {
        precondition(count >= 0 && dim >= 0, "MinMaxScaler.fit: negative size")
        precondition(x.count == count * dim, "MinMaxScaler.fit: \(x.count) values for \(count) x \(dim)")
        return fit(FeatureMatrix(values: x, count: count, dim: dim))
    }

    /// Fits on the rows of `x`, values or codes alike (the same scaler for the same values).
    public static func fit(_ x: FeatureMatrix) -> MinMaxScaler {
        let (count, dim) = (x.count, x.dim)
        guard count > 0 else {
            return MinMaxScaler(minimum: [Float](repeating: 0, count: dim), maximum: [Float](repeating: 0, count: dim))
        }
        var lo = [Float](repeating: 0, count: dim)
        var hi = lo
        lo.withUnsafeMutableBufferPointer { lo in
            hi.withUnsafeMutableBufferPointer { hi in
                x.forEachRow(0..<count) { row, r in
                    if row == 0 {
                        for j in 0..<dim { lo[j] = r[j]; hi[j] = r[j] }
                        return
                    }
                    for j in 0..<dim {
                        let v = r[j]
                        lo[j] = v < lo[j] ? v : lo[j]
                        hi[j] = v > hi[j] ? v : hi[j]
                    }
                }
            }
        }
        return MinMaxScaler(minimum: lo, maximum: hi)
    }

    /// Scales `count` rows of `dim` features in place. No clipping (see the type's doc).
    public func transform(_ x: inout [Float], count: Int) {
        precondition(count >= 0 && x.count == count * dim,
                     "MinMaxScaler.transform: \(x.count) values for \(count) x \(dim)")
        guard count > 0, dim > 0 else { return }
        let dim = self.dim
        minimum.withUnsafeBufferPointer { lo in
            scale.withUnsafeBufferPointer { sc in
                x.withUnsafeMutableBufferPointer { xs in
                    for row in 0..<count {
                        let r = xs.baseAddress! + row * dim
                        for j in 0..<dim {
                            r[j] = (r[j] - lo[j]) * sc[j]
                        }
                    }
                }
            }
        }
    }

    /// Scales the rows of `x`. Values are scaled in place; codes are left as they are and their
    /// lookup becomes one table per feature, entry `(value - min) * scale` of the old entry: the
    /// same float operation on the same value as scaling the values, so the same result.
    public func transform(_ x: inout FeatureMatrix) {
        precondition(x.dim == dim, "MinMaxScaler.transform: \(x.dim) features for \(dim)")
        switch x.storage {
        case .values(var v):
            x.storage = .values([])  // `v` is now the array's only reference: scaled without a copy
            transform(&v, count: x.count)
            x.storage = .values(v)
        case .codes(let codes, let lookup, let stride):
            var tables = [Float](repeating: 0, count: dim * 256)
            for j in 0..<dim {
                for c in 0..<256 { tables[j * 256 + c] = (lookup[j * stride + c] - minimum[j]) * scale[j] }
            }
            x.storage = .codes(codes, lookup: tables, stride: 256)
        }
    }
}
