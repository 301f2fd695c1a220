import Foundation
import Testing
@testable import SpikeReadout

/// Deterministic pseudo-random Floats in [-1, 1).
func pseudoRandomFloats(_ n: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(state >> 40) / Float(1 << 23) - 1
    }
}

/// Three well separated clusters in 2-D with labels 5, 7 and 9 (not 0..<3, to check that
/// labels are passed through): around (0, 4), (4, -3) and (-4, -3).
func threeClusters() -> (features: [Float], labels: [Int32]) {
    let centres: [(Float, Float, Int32)] = [(0, 4, 5), (4, -3, 7), (-4, -3, 9)]
    let noise = pseudoRandomFloats(2 * 30 * 3, seed: 11)
    var features = [Float]()
    var labels = [Int32]()
    for i in 0..<30 {
        for (c, centre) in centres.enumerated() {
            let k = 2 * (i * 3 + c)
            features += [centre.0 + noise[k], centre.1 + noise[k + 1]]
            labels.append(centre.2)
        }
    }
    return (features, labels)
}

@Suite struct LinearSVMTests {
    @Test func separableThreeClasses() throws {
        let (x, y) = threeClusters()
        let svm = try LinearSVM.train(features: x, count: y.count, dim: 2, labels: y, C: 10)
        #expect(svm.labels == [5, 7, 9])  // order of first appearance, like liblinear
        #expect(svm.weightColumns == 3 && svm.dim == 2 && svm.weights.count == 9)
        #expect(svm.accuracy(features: x, count: y.count, labels: y) == 1.0)

        let points: [Float] = [0, 5, 0.3, 3, 5, -4, 3, -2, -5, -4, -3.5, -2]
        #expect(svm.predict(features: points, count: 6) == [5, 5, 7, 7, 9, 9])
    }

    @Test func swiftPredictionMatchesLiblinear() throws {
        let (x, y) = threeClusters()
        // A grid over the plane, including points with zero coordinates (left out of the
        // sparse rows) and points near the decision boundaries.
        var grid = [Float]()
        for i in -20...20 {
            for j in -20...20 { grid += [Float(i) * 0.5, Float(j) * 0.5] }
        }
        let n = grid.count / 2
        let (svm, reference) = try LinearSVM.trainWithLiblinear(
            features: x, count: y.count, dim: 2, labels: y, C: 1, epsilon: 0.1, queries: grid, queryCount: n)
        #expect(reference.count == n)
        #expect(svm.predict(features: grid, count: n) == reference)
    }

    @Test(arguments: [2, 3, 4, 5, 10, 20])
    func swiftPredictionMatchesLiblinearHighDim(classes: Int) throws {
        // Noisy, not separable, sparse data (about half of the features are zero), with
        // enough queries that prediction runs multi-threaded.
        let dim = 50, count = 400, queries = 3000
        let raw = pseudoRandomFloats(count * dim, seed: UInt64(classes))
        let x = raw.map { $0 > 0 ? $0 : 0 }
        let labels = (0..<count).map { i -> Int32 in
            let s = (0..<5).reduce(Float(0)) { $0 + x[i * dim + $1] * Float($1 + 1) }
            return Int32(Int(s * 7) % classes) - 1  // labels -1 ... classes-2
        }
        let q = pseudoRandomFloats(queries * dim, seed: 99).map { $0 > -0.2 ? $0 : 0 }
        let (svm, reference) = try LinearSVM.trainWithLiblinear(
            features: x, count: count, dim: dim, labels: labels, C: 0.5, epsilon: 0.01,
            queries: q, queryCount: queries)
        #expect(svm.labels.count == classes)
        #expect(svm.weightColumns == (classes == 2 ? 1 : classes))
        #expect(svm.predict(features: q, count: queries) == reference)
        #expect(svm.predict(features: x, count: count).count == count)
    }

    @Test func singleClass() throws {
        let x: [Float] = [1, 0, 0, 2, 3, 3]
        let (svm, reference) = try LinearSVM.trainWithLiblinear(
            features: x, count: 3, dim: 2, labels: [4, 4, 4], C: 1, epsilon: 0.1, queries: x, queryCount: 3)
        #expect(svm.labels == [4])
        #expect(svm.predict(features: x, count: 3) == [4, 4, 4])
        #expect(reference == [4, 4, 4])
    }

    @Test func decisionValuesFromWeights() throws {
        let (x, y) = threeClusters()
        let svm = try LinearSVM.train(features: x, count: y.count, dim: 2, labels: y)
        let point: [Float] = [1.5, -2]
        let values = svm.decisionValues(features: point, count: 1)
        for i in 0..<3 {
            let w = svm.weights
            let expected = w[0 * 3 + i] * 1.5 + w[1 * 3 + i] * -2.0 + w[2 * 3 + i]
            #expect(abs(values[i] - expected) < 1e-12)
        }
        #expect(svm.predict(features: [], count: 0) == [])
    }

    @Test func trainingIsDeterministic() throws {
        let (x, y) = threeClusters()
        let a = try LinearSVM.train(features: x, count: y.count, dim: 2, labels: y, C: 3, epsilon: 0.001)
        let b = try LinearSVM.train(features: x, count: y.count, dim: 2, labels: y, C: 3, epsilon: 0.001)
        #expect(a == b)
    }

    @Test func invalidInputThrows() {
        #expect(throws: LinearSVMError.self) {
            _ = try LinearSVM.train(features: [1, 2, 3], count: 2, dim: 2, labels: [0, 1])
        }
        #expect(throws: LinearSVMError.self) {
            _ = try LinearSVM.train(features: [1, 2, 3, 4], count: 2, dim: 2, labels: [0])
        }
        #expect(throws: LinearSVMError.self) {
            _ = try LinearSVM.train(features: [], count: 0, dim: 2, labels: [])
        }
        #expect(throws: LinearSVMError.self) {
            _ = try LinearSVM.train(features: [1, 2, 3, 4], count: 2, dim: 2, labels: [0, 1], C: 0)
        }
    }
}

@Suite struct MinMaxScalerTests {
    @Test func handWorked3x2() {
        // column 0: 1, 3, 5   -> min 1, max 5, (x-1)/4  -> 0, 0.5, 1
        // column 1: 2, -2, 6  -> min -2, max 6, (x+2)/8 -> 0.5, 0, 1
        let x: [Float] = [1, 2,
                          3, -2,
                          5, 6]
        let scaler = MinMaxScaler.fit(x, count: 3, dim: 2)
        #expect(scaler.minimum == [1, -2] && scaler.maximum == [5, 6])
        var y = x
        scaler.transform(&y, count: 3)
        #expect(y == [0, 0.5,
                      0.5, 0,
                      1, 1])
        // not clipped: outside the fitted range maps outside [0, 1]
        var z: [Float] = [7, -6, 0, 2]
        scaler.transform(&z, count: 2)
        #expect(z == [1.5, -0.5, -0.25, 0.5])
    }

    @Test func constantFeatureMapsToZero() {
        let x: [Float] = [4, 1, 4, 2, 4, 3]
        let scaler = MinMaxScaler.fit(x, count: 3, dim: 2)
        var y = x
        scaler.transform(&y, count: 3)
        #expect(y == [0, 0, 0, 0.5, 0, 1])
        var z: [Float] = [9, 1]
        scaler.transform(&z, count: 1)
        #expect(z == [0, 0])
    }

    @Test func emptyFit() {
        let scaler = MinMaxScaler.fit([], count: 0, dim: 3)
        var y: [Float] = [1, 2, 3]
        scaler.transform(&y, count: 1)
        #expect(y == [0, 0, 0])
    }
}
