import Testing
@testable import SpikeReadout
import CLinear

/// Features held as spike-step codes (`FeatureMatrix(codes:...)`) must give exactly what the same
/// features held as floats give: the scaler, liblinear's rows, the trained weights, the decisions.
///
/// T = 8, t_obj = 0.5: f = clip(1 - (s / 8 - 0.5) / 0.5, 0, 1) = clip(2 - s / 4, 0, 1):
/// steps 0...4 -> 1, 5 -> 0.75, 6 -> 0.5, 7 -> 0.25, 8 and up (255: no spike) -> 0; all exact.
@Suite struct FeatureMatrixTests {
    let time = TimeFeatures(timesteps: 8, targetTime: 0.5, grid: 1)
    /// 4 images x 3 neurons; as values [0.75, 0, 0.25], [0.5, 0.5, 0], [1, 0.25, 0.75], [0, 0, 0.5].
    let codes: [UInt8] = [5, 255, 7,
                          6, 6, 255,
                          4, 7, 5,
                          9, 255, 6]
    let values: [Float] = [0.75, 0, 0.25,
                           0.5, 0.5, 0,
                           1, 0.25, 0.75,
                           0, 0, 0.5]

    var compact: FeatureMatrix { FeatureMatrix(codes: codes, count: 4, dim: 3, table: time.cellValues) }
    var plain: FeatureMatrix { FeatureMatrix(values: values, count: 4, dim: 3) }

    @Test func codesReadAsTheirValues() {
        #expect(Array(time.cellValues[0..<9]) == [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0])
        #expect(compact.isCompact && !plain.isCompact)
        #expect(compact.floats == values)
        #expect(compact.bytes == 12 + 256 * 4)
        // Rows in any order, and blocks of any size, read the same floats.
        var seen: [Float] = []
        compact.forEachRow([2, 0]) { r, row in seen += (0..<3).map { row[$0] }; #expect(r == 2 || r == 0) }
        #expect(seen == [1, 0.25, 0.75, 0.75, 0, 0.25])
        var blocks: [Range<Int>] = []
        var all: [Float] = []
        compact.forEachBlock(1..<4, rowsPerBlock: 2) { rows, xs in
            blocks.append(rows)
            all += (0..<(rows.count * 3)).map { xs[$0] }
        }
        #expect(blocks == [1..<3, 3..<4])
        #expect(all == Array(values[3...]))
    }

    /// Fitted on codes: the same minimum, maximum and scale as on the floats; scaling rewrites the
    /// codes' tables (one per feature) so they read as the scaled floats.
    @Test func scalerOnCodesByHand() {
        let scaler = MinMaxScaler.fit(compact)
        #expect(scaler == MinMaxScaler.fit(values, count: 4, dim: 3))
        #expect(scaler.minimum == [0, 0, 0] && scaler.maximum == [1, 0.5, 0.75])
        let s2 = Float(1) / Float(0.75)
        #expect(scaler.scale == [1, 2, s2])

        var c = compact
        scaler.transform(&c)
        var v = values
        scaler.transform(&v, count: 4)
        #expect(c.isCompact)
        #expect(c.floats == v)
        #expect(v == [0.75, 0, 0.25 * s2,
                      0.5, 1, 0,
                      1, 0.5, 0.75 * s2,
                      0, 0, 0.5 * s2])
        var p = plain
        scaler.transform(&p)
        #expect(!p.isCompact && p.floats == v)

        // Test images scaled with the train set's scaler, not clipped: step 3 is 1 (column 0's max),
        // step 0 is 1, twice column 1's max, step 255 is 0.
        var test = FeatureMatrix(codes: [3, 0, 255], count: 1, dim: 3, table: time.cellValues)
        scaler.transform(&test)
        #expect(test.floats == [1, 2, 0])
        // Scaling twice composes (tables of tables): the same as twice on the floats.
        scaler.transform(&c)
        scaler.transform(&v, count: 4)
        #expect(c.floats == v)
    }

    /// liblinear's rows of a subset of compact rows: the same nodes as from the floats, by hand.
    @Test func liblinearRowsByHand() {
        let scaler = MinMaxScaler.fit(compact)
        var c = compact
        scaler.transform(&c)
        var p = plain
        scaler.transform(&p)
        let s2 = Float(1) / Float(0.75)
        func nodes(_ m: FeatureMatrix) -> [[Double]] {
            let rows = SparseRows(features: m, bias: 1, selected: [2, 0, 3])
            return (0..<rows.nodeCount).map { [Double(rows.nodes[$0].index), rows.nodes[$0].value] }
        }
        let expected: [[Double]] = [[1, 1], [2, 0.5], [3, Double(0.75 * s2)], [4, 1], [-1, 0],
                                    [1, 0.75], [3, Double(0.25 * s2)], [4, 1], [-1, 0],
                                    [3, Double(0.5 * s2)], [4, 1], [-1, 0]]
        #expect(nodes(c) == expected)
        #expect(nodes(p) == expected)
    }

    /// A larger pseudo-random case: 3 classes, 600 images x 10 neurons (several blocks, SIMD lanes
    /// for one-vs-rest's 3 weight vectors), every solver: identical weights, decisions, labels.
    @Test(arguments: LinearSVM.Solver.allCases)
    func svmOnCodesIsTheSvmOnFloats(solver: LinearSVM.Solver) throws {
        let count = 600, dim = 10
        let noise = pseudoRandomFloats(count * dim, seed: 5)
        var codes = [UInt8](repeating: 0, count: count * dim)
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let label = Int32(i % 3)
            labels[i] = label
            for j in 0..<dim {
                // Class c's neurons c, c + 3, ... fire early (steps 0...5), the others late (6, 7) or not at all.
                let early = j % 3 == Int(label)
                let n = noise[i * dim + j]
                let step = early ? Int((n + 1) * 3) : (n > 0.3 ? 255 : 6 + Int(n + 1))
                codes[i * dim + j] = UInt8(step)
            }
        }
        var c = FeatureMatrix(codes: codes, count: count, dim: dim, table: time.cellValues)
        var p = FeatureMatrix(values: c.floats, count: count, dim: dim)
        let scaler = MinMaxScaler.fit(c)
        #expect(scaler == MinMaxScaler.fit(p))
        scaler.transform(&c)
        scaler.transform(&p)
        #expect(c.floats == p.floats)

        let ovr = try LinearSVM.train(features: c, labels: labels, C: 1, epsilon: 0.01, solver: solver)
        #expect(ovr == (try LinearSVM.train(features: p, labels: labels, C: 1, epsilon: 0.01, solver: solver)))
        #expect(ovr.decisionValues(c) == ovr.decisionValues(p))
        #expect(ovr.predict(c) == ovr.predict(p))
        #expect(ovr.accuracy(c, labels: labels) > 0.9)
        #expect(ovr.accuracy(c, labels: labels) == ovr.accuracy(p, labels: labels))

        let classes: [Int32] = [0, 1, 2]
        let pairs = OneVsOneSVM.pairs(classCount: 3)
        let wc = try pairs.map { try OneVsOneSVM.trainPair($0, classes: classes, features: c, labels: labels,
                                                          C: 1, epsilon: 0.01, solver: solver) }
        let wp = try pairs.map { try OneVsOneSVM.trainPair($0, classes: classes, features: p, labels: labels,
                                                          C: 1, epsilon: 0.01, solver: solver) }
        #expect(wc == wp)
        let ovo = OneVsOneSVM(dim: dim, classes: classes, pairWeights: wc)
        #expect(ovo.predict(c) == ovo.predict(features: p.floats, count: count))
        #expect(ovo.accuracy(c, labels: labels) > 0.9)
    }

    /// A map whose cells are single neurons (2x2, grid 2): the codes, read through `cellValues`, are
    /// exactly what `accumulate` sums, in its `[map][cell]` order.
    @Test func codesAreWhatAccumulateSums() {
        let f = TimeFeatures(timesteps: 8, targetTime: 0.5, grid: 2)
        #expect(f.singleNeuronCells(height: 2, width: 2) && !f.singleNeuronCells(height: 4, width: 4))
        #expect(!TimeFeatures(timesteps: 8, targetTime: 0.5, grid: 1).singleNeuronCells(height: 2, width: 2))
        // HWC, 3 maps: (y, x, map).
        let times: [UInt8] = [0, 5, 255,  6, 7, 1,
                              255, 3, 9,  2, 6, 5]
        var sums = [Float](repeating: 0, count: 12)
        var codes = [UInt8](repeating: 0, count: 12)
        let lut = f.table
        times.withUnsafeBufferPointer { t in
            lut.withUnsafeBufferPointer { l in
                sums.withUnsafeMutableBufferPointer {
                    f.accumulate(times: t, height: 2, width: 2, maps: 3, table: l.baseAddress!, into: $0.baseAddress!)
                }
            }
            codes.withUnsafeMutableBufferPointer { f.codes(times: t, height: 2, width: 2, maps: 3, into: $0.baseAddress!) }
        }
        #expect(codes == [0, 6, 255, 2,  5, 7, 3, 6,  255, 1, 9, 5])
        #expect(codes.map { f.cellValues[Int($0)] } == sums)
        #expect(sums == [1, 0.5, 0, 1,  0.75, 0.25, 1, 0.5,  0, 1, 0, 0.75])
    }

    /// Gathered storage (`mapStorage`) keeps the kind and the table; the row count follows.
    @Test func mapStorageKeepsTheTable() {
        let twice = compact.mapStorage(values: { $0 + $0 }, codes: { $0 + $0 })
        #expect(twice.isCompact && twice.count == 8 && twice.floats == values + values)
        let plainTwice = plain.mapStorage(values: { $0 + $0 }, codes: { $0 + $0 })
        #expect(!plainTwice.isCompact && plainTwice.count == 8 && plainTwice.floats == values + values)
    }
}
