import Testing
@testable import SpikeReadout

@Suite struct OneVsOneSVMTests {
    @Test func pairsInLibsvmOrder() {
        let p = OneVsOneSVM.pairs(classCount: 4).map { [$0.first, $0.second] }
        #expect(p == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
        #expect(OneVsOneSVM.pairs(classCount: 10).count == 45)
    }

    /// One feature x, classes 2, 5, 7. Pair decisions: (2|5) x - 1, (2|7) x - 3, (5|7) x - 2.
    /// Worked by hand:
    /// - x = 0: -1 -> 5, -3 -> 7, -2 -> 7: votes 2:0 5:1 7:2, class 7.
    /// - x = 2: 1 -> 2, -1 -> 7, 0 -> 7 (zero is not > 0): 2:1 7:2, class 7
    ///   (were zero a vote for the first class it would be a 1:1:1 tie, class 2).
    /// - x = 2.5: 1.5 -> 2, -0.5 -> 7, 0.5 -> 5: a 1:1:1 tie, the first class, 2.
    /// - x = 4: 3 -> 2, 1 -> 2, 2 -> 5: class 2.
    @Test func votesAndTiesByHand() {
        let svm = OneVsOneSVM(dim: 1, classes: [2, 5, 7], pairWeights: [[1, -1], [1, -3], [1, -2]])
        #expect(svm.predict(features: [0, 2, 2.5, 4], count: 4) == [7, 7, 2, 2])
        #expect(svm.accuracy(features: [0, 2, 2.5, 4], count: 4, labels: [7, 2, 2, 2]) == 0.75)
    }

    @Test func twoClassesIsOnePair() {
        let svm = OneVsOneSVM(dim: 1, classes: [3, 8], pairWeights: [[2, -1]])
        #expect(svm.predict(features: [0, 0.5, 1], count: 3) == [8, 8, 3])
    }

    /// Each pair's weights are those of a binary SVM trained on that pair's rows alone, oriented
    /// towards the pair's first class.
    @Test func pairIsTheBinarySVMOnItsRows() throws {
        let (x, y) = threeClusters()  // labels 5, 7, 9
        let classes: [Int32] = [5, 7, 9]
        let pair = OneVsOneSVM.Pair(first: 1, second: 2)
        let w = try OneVsOneSVM.trainPair(pair, classes: classes, features: x, count: y.count, dim: 2,
                                          labels: y, C: 1, epsilon: 0.001, solver: .primal)
        var rows: [Float] = [], binary: [Int32] = []
        for r in y.indices where y[r] != 5 {
            rows += x[(2 * r)..<(2 * r + 2)]
            binary.append(y[r] == 7 ? 1 : -1)
        }
        let direct = try LinearSVM.train(features: rows, count: binary.count, dim: 2, labels: binary,
                                         C: 1, epsilon: 0.001, solver: .primal)
        let sign: Double = direct.labels[0] == 1 ? 1 : -1
        #expect(w == direct.weights.map { $0 * sign })
        // Class 7's centre (4, -3) is on the positive side, class 9's (-4, -3) on the negative.
        #expect(w[0] * 4 + w[1] * -3 + w[2] > 0)
        #expect(w[0] * -4 + w[1] * -3 + w[2] < 0)
    }

    @Test func separableThreeClasses() throws {
        let (x, y) = threeClusters()
        let classes: [Int32] = [5, 7, 9]
        let weights = try OneVsOneSVM.pairs(classCount: 3).map {
            try OneVsOneSVM.trainPair($0, classes: classes, features: x, count: y.count, dim: 2, labels: y,
                                      C: 10, epsilon: 0.001, solver: .primal)
        }
        let svm = OneVsOneSVM(dim: 2, classes: classes, pairWeights: weights)
        #expect(svm.accuracy(features: x, count: y.count, labels: y) == 1.0)
        let points: [Float] = [0, 5, 0.3, 3, 5, -4, 3, -2, -5, -4, -3.5, -2]
        #expect(svm.predict(features: points, count: 6) == [5, 5, 7, 7, 9, 9])
    }

    @Test func pairWithoutSamplesThrows() {
        #expect(throws: LinearSVMError.self) {
            try OneVsOneSVM.trainPair(OneVsOneSVM.Pair(first: 0, second: 1), classes: [1, 2], features: [0, 1],
                                      count: 2, dim: 1, labels: [1, 1], C: 1, epsilon: 0.01, solver: .primal)
        }
    }
}
