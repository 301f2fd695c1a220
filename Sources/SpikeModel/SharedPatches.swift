import CPrefetch
import SpikeCluster

/// The training patches of a stretch of an epoch, each reduced to its spiking inputs sorted by
/// step: what the trajectories integrate and the winner's STDP update reads.
///
/// Preparing a patch (copying its rows out of a random image, sorting its inputs by step) is the
/// same work for every map, so with maps sliced over N ranks every rank used to prepare every
/// patch: at MNIST conv2's size that was 40 % of an epoch on one rank, and it stayed whole at N = 2.
/// Here each rank prepares 1/N of a stretch and one allgatherv gives every rank all of it. A
/// record's words depend on the patch only, never on which rank made it, so results do not
/// depend on the rank count.
///
/// A record is `[n, q, entries..., steps...]` in `Int32` words: the `n` inputs that spiked, as
/// synapse indices (kernel order: row, column, channel) sorted by step and within a step by
/// index (the order of a stable counting sort), then one word per distinct step, `step << 24 |
/// end` as 32 unsigned bits (steps up to 254), `end` being the entry index just past the step's
/// last input.
final class SharedPatches {
    let kernel: Int, width: Int, channels: Int, timesteps: Int
    let synapses: Int
    /// An upper bound on a record's words: every input spiking, at as many steps as there can be.
    let maxRecord: Int
    /// The most samples a stretch may hold.
    let capacity: Int

    /// The current stretch's records, consecutive, and where each sample's starts.
    private(set) var records: UnsafeMutablePointer<Int32>
    private(set) var start: [Int]
    /// The next stretch: its patches' offsets, this rank's share of them, how far the share is
    /// prepared, and the share's records so far.
    private var offsets: [Int] = []
    private var share = 0..<0
    private var prepared = 0
    private var part: UnsafeMutablePointer<Int32>
    private var words = 0
    private let patch: UnsafeMutablePointer<UInt8>, spiking: UnsafeMutablePointer<Int32>, counts: UnsafeMutablePointer<Int32>
    /// Rows are read this many samples ahead of their use, so their cache misses overlap.
    private let ahead = 2

    init(kernel: Int, width: Int, channels: Int, timesteps: Int, capacity: Int) {
        precondition(timesteps > 0 && timesteps < Int(noSpike), "patch records hold steps 0..<255")
        precondition(kernel * kernel * channels < 1 << 24, "patch records keep synapse indices in 24 bits")
        self.kernel = kernel; self.width = width; self.channels = channels; self.timesteps = timesteps
        synapses = kernel * kernel * channels
        maxRecord = Self.maxRecord(synapses: synapses, timesteps: timesteps)
        self.capacity = capacity
        records = .allocate(capacity: capacity * maxRecord)
        part = .allocate(capacity: capacity * maxRecord)
        start = [Int](repeating: 0, count: capacity)
        patch = .allocate(capacity: synapses)
        spiking = .allocate(capacity: synapses)
        counts = .allocate(capacity: 4 * 256)
    }

    static func maxRecord(synapses: Int, timesteps: Int) -> Int { 2 + synapses + min(synapses, timesteps) }

    deinit {
        records.deallocate(); part.deallocate(); patch.deallocate(); spiking.deallocate(); counts.deallocate()
    }

    /// Names the next stretch: the patches whose first input (row 0, column 0, channel 0) sits at
    /// byte `offsets[s]` of the layer's input; this rank will prepare its share of them.
    func begin(offsets: [Int], rank: Int, ranks: Int) {
        precondition(offsets.count <= capacity)
        let n = offsets.count
        self.offsets = offsets
        share = (n * rank / ranks)..<(n * (rank + 1) / ranks)
        prepared = share.lowerBound
        words = 0
    }

    /// Prepares one more patch of this rank's share of the next stretch, if any is left: a rank
    /// that expects to wait in the next collective does it then.
    @inline(__always)
    func prepareOne(times: UnsafePointer<UInt8>) {
        if prepared < share.upperBound { prepare(times: times) }
    }

    /// Prepares what is left of this rank's share, gathers every share on every rank, and makes
    /// the stretch current.
    func finish(times: UnsafePointer<UInt8>, comm: Communicator) {
        while prepared < share.upperBound { prepare(times: times) }
        if comm.size == 1 {
            swap(&records, &part)
        } else {
            let counts = comm.allgather(words)
            comm.allgatherv(UnsafeBufferPointer(start: part, count: words),
                            into: UnsafeMutableBufferPointer(start: records, count: capacity * maxRecord),
                            counts: counts, displacements: exclusiveScan(counts))
        }
        var o = 0
        for s in 0..<offsets.count {
            start[s] = o
            o += 2 + Int(records[o]) + Int(records[o + 1])
        }
    }

    private func prefetch(_ times: UnsafePointer<UInt8>, _ s: Int) {
        let rowLen = kernel * channels, rowStride = width * channels
        for ky in 0..<kernel {
            let row = times + offsets[s] + ky * rowStride
            var b = 0
            while b < rowLen { spk_prefetch(row + b); b += 64 }
            spk_prefetch(row + rowLen - 1)
        }
    }

    /// Appends the record of sample `prepared` to `part`.
    private func prepare(times: UnsafePointer<UInt8>) {
        let s = prepared
        let k = kernel, rowLen = kernel * channels, rowStride = width * channels
        let synapses = self.synapses, T = timesteps
        let pb = patch, sp = spiking, cnt = counts
        if s == share.lowerBound {
            for a in s..<min(share.upperBound, s + ahead) { prefetch(times, a) }
        }
        if s + ahead < share.upperBound { prefetch(times, s + ahead) }
        for ky in 0..<k {
            (pb + ky * rowLen).update(from: times + offsets[s] + ky * rowStride, count: rowLen)
        }
        // The inputs that spiked (steps 0..<T; `noSpike` is 255), without branches: whether an
        // input spiked is unpredictable (MNIST conv2: half of them do), and with a `?:` the
        // compiler made a branch of it, a third of the preparation in mispredictions.
        // `(step - T) >> 63` is -1 for a step below T and 0 otherwise.
        var n = 0
        for i in 0..<synapses {
            sp[n] = Int32(truncatingIfNeeded: i)
            n &-= (Int(pb[i]) &- T) >> 63
        }
        // A stable counting sort by step, with four sets of counters, one per quarter of the
        // spiking inputs (in index order): an input's counter no longer waits on the previous
        // input's increment of the same counter through memory (most neighbours share a step),
        // and a step's inputs still come out in index order, quarter after quarter.
        let c0 = cnt, c1 = cnt + 256, c2 = cnt + 512, c3 = cnt + 768
        for t in 0..<T { c0[t] = 0; c1[t] = 0; c2[t] = 0; c3[t] = 0 }
        let L = n >> 2
        for u in 0..<L {
            c0[Int(pb[Int(sp[u])])] &+= 1
            c1[Int(pb[Int(sp[L &+ u])])] &+= 1
            c2[Int(pb[Int(sp[2 &* L &+ u])])] &+= 1
            c3[Int(pb[Int(sp[3 &* L &+ u])])] &+= 1
        }
        for u in (4 * L)..<n { c3[Int(pb[Int(sp[u])])] &+= 1 }
        let rec = part + words
        let entries = rec + 2, steps = entries + n
        var acc: Int32 = 0, q = 0
        for t in 0..<T {
            let a = c0[t], b = c1[t], c = c2[t], d = c3[t]
            c0[t] = acc; c1[t] = acc &+ a; c2[t] = acc &+ a &+ b; c3[t] = acc &+ a &+ b &+ c
            acc &+= a &+ b &+ c &+ d
            if acc > c0[t] { steps[q] = Int32(truncatingIfNeeded: t << 24) | acc; q &+= 1 }
        }
        @inline(__always) func place(_ counters: UnsafeMutablePointer<Int32>, _ u: Int) {
            let i = sp[u], step = Int(pb[Int(i)])
            entries[Int(counters[step])] = i
            counters[step] &+= 1
        }
        for u in 0..<L {
            place(c0, u); place(c1, L &+ u); place(c2, 2 &* L &+ u); place(c3, 3 &* L &+ u)
        }
        for u in (4 * L)..<n { place(c3, u) }
        rec[0] = Int32(truncatingIfNeeded: n); rec[1] = Int32(truncatingIfNeeded: q)
        words += 2 + n + q
        prepared += 1
    }
}

/// One sample's record (`SharedPatches`) read in place.
struct PatchRecord {
    let base: UnsafePointer<Int32>
    @inline(__always) var spikes: Int { Int(base[0]) }
    @inline(__always) var stepCount: Int { Int(base[1]) }
    /// The spiking inputs' synapse indices, by step.
    @inline(__always) var entries: UnsafePointer<Int32> { base + 2 }
    /// Step `q`'s step. The word is read unsigned: steps from 128 on set its sign bit.
    @inline(__always) func step(_ q: Int) -> Int { Int(UInt32(bitPattern: base[2 + spikes + q]) >> 24) }
    /// The entry index just past step `q`'s inputs.
    @inline(__always) func end(_ q: Int) -> Int { Int(base[2 + spikes + q] & 0xFF_FFFF) }

    /// The patch as one byte per synapse (its step, or `noSpike`), as the STDP rules read it.
    func dense(into patch: UnsafeMutablePointer<UInt8>, synapses: Int) {
        patch.update(repeating: noSpike, count: synapses)
        let e = entries
        var i = 0
        for q in 0..<stepCount {
            let v = UInt8(truncatingIfNeeded: step(q)), stop = end(q)
            while i < stop { patch[Int(e[i])] = v; i += 1 }
        }
    }
}
