import SpikeCluster
import SpikeCompression

/// Moving a layer's parameters between the ranks' slices and the coordinator's whole-layer view.
/// The whole layer is laid out `[k][map]` (synapse-major, global map index fastest).
public extension ConvSlice {
    /// Gathers a `[k][localMap]` array of every rank onto `root` as `[k][map]` (`k` rows: the
    /// synapses of a map by default, 1 for per-map values such as thresholds).
    func gatherLayer<T: BitwiseCopyable>(_ local: [T], slices: MapSlices, comm: Communicator, root: Int = 0,
                                         zero: T, rows: Int? = nil) -> [T] {
        let k = rows ?? synapsesPerMap
        let counts = slices.counts.map { $0 * k }
        let displs = exclusiveScan(counts)
        var blocks = [T](repeating: zero, count: comm.rank == root ? k * spec.maps : 0)
        local.withUnsafeBufferPointer { s in
            blocks.withUnsafeMutableBufferPointer { r in
                comm.gatherv(s, into: r, counts: counts, displacements: displs, root: root)
            }
        }
        guard comm.rank == root else { return [] }
        var whole = [T](repeating: zero, count: k * spec.maps)
        for r in 0..<slices.ranks {
            let maps = slices.range(of: r), mr = maps.count
            for i in 0..<k {
                for j in 0..<mr { whole[i * spec.maps + maps.lowerBound + j] = blocks[displs[r] + i * mr + j] }
            }
        }
        return whole
    }

    /// The inverse of `gatherLayer`: `root`'s `[k][map]` array to every rank's `[k][localMap]`.
    func scatterLayer<T: BitwiseCopyable>(_ whole: [T], slices: MapSlices, comm: Communicator, root: Int = 0,
                                          zero: T) -> [T] {
        let k = synapsesPerMap
        let counts = slices.counts.map { $0 * k }
        let displs = exclusiveScan(counts)
        var blocks = [T]()
        if comm.rank == root {
            blocks = [T](repeating: zero, count: k * spec.maps)
            for r in 0..<slices.ranks {
                let maps = slices.range(of: r), mr = maps.count
                for i in 0..<k {
                    for j in 0..<mr { blocks[displs[r] + i * mr + j] = whole[i * spec.maps + maps.lowerBound + j] }
                }
            }
        }
        var local = [T](repeating: zero, count: k * localMaps)
        blocks.withUnsafeBufferPointer { s in
            local.withUnsafeMutableBufferPointer { r in
                comm.scatterv(s, counts: counts, displacements: displs, into: r, root: root)
            }
        }
        return local
    }

    /// Gathers every rank's thresholds onto `root` in map order.
    func gatherThresholds(slices: MapSlices, comm: Communicator, root: Int = 0) -> [Float] {
        gatherLayer(thresholds, slices: slices, comm: comm, root: root, zero: 0, rows: 1)
    }

    /// The whole layer's shape for the pruning functions of `SpikeCompression`.
    var kernelLayout: KernelLayout {
        KernelLayout(positions: spec.kernel * spec.kernel, inChannels: input.channels, maps: spec.maps)
    }

    /// Progressive pruning step after epoch `epoch`: the coordinator gathers the layer's kernels and
    /// masks, runs `schedule.step` on the whole layer (mode, unit, reinforcement), and sends each
    /// rank its part of the mask and, when reinforcement is on, of the weights. The decision depends
    /// on the whole layer only, never on the rank count. Returns the layer sparsity (every rank).
    @discardableResult
    func prune(_ schedule: PruningSchedule, afterEpoch epoch: Int, slices: MapSlices, comm: Communicator) -> Double {
        let layout = kernelLayout
        return pruneOnCoordinator(slices: slices, comm: comm, sendWeights: schedule.reinforcement > 0) { w, m in
            schedule.step(weights: w, mask: m, layout: layout, afterEpoch: epoch)
        }
    }

    /// Unstructured magnitude pruning to `prunedTarget` pruned weights (no reinforcement).
    @discardableResult
    func prune(toCount prunedTarget: Int, slices: MapSlices, comm: Communicator) -> Double {
        pruneOnCoordinator(slices: slices, comm: comm, sendWeights: false) { w, m in
            var m = m
            extendMask(&m, weights: w, prunedTarget: prunedTarget)
            return (w, m)
        }
    }

    /// Gathers weights and mask onto rank 0, lets `decide` produce the new whole-layer weights and
    /// mask there, scatters the mask (and the weights when `sendWeights`) back, and applies them.
    private func pruneOnCoordinator(slices: MapSlices, comm: Communicator, sendWeights: Bool,
                                    decide: ([Float], [UInt8]) -> (weights: [Float], mask: [UInt8])) -> Double {
        let w = gatherLayer(weights, slices: slices, comm: comm, zero: 0)
        let m = gatherLayer(mask, slices: slices, comm: comm, zero: 0)
        var newWeights = [Float](), newMask = [UInt8]()
        var s = [0.0]
        if comm.isCoordinator {
            (newWeights, newMask) = decide(w, m)
            s[0] = sparsity(of: newMask)
        }
        if sendWeights { weights = scatterLayer(newWeights, slices: slices, comm: comm, zero: 0) }
        apply(mask: scatterLayer(newMask, slices: slices, comm: comm, zero: 0))
        s.withUnsafeMutableBufferPointer { comm.broadcast($0, root: 0) }
        return s[0]
    }
}
