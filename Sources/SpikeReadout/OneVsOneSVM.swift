/// A multi-class linear SVM made of one binary SVM per pair of classes, voting as libsvm does
/// (the reference simulator's readout was libsvm's linear C-SVC, which is one-vs-one). On the
/// CSNN's features it beats one-vs-rest by about half a point on MNIST: each pair gets its own
/// hyperplane instead of one class against a mixture of nine.
///
/// The pair classifiers are trained independently (`trainPair`), so a caller can share them out
/// over ranks and assemble the model with `init`; the model does not depend on who trained what.
public struct OneVsOneSVM: Sendable {
    /// The classes, sorted.
    public let classes: [Int32]
    /// The pairs `(i, j)`, `i < j`, indices into `classes`, in libsvm's order (i major).
    public let pairs: [Pair]
    /// One decision column per pair; positive votes for the pair's first class.
    private let decisions: LinearSVM

    public struct Pair: Sendable, Equatable {
        public let first: Int
        public let second: Int
    }

    public var dim: Int { decisions.dim }

    /// The pairs of `classCount` classes in libsvm's order: (0,1), (0,2), ..., (1,2), ...
    public static func pairs(classCount: Int) -> [Pair] {
        var out: [Pair] = []
        for i in 0..<classCount { for j in (i + 1)..<max(classCount, i + 1) { out.append(Pair(first: i, second: j)) } }
        return out
    }

    /// - Parameter pairWeights: per pair (in `pairs(classCount:)` order), `dim` weights then the bias
    ///   weight, oriented so that a positive decision means the pair's first class.
    public init(dim: Int, classes: [Int32], pairWeights: [[Double]]) {
        precondition(classes.count >= 2, "OneVsOneSVM: at least two classes")
        let pairs = Self.pairs(classCount: classes.count)
        precondition(pairWeights.count == pairs.count && pairWeights.allSatisfy { $0.count == dim + 1 },
                     "OneVsOneSVM: \(pairWeights.count) weight vectors for \(pairs.count) pairs")
        self.classes = classes
        self.pairs = pairs
        let columns = pairs.count
        var weights = [Double](repeating: 0, count: (dim + 1) * columns)
        for (p, w) in pairWeights.enumerated() { for j in 0...dim { weights[j * columns + p] = w[j] } }
        // One column with two "labels" would make LinearSVM binary; its labels are only column names here.
        let names = columns == 1 ? [Int32(1)] : (0..<columns).map { Int32($0) }
        decisions = LinearSVM(dim: dim, labels: names, weights: weights)
    }

    /// Trains the binary problem `classes[pair.first]` (+1) against `classes[pair.second]` (-1) on
    /// the rows of those two classes; returns its `dim + 1` weights oriented towards the first class.
    public static func trainPair(_ pair: Pair, classes: [Int32], features: [Float], count: Int, dim: Int,
                                 labels: [Int32], C: Double, epsilon: Double,
                                 solver: LinearSVM.Solver) throws -> [Double] {
        try trainPair(pair, classes: classes, features: LinearSVM.matrix(features, count: count, dim: dim),
                      labels: labels, C: C, epsilon: epsilon, solver: solver)
    }

    /// As `trainPair(_:classes:features:count:dim:labels:C:epsilon:solver:)`, on the rows of `features`.
    public static func trainPair(_ pair: Pair, classes: [Int32], features: FeatureMatrix, labels: [Int32],
                                 C: Double, epsilon: Double, solver: LinearSVM.Solver) throws -> [Double] {
        let count = features.count
        guard labels.count == count else {
            throw LinearSVMError.invalidInput("\(labels.count) labels for \(count) samples")
        }
        let a = classes[pair.first], b = classes[pair.second]
        // The two classes' rows are read in place (a copy of them was the readout's largest buffer).
        var rows: [Int] = []
        var y: [Int32] = []
        for r in 0..<count where labels[r] == a || labels[r] == b {
            rows.append(r)
            y.append(labels[r] == a ? 1 : -1)
        }
        guard y.contains(1), y.contains(-1) else {
            throw LinearSVMError.invalidInput("classes \(a) and \(b) need training samples each")
        }
        let m = try LinearSVM.train(features: features, rows: rows, labels: y, C: C, epsilon: epsilon, solver: solver)
        // liblinear's one weight vector is for labels[0].
        let sign: Double = m.labels[0] == 1 ? 1 : -1
        return m.weights.map { $0 * sign }
    }

    /// Predicted classes: each pair votes, the class with most votes wins, ties to the first class
    /// (libsvm's rule).
    public func predict(features: [Float], count: Int) -> [Int32] {
        precondition(count >= 0 && features.count == count * dim,
                     "OneVsOneSVM: \(features.count) feature values for \(count) x \(dim)")
        return predict(FeatureMatrix(values: features, count: count, dim: dim))
    }

    /// Predicted classes of the rows of `features`, as `predict(features:count:)`.
    public func predict(_ features: FeatureMatrix) -> [Int32] {
        let count = features.count
        let dec = decisions.decisionValues(features)
        let columns = pairs.count
        var out = [Int32](repeating: 0, count: count)
        var votes = [Int](repeating: 0, count: classes.count)
        for s in 0..<count {
            for c in votes.indices { votes[c] = 0 }
            for (p, pair) in pairs.enumerated() {
                if dec[s * columns + p] > 0 { votes[pair.first] += 1 } else { votes[pair.second] += 1 }
            }
            var best = 0
            for c in 1..<votes.count where votes[c] > votes[best] { best = c }
            out[s] = classes[best]
        }
        return out
    }

    /// Fraction (0...1) of rows predicted as `labels`; 0 when count is 0.
    public func accuracy(features: [Float], count: Int, labels: [Int32]) -> Double {
        precondition(count >= 0 && features.count == count * dim,
                     "OneVsOneSVM: \(features.count) feature values for \(count) x \(dim)")
        return accuracy(FeatureMatrix(values: features, count: count, dim: dim), labels: labels)
    }

    /// Fraction (0...1) of the rows of `features` predicted as `labels`; 0 for no rows.
    public func accuracy(_ features: FeatureMatrix, labels: [Int32]) -> Double {
        let count = features.count
        guard count > 0 else { return 0 }
        let predicted = predict(features)
        var correct = 0
        for i in 0..<count where predicted[i] == labels[i] { correct += 1 }
        return Double(correct) / Double(count)
    }
}

/// What the run needs of a trained readout: labels for feature rows.
public protocol FeatureClassifier: Sendable {
    func predict(_ features: FeatureMatrix) -> [Int32]
    func accuracy(_ features: FeatureMatrix, labels: [Int32]) -> Double
}

extension LinearSVM: FeatureClassifier {}
extension OneVsOneSVM: FeatureClassifier {}
