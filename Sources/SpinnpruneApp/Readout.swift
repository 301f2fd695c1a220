import SpikeCluster
import SpikeReadout
import SpikeModel

/// One-vs-rest linear SVM with the classes shared out over the ranks: rank r trains the binary
/// problems of classes r, r + N, r + 2N, ... (each exactly as it would alone), then every rank gets
/// every class's weights. The model does not depend on the number of ranks.
/// Every rank must hold the same (scaled) training features.
func trainOneVsRest(features: FeatureMatrix, labels: [Int32], C: Double, epsilon: Double,
                    solver: LinearSVM.Solver, comm: Communicator) throws -> LinearSVM {
    let dim = features.dim
    let classes = Array(Set(labels)).sorted()
    guard classes.count >= 3 else {
        // Two classes: one binary problem; everyone solves it (cheap next to the features).
        return try LinearSVM.train(features: features, labels: labels, C: C, epsilon: epsilon, solver: solver)
    }
    let width = dim + 1
    var mine: [Double] = []
    var failure: Error?
    for ci in stride(from: comm.rank, to: classes.count, by: comm.size) {
        do {
            let binary = labels.map { $0 == classes[ci] ? Int32(1) : Int32(-1) }
            let m = try LinearSVM.train(features: features, labels: binary, C: C, epsilon: epsilon, solver: solver)
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
func trainOneVsOne(features: FeatureMatrix, labels: [Int32], C: Double, epsilon: Double,
                   solver: LinearSVM.Solver, comm: Communicator) throws -> OneVsOneSVM {
    let dim = features.dim
    let classes = Array(Set(labels)).sorted()
    guard classes.count >= 2 else { throw LinearSVMError.invalidInput("one class only (\(classes))") }
    let pairs = OneVsOneSVM.pairs(classCount: classes.count)
    let width = dim + 1
    var mine: [Double] = []
    var failure: Error?
    for p in stride(from: comm.rank, to: pairs.count, by: comm.size) {
        do {
            mine += try OneVsOneSVM.trainPair(pairs[p], classes: classes, features: features, labels: labels,
                                              C: C, epsilon: epsilon, solver: solver)
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
func trainReadout(_ readout: ExperimentConfig.Readout, features: FeatureMatrix,
                  labels: [Int32], comm: Communicator) throws -> any FeatureClassifier {
    let solver = LinearSVM.Solver(rawValue: readout.solver) ?? .primal
    switch readout.multiclass {
    case .oneVsOne:
        return try trainOneVsOne(features: features, labels: labels, C: readout.C,
                                 epsilon: readout.epsilon, solver: solver, comm: comm)
    case .oneVsRest:
        return try trainOneVsRest(features: features, labels: labels, C: readout.C,
                                  epsilon: readout.epsilon, solver: solver, comm: comm)
    }
}

/// Readout features of one conv layer: each rank sums its maps' feature grid image by image while
/// the data goes through the layer, then the ranks' blocks are allgathered and interleaved to
/// `[image][map][cell]`.
///
/// When every readout cell is a single neuron (an fc layer's 1x1 maps, grid 1), a feature is just
/// that neuron's `table[step]`: the features are then kept as the step bytes (`FeatureMatrix`
/// codes, a quarter of the floats' memory: 234 instead of 937 MiB for MNIST fc1's train set) and
/// read through the table by the scaler and the SVM, which see the same floats.
final class LayerFeatures {
    let slices: MapSlices
    let m: Int
    let maps: Int
    let height: Int
    let width: Int
    let features: TimeFeatures
    let table: [Float]
    /// Single-neuron cells: features held as step codes standing for `TimeFeatures.cellValues`.
    let compact: Bool
    var train = FeatureMatrix.empty
    var test = FeatureMatrix.empty
    /// This rank's maps' features of the images going through, `[image][local map][cell]`: floats,
    /// or step codes when `compact` (the other one stays empty).
    private var localValues: [Float] = []
    private var localCodes: [UInt8] = []

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
        compact = features.singleNeuronCells(height: height, width: width)
    }

    var cellsPerMap: Int { features.grid * features.grid }
    var dim: Int { maps * cellsPerMap }

    /// Starts this rank's features of `images` images (zeroed).
    func start(images: Int) {
        if compact {
            localCodes = [UInt8](repeating: 0, count: images * m * cellsPerMap)
        } else {
            localValues = [Float](repeating: 0, count: images * m * cellsPerMap)
        }
    }

    /// One image's conv output (`[y][x][local map]` steps), the `image`-th since `start`.
    func add(image: Int, times: UnsafeBufferPointer<UInt8>) {
        let per = m * cellsPerMap
        if compact {
            localCodes.withUnsafeMutableBufferPointer { out in
                features.codes(times: times, height: height, width: width, maps: m, into: out.baseAddress! + image * per)
            }
            return
        }
        localValues.withUnsafeMutableBufferPointer { out in
            table.withUnsafeBufferPointer { lut in
                features.accumulate(times: times, height: height, width: width, maps: m, table: lut.baseAddress!,
                                    into: out.baseAddress! + image * per)
            }
        }
    }

    /// Every rank's features of the `images` images since `start`, `[image][map][cell]`; frees this
    /// rank's own. One rank: its own buffer, as is.
    func gather(images: Int, comm: Communicator) -> FeatureMatrix {
        if compact {
            let codes = interleave(localCodes, images: images, comm: comm)
            localCodes = []
            return FeatureMatrix(codes: codes, count: images, dim: dim, table: features.cellValues)
        }
        let values = interleave(localValues, images: images, comm: comm)
        localValues = []
        return FeatureMatrix(values: values, count: images, dim: dim)
    }

    /// The ranks' `[image][local map][cell]` blocks gathered and interleaved to `[image][map][cell]`,
    /// in chunks of at most 2048 images (and always at least two chunks, so every multi-rank run
    /// goes through the chunking), so only the result and one chunk are held beside `local`
    /// (gathering all at once held the whole matrix twice: 2 GB for MNIST fc1 as floats).
    private func interleave<T: BitwiseCopyable & Numeric>(_ local: [T], images: Int, comm: Communicator) -> [T] {
        if slices.ranks == 1 { return local }
        let g2 = cellsPerMap
        var all = [T](repeating: 0, count: images * dim)
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
