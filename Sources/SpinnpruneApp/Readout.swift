import SpikeCluster
import SpikeReadout

/// One-vs-rest linear SVM with the classes shared out over the ranks: rank r trains the binary
/// problems of classes r, r + N, r + 2N, ... (each exactly as it would alone), then every rank gets
/// every class's weights. The model does not depend on the number of ranks.
/// Every rank must hold the same (scaled) training features.
func trainOneVsRest(features: [Float], count: Int, dim: Int, labels: [Int32], C: Double, epsilon: Double,
                    solver: LinearSVM.Solver, comm: Communicator) throws -> LinearSVM {
    let classes = Array(Set(labels)).sorted()
    guard classes.count >= 3 else {
        // Two classes: one binary problem; everyone solves it (cheap next to the features).
        return try LinearSVM.train(features: features, count: count, dim: dim, labels: labels, C: C,
                                   epsilon: epsilon, solver: solver)
    }
    let width = dim + 1
    var mine: [Double] = []
    var failure: Error?
    for ci in stride(from: comm.rank, to: classes.count, by: comm.size) {
        do {
            let binary = labels.map { $0 == classes[ci] ? Int32(1) : Int32(-1) }
            let m = try LinearSVM.train(features: features, count: count, dim: dim, labels: binary, C: C,
                                        epsilon: epsilon, solver: solver)
            // One weight vector, for labels[0]; orient it towards the class.
            let sign: Double = m.labels[0] == 1 ? 1 : -1
            mine += m.weights.map { $0 * sign }
        } catch {
            failure = error
            mine += [Double](repeating: 0, count: width)
        }
    }
    let ok = comm.allgather(UInt8(failure == nil ? 1 : 0))
    if let failure { throw failure }
    if ok.contains(0) { throw SilentFailure(rank: ok.firstIndex(of: 0)!) }
    // Rank-major blocks back to class order, then liblinear's (dim + 1) x classes layout.
    let gathered = comm.allgatherv(mine)
    var byClass = [[Double]](repeating: [], count: classes.count)
    var at = 0
    for r in 0..<comm.size {
        for ci in stride(from: r, to: classes.count, by: comm.size) {
            byClass[ci] = Array(gathered[at..<(at + width)])
            at += width
        }
    }
    var weights = [Double](repeating: 0, count: width * classes.count)
    for ci in classes.indices { for j in 0..<width { weights[j * classes.count + ci] = byClass[ci][j] } }
    return LinearSVM(dim: dim, labels: classes, weights: weights)
}
