import SpikeCluster

public extension ConvSlice {
    /// Maps `target` of this layer as a new slice, on every rank of `comm`: the ranks' parameters
    /// (weights, mask, thresholds; this rank holds maps `slices.range(of: comm.rank)`) are
    /// allgathered and each rank keeps the part of `target`. Values are copied, never recomputed,
    /// so the new slice integrates exactly as the old ones did. Collective over `comm`.
    ///
    /// Hybrid distribution uses it after training: the layer trained on the world's slicing is
    /// re-sliced over a group's ranks for the feature extraction (`target` differs by rank).
    func resliced(to target: Range<Int>, slices: MapSlices, comm: Communicator) -> ConvSlice {
        precondition(slices.count == spec.maps && slices.ranks == comm.size && slices.range(of: comm.rank) == maps,
                     "resliced: this rank's maps \(maps) are not its share of \(slices)")
        precondition(target.lowerBound >= 0 && target.upperBound <= spec.maps, "resliced: maps \(target) of \(spec.maps)")
        func pick<T: BitwiseCopyable>(_ local: [T], rows k: Int, zero: T) -> [T] {
            let counts = slices.counts.map { $0 * k }
            let blocks = comm.size > 1 ? comm.allgatherv(local, counts: counts) : local
            let displs = exclusiveScan(counts)
            let mt = target.count
            var out = [T](repeating: zero, count: k * mt)
            for r in 0..<slices.ranks {
                let owned = slices.range(of: r)
                let lo = max(owned.lowerBound, target.lowerBound), hi = min(owned.upperBound, target.upperBound)
                guard lo < hi else { continue }
                let mr = owned.count
                for i in 0..<k {
                    for map in lo..<hi {
                        out[i * mt + map - target.lowerBound] = blocks[displs[r] + i * mr + map - owned.lowerBound]
                    }
                }
            }
            return out
        }
        let k = synapsesPerMap
        return ConvSlice(spec: spec, input: input, maps: target, weights: pick(weights, rows: k, zero: 0),
                         mask: pick(mask, rows: k, zero: 0), thresholds: pick(thresholds, rows: 1, zero: 0))
    }
}
