import SpikeCluster
import SpikeReadout
import SpikeModel

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

/// One-vs-one linear SVM (libsvm's multi-class scheme, the reference's readout) with the pairs
/// shared out over the ranks: rank r trains pairs r, r + N, ... (each exactly as it would alone),
/// then every rank gets every pair's weights. The model does not depend on the number of ranks.
/// Every rank must hold the same (scaled) training features.
func trainOneVsOne(features: [Float], count: Int, dim: Int, labels: [Int32], C: Double, epsilon: Double,
                   solver: LinearSVM.Solver, comm: Communicator) throws -> OneVsOneSVM {
    let classes = Array(Set(labels)).sorted()
    guard classes.count >= 2 else { throw LinearSVMError.invalidInput("one class only (\(classes))") }
    let pairs = OneVsOneSVM.pairs(classCount: classes.count)
    let width = dim + 1
    var mine: [Double] = []
    var failure: Error?
    for p in stride(from: comm.rank, to: pairs.count, by: comm.size) {
        do {
            mine += try OneVsOneSVM.trainPair(pairs[p], classes: classes, features: features, count: count,
                                              dim: dim, labels: labels, C: C, epsilon: epsilon, solver: solver)
        } catch {
            failure = error
            mine += [Double](repeating: 0, count: width)
        }
    }
    let ok = comm.allgather(UInt8(failure == nil ? 1 : 0))
    if let failure { throw failure }
    if ok.contains(0) { throw SilentFailure(rank: ok.firstIndex(of: 0)!) }
    let gathered = comm.allgatherv(mine)
    var byPair = [[Double]](repeating: [], count: pairs.count)
    var at = 0
    for r in 0..<comm.size {
        for p in stride(from: r, to: pairs.count, by: comm.size) {
            byPair[p] = Array(gathered[at..<(at + width)])
            at += width
        }
    }
    return OneVsOneSVM(dim: dim, classes: classes, pairWeights: byPair)
}

/// The readout's multi-class SVM as the config asks for it.
func trainReadout(_ readout: ExperimentConfig.Readout, features: [Float], count: Int, dim: Int,
                  labels: [Int32], comm: Communicator) throws -> any FeatureClassifier {
    let solver = LinearSVM.Solver(rawValue: readout.solver) ?? .primal
    switch readout.multiclass {
    case .oneVsOne:
        return try trainOneVsOne(features: features, count: count, dim: dim, labels: labels, C: readout.C,
                                 epsilon: readout.epsilon, solver: solver, comm: comm)
    case .oneVsRest:
        return try trainOneVsRest(features: features, count: count, dim: dim, labels: labels, C: readout.C,
                                  epsilon: readout.epsilon, solver: solver, comm: comm)
    }
}

/// Readout features of one conv layer: each rank sums its maps' feature grid image by image while
/// the data goes through the layer, then the ranks' blocks are allgathered and interleaved to
/// `[image][map][cell]`.
final class LayerFeatures {
    let slices: MapSlices
    let m: Int
    let maps: Int
    let height: Int
    let width: Int
    let features: TimeFeatures
    let table: [Float]
    var train: [Float] = []
    var test: [Float] = []

    init(slice: ConvSlice, slices: MapSlices, grid: Int, timesteps: Int) {
        self.slices = slices
        m = slice.localMaps
        maps = slice.spec.maps
        height = slice.output.height
        width = slice.output.width
        // A grid never finer than the map (an fc layer's 1x1 maps read out as one cell).
        features = TimeFeatures(timesteps: timesteps, targetTime: slice.spec.thresholds.targetTime,
                                grid: min(grid, height, width))
        table = features.table
    }

    var cellsPerMap: Int { features.grid * features.grid }
    var dim: Int { maps * cellsPerMap }

    func buffer(images: Int) -> [Float] { [Float](repeating: 0, count: images * m * cellsPerMap) }

    func add(image: Int, times: UnsafeBufferPointer<UInt8>, into local: inout [Float]) {
        let per = m * cellsPerMap
        local.withUnsafeMutableBufferPointer { out in
            table.withUnsafeBufferPointer { lut in
                features.accumulate(times: times, height: height, width: width, maps: m, table: lut.baseAddress!,
                                    into: out.baseAddress! + image * per)
            }
        }
    }

    /// Every rank's features of every image, `[image][map][cell]`. One rank: its own buffer, as is.
    /// Several: gathered in chunks of at most 2048 images (and always at least two chunks, so every
    /// multi-rank run goes through the chunking), so only the result and one chunk are held beside
    /// `local` (gathering all at once held the whole matrix twice: 2 GB for MNIST fc1).
    func gather(_ local: [Float], images: Int, comm: Communicator) -> [Float] {
        if slices.ranks == 1 { return local }
        let g2 = cellsPerMap
        var all = [Float](repeating: 0, count: images * dim)
        let chunks = max(2, (images + 2047) / 2048)
        let chunkImages = max(1, (images + chunks - 1) / chunks)
        var first = 0
        while first < images {
            let n = min(chunkImages, images - first)
            let mine = m * g2
            let counts = slices.counts.map { $0 * g2 * n }
            let blocks = local.withUnsafeBufferPointer { xs in
                comm.allgatherv(Array(xs[(first * mine)..<((first + n) * mine)]), counts: counts)
            }
            let displs = exclusiveScan(counts)
            for r in 0..<slices.ranks {
                let mr = slices.counts[r] * g2, off = slices.starts[r] * g2
                for img in 0..<n {
                    for k in 0..<mr { all[(first + img) * dim + off + k] = blocks[displs[r] + img * mr + k] }
                }
            }
            first += n
        }
        return all
    }
}
