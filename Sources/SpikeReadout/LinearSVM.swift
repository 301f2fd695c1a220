import CLinear
import Dispatch
import Foundation

/// Errors from `LinearSVM.train`.
public enum LinearSVMError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The inputs are inconsistent (sizes, empty set, bad parameters).
    case invalidInput(String)
    /// liblinear refused the problem or failed.
    case liblinear(String)

    public var description: String {
        switch self {
        case let .invalidInput(message): return "LinearSVM: invalid input: \(message)"
        case let .liblinear(message): return "LinearSVM: liblinear: \(message)"
        }
    }
}

/// A multi-class linear SVM trained with liblinear: L2-regularised L2-loss SVC, one-vs-rest, bias
/// term 1, solved in the primal (trust-region Newton, L2R_L2LOSS_SVC) or the dual (coordinate
/// descent, L2R_L2LOSS_SVC_DUAL). Both reach the same optimum; on tens of thousands of dense
/// samples with a hundred-odd features the primal solver is many times faster.
///
/// The trained weights are copied out of liblinear's model into Swift arrays and the C model
/// is freed; prediction is done in Swift with dense dot products and gives the same labels
/// as liblinear's `predict` (same double arithmetic in the same order, same tie rules).
public struct LinearSVM: Sendable, Equatable {
    /// Number of input features.
    public let dim: Int
    /// The class labels in liblinear's order (order of first appearance in the training set;
    /// for exactly the labels {-1, +1}, +1 first).
    public let labels: [Int32]
    /// Number of weight vectors: 1 for two classes, else `labels.count`.
    public let weightColumns: Int
    /// The bias feature's value (always 1 here).
    public let bias: Double
    /// liblinear's layout: `(dim + 1) x weightColumns`, row-major by feature:
    /// the weight of feature `j` for weight vector `i` is `weights[j * weightColumns + i]`;
    /// row `dim` holds the bias weights.
    public let weights: [Double]
    /// For 3 or more weight vectors, `weights` regrouped for SIMD prediction: the weight
    /// vectors in groups of up to 8 (`lanes` of them starting at `first`), each group stored
    /// feature-major with `width` (8, or 4 for a last group of at most 4) zero-padded lanes
    /// at `offset` in `packed`. Empty for one weight vector.
    private let groups: [LaneGroup]
    private let packed: [Double]

    private struct LaneGroup: Sendable, Equatable {
        let offset: Int
        let width: Int
        let first: Int
        let lanes: Int
    }

    public init(dim: Int, labels: [Int32], weights: [Double], bias: Double = 1) {
        let columns = labels.count == 2 ? 1 : labels.count
        precondition(!labels.isEmpty, "LinearSVM: no labels")
        precondition(weights.count == (dim + 1) * columns,
                     "LinearSVM: \(weights.count) weights for \(dim) features + bias and \(columns) columns")
        self.dim = dim
        self.labels = labels
        self.weightColumns = columns
        self.bias = bias
        self.weights = weights
        var groups = [LaneGroup]()
        var packed = [Double]()
        if columns >= 3 {
            for first in stride(from: 0, to: columns, by: 8) {
                let lanes = min(8, columns - first)
                let width = lanes <= 4 ? 4 : 8
                let offset = packed.count
                packed += [Double](repeating: 0, count: (dim + 1) * width)
                for j in 0...dim {
                    for i in 0..<lanes { packed[offset + j * width + i] = weights[j * columns + first + i] }
                }
                groups.append(LaneGroup(offset: offset, width: width, first: first, lanes: lanes))
            }
        }
        self.groups = groups
        self.packed = packed
    }

    /// Trains on `count` row-major rows of `dim` features.
    ///
    /// Zero features are left out of liblinear's sparse rows (that changes nothing: they add
    /// nothing to any dot product). liblinear's own printing is silenced. Training calls are
    /// serialised process-wide, and C `srand(1)` is called before each one, because liblinear
    /// shuffles with the process-global C `rand()`: the same inputs always give the same model.
    /// - Parameters:
    ///   - C: cost of constraint violation (> 0).
    ///   - epsilon: liblinear's stopping tolerance (> 0), 0.1 being liblinear's default here.
    /// `primal` and `dual`: L2-loss (squared hinge) SVC; `hinge`: L1-loss SVC in the dual, the loss of
    /// libsvm's linear C-SVC that the reference used.
    public enum Solver: String, Sendable, CaseIterable { case primal, dual, hinge }

    public static func train(features: [Float], count: Int, dim: Int, labels: [Int32],
                             C: Double = 1, epsilon: Double = 0.1, solver: Solver = .dual) throws -> LinearSVM {
        try train(features: matrix(features, count: count, dim: dim), labels: labels, C: C, epsilon: epsilon, solver: solver)
    }

    /// Trains on every row of `features`, `labels[i]` for row `i`.
    public static func train(features: FeatureMatrix, labels: [Int32],
                             C: Double = 1, epsilon: Double = 0.1, solver: Solver = .dual) throws -> LinearSVM {
        try trainWithLiblinear(features: features, labels: labels, C: C, epsilon: epsilon, solver: solver,
                               queries: nil).model
    }

    /// Trains on rows `rows` of `features` (a larger row-major matrix, `dim` wide), `labels[i]` for
    /// row `rows[i]`: the same model as copying those rows out first, without the copy.
    public static func train(features: [Float], rows: [Int], dim: Int, labels: [Int32],
                             C: Double = 1, epsilon: Double = 0.1, solver: Solver = .dual) throws -> LinearSVM {
        guard dim > 0, features.count % dim == 0 else {
            throw LinearSVMError.invalidInput("\(features.count) feature values are no rows of \(dim)")
        }
        return try train(features: FeatureMatrix(values: features, count: features.count / dim, dim: dim), rows: rows,
                         labels: labels, C: C, epsilon: epsilon, solver: solver)
    }

    /// Trains on rows `rows` of `features`, `labels[i]` for row `rows[i]`: the same model as copying
    /// those rows out first, without the copy.
    public static func train(features: FeatureMatrix, rows: [Int], labels: [Int32],
                             C: Double = 1, epsilon: Double = 0.1, solver: Solver = .dual) throws -> LinearSVM {
        guard rows.allSatisfy({ $0 >= 0 && $0 < features.count }) else {
            throw LinearSVMError.invalidInput("rows outside the \(features.count) x \(features.dim) features")
        }
        return try trainWithLiblinear(features: features, labels: labels, C: C, epsilon: epsilon, solver: solver,
                                      queries: nil, selected: rows).model
    }

    /// `features` as a `count x dim` matrix, or `invalidInput` when the sizes disagree.
    static func matrix(_ features: [Float], count: Int, dim: Int) throws -> FeatureMatrix {
        guard count >= 0, dim >= 0, features.count == count * dim else {
            throw LinearSVMError.invalidInput("\(features.count) feature values for \(count) x \(dim)")
        }
        return FeatureMatrix(values: features, count: count, dim: dim)
    }

    /// Trains and, before freeing the C model, runs liblinear's own `predict` on `queries`
    /// (`queryCount` rows of `dim` features). For tests comparing against Swift prediction.
    static func trainWithLiblinear(features: [Float], count: Int, dim: Int, labels: [Int32],
                                   C: Double, epsilon: Double, solver: Solver = .dual, queries: [Float]?,
                                   queryCount: Int) throws -> (model: LinearSVM, liblinearPredictions: [Int32]) {
        var q: FeatureMatrix?
        if let queries { q = try matrix(queries, count: queryCount, dim: dim) }
        return try trainWithLiblinear(features: matrix(features, count: count, dim: dim), labels: labels, C: C,
                                      epsilon: epsilon, solver: solver, queries: q)
    }

    /// Trains on rows `selected` of `features` (all rows when nil) and runs liblinear's own `predict`
    /// on `queries` when given.
    static func trainWithLiblinear(features: FeatureMatrix, labels: [Int32], C: Double, epsilon: Double,
                                   solver: Solver, queries: FeatureMatrix?,
                                   selected: [Int]? = nil) throws -> (model: LinearSVM, liblinearPredictions: [Int32]) {
        let count = selected?.count ?? features.count
        let dim = features.dim
        guard count > 0 else { throw LinearSVMError.invalidInput("no training samples") }
        guard dim > 0 else { throw LinearSVMError.invalidInput("dim must be positive, got \(dim)") }
        guard dim < Int(Int32.max) - 1 else { throw LinearSVMError.invalidInput("dim \(dim) too large for liblinear") }
        guard count <= Int(Int32.max) else { throw LinearSVMError.invalidInput("too many samples for liblinear") }
        guard labels.count == count else {
            throw LinearSVMError.invalidInput("\(labels.count) labels for \(count) samples")
        }
        guard C > 0, C.isFinite, epsilon > 0, epsilon.isFinite else {
            throw LinearSVMError.invalidInput("C and epsilon must be positive and finite (C=\(C), epsilon=\(epsilon))")
        }
        if let queries, queries.dim != dim {
            throw LinearSVMError.invalidInput("\(queries.dim) query features for \(dim)")
        }

        let rows = SparseRows(features: features, bias: 1, selected: selected)
        var y = labels.map { Double($0) }

        liblinearLock.lock()
        defer { liblinearLock.unlock() }
        _ = silenceLiblinear
        srand(1)

        return try y.withUnsafeMutableBufferPointer { yBuffer in
            var problem = CLinear.problem()
            problem.l = Int32(count)
            problem.n = Int32(dim + 1)
            problem.y = yBuffer.baseAddress
            problem.x = rows.rowPointers
            problem.bias = 1

            var param = parameter()
            switch solver {
            case .primal: param.solver_type = Int32(L2R_L2LOSS_SVC)
            case .dual: param.solver_type = Int32(L2R_L2LOSS_SVC_DUAL)
            case .hinge: param.solver_type = Int32(L2R_L1LOSS_SVC_DUAL)
            }
            param.eps = epsilon
            param.C = C
            param.nr_weight = 0
            param.weight_label = nil
            param.weight = nil
            param.p = 0.1
            param.init_sol = nil

            if let message = check_parameter(&problem, &param) {
                throw LinearSVMError.liblinear(String(cString: message))
            }
            var trained: UnsafeMutablePointer<model>? = CLinear.train(&problem, &param)
            guard let modelPointer = trained else {
                throw LinearSVMError.liblinear("train returned no model")
            }
            defer { free_and_destroy_model(&trained) }

            let m = modelPointer.pointee
            let nrClass = Int(m.nr_class)
            let nrFeature = Int(m.nr_feature)
            guard nrClass >= 1, nrFeature == dim, m.bias == 1 else {
                throw LinearSVMError.liblinear("unexpected model: \(nrClass) classes, \(nrFeature) features, bias \(m.bias)")
            }
            // liblinear keeps one weight vector for two classes (solver is not MCSVM_CS here).
            let columns = nrClass == 2 ? 1 : nrClass
            let modelLabels = Array(UnsafeBufferPointer(start: m.label, count: nrClass))
            let weights = Array(UnsafeBufferPointer(start: m.w, count: (nrFeature + 1) * columns))
            let svm = LinearSVM(dim: dim, labels: modelLabels, weights: weights, bias: 1)

            var predictions = [Int32]()
            if let queries, queries.count > 0 {
                let queryRows = SparseRows(features: queries, bias: 1)
                predictions.reserveCapacity(queries.count)
                for i in 0..<queries.count {
                    predictions.append(Int32(CLinear.predict(modelPointer, queryRows.rowPointers[i])))
                }
            }
            return (svm, predictions)
        }
    }

    /// The decision values, `count x weightColumns` row-major, exactly as liblinear's
    /// `predict_values` computes them (double accumulation in feature order, bias last).
    public func decisionValues(features: [Float], count: Int) -> [Double] {
        precondition(count >= 0 && features.count == count * dim,
                     "LinearSVM: \(features.count) feature values for \(count) x \(dim)")
        return decisionValues(FeatureMatrix(values: features, count: count, dim: dim))
    }

    /// The decision values of every row of `features`, as `decisionValues(features:count:)`.
    public func decisionValues(_ features: FeatureMatrix) -> [Double] {
        precondition(features.dim == dim, "LinearSVM: \(features.dim) features for \(dim)")
        let count = features.count
        let columns = weightColumns
        guard count > 0 else { return [] }
        return [Double](unsafeUninitializedCapacity: count * columns) { buffer, initialized in
            let out = SendablePointer(buffer.baseAddress!)
            forEachChunk(count: count) { range in
                features.forEachBlock(range) { block, xs in
                    decisions(xs, 0..<block.count, out.pointer + block.lowerBound * columns)
                }
            }
            initialized = count * columns
        }
    }

    /// Predicted labels of `count` row-major rows of `dim` features; the same labels as
    /// liblinear's `predict` (two classes: decision > 0 gives `labels[0]`, else `labels[1]`;
    /// one or more than two: the first largest decision value wins).
    public func predict(features: [Float], count: Int) -> [Int32] {
        precondition(count >= 0 && features.count == count * dim,
                     "LinearSVM: \(features.count) feature values for \(count) x \(dim)")
        return predict(FeatureMatrix(values: features, count: count, dim: dim))
    }

    /// Predicted labels of every row of `features`, as `predict(features:count:)`.
    public func predict(_ features: FeatureMatrix) -> [Int32] {
        precondition(features.dim == dim, "LinearSVM: \(features.dim) features for \(dim)")
        let count = features.count
        let columns = weightColumns
        guard count > 0 else { return [] }
        let tile = min(256, features.blockRows)
        return [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = SendablePointer(buffer.baseAddress!)
            forEachChunk(count: count) { range in
                labels.withUnsafeBufferPointer { labels in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: tile * columns) { dec in
                        features.forEachBlock(range, rowsPerBlock: tile) { block, xs in
                            decisions(xs, 0..<block.count, dec.baseAddress!)
                            for s in block {
                                let d = dec.baseAddress! + (s - block.lowerBound) * columns
                                if labels.count == 2 {
                                    out.pointer[s] = d[0] > 0 ? labels[0] : labels[1]
                                } else {
                                    var best = 0
                                    for i in 1..<columns where d[i] > d[best] { best = i }
                                    out.pointer[s] = labels[best]
                                }
                            }
                        }
                    }
                }
            }
            initialized = count
        }
    }

    /// Fraction (0...1) of the `count` rows whose predicted label equals `labels`; 0 when count is 0.
    public func accuracy(features: [Float], count: Int, labels: [Int32]) -> Double {
        precondition(count >= 0 && features.count == count * dim,
                     "LinearSVM: \(features.count) feature values for \(count) x \(dim)")
        return accuracy(FeatureMatrix(values: features, count: count, dim: dim), labels: labels)
    }

    /// Fraction (0...1) of the rows of `features` whose predicted label equals `labels`; 0 for no rows.
    public func accuracy(_ features: FeatureMatrix, labels: [Int32]) -> Double {
        let count = features.count
        precondition(labels.count == count, "LinearSVM.accuracy: \(labels.count) labels for \(count) samples")
        guard count > 0 else { return 0 }
        let predicted = predict(features)
        var correct = 0
        for i in 0..<count where predicted[i] == labels[i] { correct += 1 }
        return Double(correct) / Double(count)
    }

    /// Decision values of rows `range` of `xs` into `dec` (`range.count x weightColumns`).
    ///
    /// This is liblinear's `predict_values` loop: per weight vector, double accumulation in
    /// feature order, zero features skipped (as the sparse row leaves them out), the bias
    /// feature last. With 3 or more weight vectors, up to 8 of them sit side by side in SIMD
    /// lanes and two rows go through the features together (independent add chains); each
    /// lane does the same multiply and add as liblinear, so the results are bit-identical.
    private func decisions(_ xs: UnsafePointer<Float>, _ range: Range<Int>, _ dec: UnsafeMutablePointer<Double>) {
        if groups.isEmpty {
            weights.withUnsafeBufferPointer { w in
                for s in range {
                    decideScalar(xs + s * dim, w.baseAddress!, dec + (s - range.lowerBound) * weightColumns)
                }
            }
            return
        }
        packed.withUnsafeBufferPointer { p in
            for group in groups {
                let base = UnsafeRawPointer(p.baseAddress! + group.offset)
                if group.width == 8 {
                    decisionsSIMD(SIMD8<Double>.self, base, group, xs, range, dec)
                } else {
                    decisionsSIMD(SIMD4<Double>.self, base, group, xs, range, dec)
                }
            }
        }
    }

    @inline(__always)
    private func decisionsSIMD<V: SIMD>(_: V.Type, _ w: UnsafeRawPointer, _ group: LaneGroup,
                                        _ xs: UnsafePointer<Float>, _ range: Range<Int>,
                                        _ dec: UnsafeMutablePointer<Double>) where V.Scalar == Double {
        let dim = self.dim
        let columns = weightColumns
        let stride = MemoryLayout<V>.stride
        let biasTerm = w.loadUnaligned(fromByteOffset: dim * stride, as: V.self) * V(repeating: bias)
        @inline(__always) func store(_ a: V, _ s: Int) {
            let d = dec + (s - range.lowerBound) * columns + group.first
            for i in 0..<group.lanes { d[i] = a[i] }
        }
        var s = range.lowerBound
        while s + 1 < range.upperBound {
            let x0 = xs + s * dim
            let x1 = x0 + dim
            var a0 = V()
            var a1 = V()
            for j in 0..<dim {
                let wj = w.loadUnaligned(fromByteOffset: j * stride, as: V.self)
                let v0 = x0[j]
                let v1 = x1[j]
                if v0 != 0 { a0 += wj * V(repeating: Double(v0)) }
                if v1 != 0 { a1 += wj * V(repeating: Double(v1)) }
            }
            store(a0 + biasTerm, s)
            store(a1 + biasTerm, s + 1)
            s += 2
        }
        if s < range.upperBound {
            let x0 = xs + s * dim
            var a0 = V()
            for j in 0..<dim {
                let v0 = x0[j]
                if v0 != 0 { a0 += w.loadUnaligned(fromByteOffset: j * stride, as: V.self) * V(repeating: Double(v0)) }
            }
            store(a0 + biasTerm, s)
        }
    }

    @inline(__always)
    private func decideScalar(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Double>,
                              _ acc: UnsafeMutablePointer<Double>) {
        let columns = weightColumns
        let dim = self.dim
        if columns == 1 {
            var a = 0.0
            for j in 0..<dim {
                let v = x[j]
                if v != 0 { a += w[j] * Double(v) }
            }
            acc[0] = a + w[dim] * bias
            return
        }
        acc.initialize(repeating: 0, count: columns)
        for j in 0..<dim {
            let v = x[j]
            if v != 0 {
                let xv = Double(v)
                let row = w + j * columns
                for i in 0..<columns { acc[i] += row[i] * xv }
            }
        }
        let row = w + dim * columns
        for i in 0..<columns { acc[i] += row[i] * bias }
    }

    /// Runs `body` over chunks of 0..<count, on all cores when the work is large enough.
    private func forEachChunk(count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let work = count * (dim + 1) * weightColumns
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard work >= 1 << 20, count >= 2, cores > 1 else {
            body(0..<count)
            return
        }
        let chunks = min(count, cores * 4)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            body((count * c / chunks)..<(count * (c + 1) / chunks))
        }
    }
}

/// An output pointer shared by worker threads that write disjoint ranges.
private struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Serialises liblinear training: its print hook and C `rand()` are process-global.
private let liblinearLock = NSLock()

/// Installs a no-op print function in liblinear (once).
private let silenceLiblinear: Void = set_print_string_function(liblinearSilentPrint)

private func liblinearSilentPrint(_: UnsafePointer<CChar>?) {}

/// liblinear's sparse rows in one contiguous allocation: each row holds its non-zero features
/// (1-based index), then the bias feature (index dim+1), then the terminator (index -1).
final class SparseRows {
    let nodes: UnsafeMutablePointer<feature_node>
    let rowPointers: UnsafeMutablePointer<UnsafeMutablePointer<feature_node>?>
    let count: Int
    /// Nodes in `nodes`, terminators included.
    let nodeCount: Int

    /// Rows `selected` of `features`, in that order; all rows when nil (a subset is read in place:
    /// no copy of its dense rows).
    init(features: FeatureMatrix, bias: Double, selected: [Int]? = nil) {
        let count = selected?.count ?? features.count
        let dim = features.dim
        self.count = count
        // Every selected row, in order, as floats (a compact matrix decodes them one by one).
        func eachRow(_ body: (UnsafePointer<Float>) -> Void) {
            if let selected { features.forEachRow(selected) { body($1) } } else { features.forEachRow(0..<count) { body($1) } }
        }
        var nonZero = 0
        eachRow { row in for j in 0..<dim where row[j] != 0 { nonZero += 1 } }
        let total = nonZero + 2 * count
        let nodes = UnsafeMutablePointer<feature_node>.allocate(capacity: max(total, 1))
        let rowPointers = UnsafeMutablePointer<UnsafeMutablePointer<feature_node>?>.allocate(capacity: max(count, 1))
        var k = 0
        var r = 0
        eachRow { row in
            rowPointers[r] = nodes + k
            for j in 0..<dim {
                let v = row[j]
                if v != 0 {
                    (nodes + k).initialize(to: feature_node(index: Int32(j + 1), value: Double(v)))
                    k += 1
                }
            }
            (nodes + k).initialize(to: feature_node(index: Int32(dim + 1), value: bias))
            (nodes + k + 1).initialize(to: feature_node(index: -1, value: 0))
            k += 2
            r += 1
        }
        precondition(k == total && r == count)
        nodeCount = total
        self.nodes = nodes
        self.rowPointers = rowPointers
    }

    deinit {
        nodes.deallocate()
        rowPointers.deallocate()
    }
}
