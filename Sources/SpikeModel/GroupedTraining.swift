import SpikeCluster

/// Training for layers whose weights do not fit in L2 (fc1: 2048 synapses x 4096 maps = 32 MB).
///
/// The plain loop streams the whole weight matrix from memory for every sample. Here samples go
/// in groups: first, with the weights as they are at the start of the group, every sample's
/// potential trajectory (the potentials of all maps after each of its spiking steps) is computed
/// block of maps by block of maps, each block read from L2 for the whole group. Then the samples
/// are decided one by one exactly as in the plain loop: the maps whose kernels earlier samples of
/// the group changed (the winners) get their trajectories recomputed with their new weights, the
/// first step at which a map reaches its current threshold gives the winner, and STDP and
/// threshold adaptation follow. Every potential is the same sum in the same order as in the plain
/// loop, so the result is bit for bit the same.
///
/// A trajectory is only computed up to a step by which some map must have fired whatever the
/// thresholds do within the group (a bound from the adaptation rule); if the exact search finds no
/// winner within the computed steps, the sample falls back to the plain loop. The results never
/// depend on the bound (a crossing found in the computed steps is the earliest one; none found
/// means the fallback), only the work does: too high, trajectories run past the winner's step;
/// too low, samples fall back (every block read for one sample).
///
/// The kernels that win within a group are kept apart while it runs (`stale`, `[synapse][slot]`,
/// one column per winning map): the STDP update reads and writes one contiguous-ish column instead
/// of a kernel spread over `synapses` cache lines of the blocked weights, the winners'
/// trajectories are recomputed eight kernels at a time, and the columns go back into the blocked
/// weights once, at the end of the group. The patches come from `SharedPatches` (each rank
/// prepares a share), the additive rules' STDP terms from a table filled once per epoch and post
/// step.
extension LayerTrainer {
    func runEpochGrouped(_ epoch: Int, on data: SpikeDataset, input times: UnsafeBufferPointer<UInt8>, stdp: STDP,
                         adaptation: ThresholdAdaptation) -> EpochStats {
        let spec = slice.spec
        let k = spec.kernel, inShape = data.shape
        let cin = inShape.channels
        let synapses = k * k * cin, m = slice.localMaps
        let firstMap = slice.maps.lowerBound, totalMaps = spec.maps
        let T = timesteps
        let maxY = inShape.height - k + 1, maxX = inShape.width - k + 1
        var rng = RandomStream(seed: seed, 2, UInt64(layerIndex), UInt64(epoch))
        let order = rng.permutation(data.count)
        let distributed = comm.size > 1
        var winners = 0
        var won = [Bool](repeating: false, count: totalMaps)
        var integrated = 0, offered = 0   // input spikes integrated into the trajectories, and in the patches (WorkCounters)

        let mPad = (m + 7) / 8 * 8
        let blockWidth = max(8, min(mPad, groupBlockBytes / max(synapses * 4, 1) / 8 * 8))
        let blocks = (mPad + blockWidth - 1) / blockWidth
        // Weights as `[block][synapse][blockWidth]` for the epoch (written back at its end): a
        // block's rows are contiguous, and a kernel column is 4 * blockWidth bytes apart. The mask,
        // read only by a winner's STDP update, as `[map][synapse]`: one winner's mask is 2048
        // contiguous bytes for MNIST fc1, not 2048 cache lines (the profile's slowest loads).
        @inline(__always) func at(_ i: Int, _ j: Int) -> Int {
            (j / blockWidth) * synapses * blockWidth + i * blockWidth + j % blockWidth
        }
        var blocked = [Float](repeating: 0, count: blocks * synapses * blockWidth)
        var maskByMap = [UInt8](repeating: 0, count: m * synapses)
        for i in 0..<synapses {
            for j in 0..<m { blocked[at(i, j)] = slice.weights[i * m + j]; maskByMap[j * synapses + i] = slice.mask[i * m + j] }
        }
        // Samples per group: one per 256 KB of weights, at least 16 (a group's extra cost, the
        // trajectories of maps that won earlier in it, grows with its size: MNIST conv2, 400 KB of
        // weights, trains in 1.0 s per epoch in groups of 16 and 2.6 s in groups of 64), at most
        // `maxGroupSamples` and as many as `groupTrajectoryBytes` of trajectories hold.
        // Sized by the largest slice over the ranks, not this rank's: the group sets the stretch,
        // and every rank must split the same stretches (results do not depend on the group size).
        let largest = sliceSizes.largest
        let weightBytes = synapses * largest * 4, largestPad = (largest + 7) / 8 * 8
        let G = max(1, min(maxGroupSamples, groupTrajectoryBytes / max(T * largestPad * 4, 1), max(minGroupSamples, weightBytes / (256 << 10))))
        // Patches are prepared a stretch of whole groups at a time (`patchStretchBytes`).
        let stretch = G * max(1, patchStretchBytes / (SharedPatches.maxRecord(synapses: synapses, timesteps: T) * 4) / G)
        let shared = SharedPatches(kernel: k, width: inShape.width, channels: cin, timesteps: T, capacity: stretch)
        var nextOffsets = [Int]()
        /// Draws the patch positions of samples `from ..< from + stretch` (in the plain loop's order)
        /// and names them as the stretch to prepare next.
        func beginStretch(from: Int) {
            nextOffsets.removeAll(keepingCapacity: true)
            for s in from..<min(order.count, from + stretch) {
                let y0 = rng.int(below: maxY), x0 = rng.int(below: maxX)
                nextOffsets.append(Int(order[s]) * inShape.count + (y0 * inShape.width + x0) * cin)
            }
            shared.begin(offsets: nextOffsets, rank: comm.rank, ranks: comm.size)
        }
        var recordStart = [Int](repeating: 0, count: G)
        var stepCount = [Int](repeating: 0, count: G)
        var valid = [Int](repeating: 0, count: G)
        var V = [Float](repeating: 0, count: G * T * mPad)
        var dense = [UInt8](repeating: 0, count: synapses)
        // The kernels changed within the current group: `stale[i * slots + slot]` is synapse i of
        // map `staleMap[slot]`.
        let slots = (G + 7) / 8 * 8
        var stale = [Float](repeating: 0, count: synapses * slots)
        var staleMap = [Int](repeating: 0, count: slots)
        var staleCount = 0
        // The bound's growth per sample of the group: a map that has not won earlier in the group
        // gains at most eta * targetTime (the timing term of a winner at t = 0; losers lose eta /
        // (N - 1) besides). Maps that have won are recomputed with their new kernels: if one of them
        // set the cut, its potential may no longer reach the threshold there and the sample falls
        // back. The winner's own gain (eta) is left out: counting it, as before, bounded the
        // winners too, but cut every trajectory later (MNIST fc1, 60000 samples, one rank: 16.3
        // million input spikes integrated instead of 12.1 million, no fallback either way).
        let growth = adaptation.eta * adaptation.targetTime
        // The additive rules' terms, one row of 256 per post step, filled on first use.
        let tabulated = stdp.isAdditive
        var terms = [Float](repeating: 0, count: tabulated ? T * 256 : 256)
        var termsFilled = [Bool](repeating: false, count: T)
        // Whether every weight is in [0, 1] (STDP keeps it so; the initial and reinforced weights
        // are checked here): then a term of 0 leaves a weight as it is (w + -0 = w and the clamp
        // is the identity), so a rule whose term for a missing input spike is 0 (biological: a
        // exp(-inf)) only touches the kernel's spiking inputs: half of MNIST conv2's 800.
        // (-0 is left out: the dense update turns it into +0, the sparse one would keep it.)
        let unitWeights = slice.weights.allSatisfy { $0.bitPattern == 0 || ($0 > 0 && $0 <= 1) }

        slice.thresholds.withUnsafeMutableBufferPointer { th in
        blocked.withUnsafeMutableBufferPointer { blocked in
        maskByMap.withUnsafeBufferPointer { mask in
        stale.withUnsafeMutableBufferPointer { stale in
        V.withUnsafeMutableBufferPointer { V in
        // The per-sample bookkeeping through pointers: as arrays captured by the closures, every
        // access checked uniqueness and bounds (7 % of the profile went to preparing the patches).
        stepCount.withUnsafeMutableBufferPointer { stepCount in
        valid.withUnsafeMutableBufferPointer { valid in
        recordStart.withUnsafeMutableBufferPointer { recordStart in
        dense.withUnsafeMutableBufferPointer { dense in
        terms.withUnsafeMutableBufferPointer { terms in
            let vRaw = UnsafeMutableRawPointer(V.baseAddress!)
            var records = UnsafePointer<Int32>(bitPattern: 8)!
            func record(_ g: Int) -> PatchRecord { PatchRecord(base: records + recordStart[g]) }
            /// Sample g's trajectory for the maps of block `b`, up to `valid[g]` steps, cut after a step
            /// where a map reaches its bound (when `bounded`): 64 maps per pass, then 8 at a time.
            ///
            /// Each map's potential is one chain of dependent adds (the order is fixed: bit identity),
            /// so a pass is bound by the add latency over its accumulators: with 4 (32 maps) an
            /// input spike took the 3-cycle latency of one add; 8 (64 maps) keep both add pipes and
            /// the L2 port busy instead (MNIST fc1: 1.4x fewer cycles in this loop, the profile's 64 %).
            func trajectory(_ g: Int, block b: Int, bound bounded: Bool, slack: Float) {
                let bw = min(blockWidth, mPad - b * blockWidth)
                let wb = UnsafeRawPointer(blocked.baseAddress! + b * synapses * blockWidth)
                let rowBytes = blockWidth * 4
                let rec = record(g), e = rec.entries
                /// The bounds of maps `first ..< first + 8` (infinity past the slice or when unbounded).
                func bounds(_ first: Int) -> SIMD8<Float> {
                    var v = SIMD8<Float>(repeating: .infinity)
                    if bounded {
                        for l in 0..<8 where first + l < m { v[l] = max(adaptation.minThreshold, th[first + l]) + slack }
                    }
                    return v
                }
                var lane = 0
                while lane + 64 <= bw {
                    let map = b * blockWidth + lane
                    let b0 = bounds(map), b1 = bounds(map + 8), b2 = bounds(map + 16), b3 = bounds(map + 24)
                    let b4 = bounds(map + 32), b5 = bounds(map + 40), b6 = bounds(map + 48), b7 = bounds(map + 56)
                    var p0 = SIMD8<Float>(), p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0, p7 = p0
                    var i = 0
                    for q in 0..<valid[g] {
                        let end = rec.end(q)
                        while i < end {
                            let row = wb + (Int(e[i]) &* rowBytes &+ lane &* 4)
                            p0 += row.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
                            p1 += row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                            p2 += row.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                            p3 += row.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                            p4 += row.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
                            p5 += row.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
                            p6 += row.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self)
                            p7 += row.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
                            i &+= 1
                        }
                        let out = vRaw + ((g &* T &+ q) &* mPad &+ map) &* 4
                        out.storeBytes(of: p0, toByteOffset: 0, as: SIMD8<Float>.self)
                        out.storeBytes(of: p1, toByteOffset: 32, as: SIMD8<Float>.self)
                        out.storeBytes(of: p2, toByteOffset: 64, as: SIMD8<Float>.self)
                        out.storeBytes(of: p3, toByteOffset: 96, as: SIMD8<Float>.self)
                        out.storeBytes(of: p4, toByteOffset: 128, as: SIMD8<Float>.self)
                        out.storeBytes(of: p5, toByteOffset: 160, as: SIMD8<Float>.self)
                        out.storeBytes(of: p6, toByteOffset: 192, as: SIMD8<Float>.self)
                        out.storeBytes(of: p7, toByteOffset: 224, as: SIMD8<Float>.self)
                        if bounded && anyLane((p0 .>= b0) .| (p1 .>= b1) .| (p2 .>= b2) .| (p3 .>= b3)
                                              .| (p4 .>= b4) .| (p5 .>= b5) .| (p6 .>= b6) .| (p7 .>= b7)) { valid[g] = q + 1; break }
                    }
                    lane += 64
                }
                while lane < bw {
                    let map = b * blockWidth + lane
                    let b0 = bounds(map)
                    var p0 = SIMD8<Float>()
                    var i = 0
                    for q in 0..<valid[g] {
                        let end = rec.end(q)
                        while i < end {
                            p0 += (wb + (Int(e[i]) &* rowBytes &+ lane &* 4)).loadUnaligned(as: SIMD8<Float>.self)
                            i &+= 1
                        }
                        (vRaw + ((g &* T &+ q) &* mPad &+ map) &* 4).storeBytes(of: p0, as: SIMD8<Float>.self)
                        if bounded && anyLane(p0 .>= b0) { valid[g] = q + 1; break }
                    }
                    lane += 8
                }
            }
            /// The trajectories of the maps that won earlier in the group, from their current
            /// kernels, eight at a time: lane l sums map `staleMap[first + l]`'s weights in the
            /// same order as the trajectory does, so each is the same float.
            func recomputeStale(_ g: Int) {
                let rec = record(g), e = rec.entries
                let sw = UnsafeRawPointer(stale.baseAddress!)
                var first = 0
                while first < staleCount {
                    let lanes = min(8, staleCount - first)
                    var p = SIMD8<Float>()
                    var i = 0
                    for q in 0..<valid[g] {
                        let end = rec.end(q)
                        while i < end {
                            p += sw.loadUnaligned(fromByteOffset: (Int(e[i]) &* slots &+ first) &* 4, as: SIMD8<Float>.self)
                            i &+= 1
                        }
                        let row = V.baseAddress! + (g &* T &+ q) &* mPad
                        for l in 0..<lanes { row[staleMap[first + l]] = p[l] }
                    }
                    first += 8
                }
            }
            /// The first computed step at which some map is at or over its threshold, by
            /// bisection: weights are never negative, so potentials never fall from one step
            /// to the next (nor do their rounded sums), and whether some map has reached its
            /// threshold is monotone in the step. A scan from step 0 read every row up to the
            /// winner's, which the tight bound puts near the last computed one (7 % of the
            /// MNIST fc1 profile, the rows coming from memory); now about log2 of them.
            func search(_ g: Int) -> WinnerCandidate {
                func row(_ q: Int) -> UnsafeMutablePointer<Float> { V.baseAddress! + (g * T + q) * mPad }
                let n = valid[g]
                guard n > 0, anyReached(row(n - 1), th.baseAddress!, count: m) else { return .none }
                var lo = 0, hi = n - 1   // the first step reached is in lo...hi; hi is reached
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if anyReached(row(mid), th.baseAddress!, count: m) { hi = mid } else { lo = mid + 1 }
                }
                let best = bestReached(row(lo), th.baseAddress!, count: m)
                return WinnerCandidate(step: Int32(record(g).step(lo)), potential: row(lo)[best], map: Int32(firstMap + best))
            }

            // Stretch by stretch. With several ranks, while one is trained the next is prepared,
            // each rank its share, a patch at a time whenever it expects to wait (the sample's
            // winner is another rank's, which has the STDP update to make before the next
            // collective); the rest of the share just before the gather. One rank prepares it all then.
            var next = 0
            if !order.isEmpty {
                beginStretch(from: 0)
                shared.finish(times: times.baseAddress!, comm: comm)
            }
            while next < order.count {
                let ns = min(stretch, order.count - next)
                let following = next + ns
                records = UnsafePointer(shared.records)
                if following < order.count { beginStretch(from: following) }
                var groupStart = 0
                while groupStart < ns {
                    let ng = min(G, ns - groupStart)
                    for g in 0..<ng {
                        recordStart[g] = shared.start[groupStart + g]
                        let rec = record(g)
                        stepCount[g] = rec.stepCount
                        valid[g] = rec.stepCount
                        offered += rec.spikes
                    }
                    // Trajectories, block by block (each block read once for the group); a sample's are
                    // cut after the step at which some map is over any threshold it can have by then.
                    for b in 0..<blocks {
                        for g in 0..<ng { trajectory(g, block: b, bound: true, slack: Float(g) * growth + groupBoundOffset) }
                    }
                    // The samples in order, exactly.
                    staleCount = 0
                    for g in 0..<ng {
                        recomputeStale(g)
                        var local = search(g)
                        if local.step == .max && valid[g] < stepCount[g] {
                            // Not decided within the computed steps: the whole trajectory, current weights.
                            valid[g] = stepCount[g]
                            for b in 0..<blocks { trajectory(g, block: b, bound: false, slack: 0) }
                            recomputeStale(g)
                            local = search(g)
                        }
                        if valid[g] > 0 { integrated += record(g).end(valid[g] - 1) }
                        let winner = distributed ? WinnerCandidate(key: comm.allreduceMin(local.key)) : local
                        if winner.step == .max {
                            if stepCount[g] > 0 { adaptation.adaptSilent(th) }
                            continue
                        }

                        winners += 1
                        won[Int(winner.map)] = true
                        let post = Float(winner.step) / Float(T)
                        adaptation.adapt(th, firstMap: firstMap, totalMaps: totalMaps, winner: Int(winner.map), t: post)
                        if !slice.maps.contains(Int(winner.map)) {
                            if distributed { shared.prepareOne(times: times.baseAddress!) }
                        } else {
                            let j = Int(winner.map) - firstMap
                            var slot = 0
                            while slot < staleCount && staleMap[slot] != j { slot += 1 }
                            if slot == staleCount {
                                staleMap[slot] = j
                                staleCount += 1
                                for i in 0..<synapses { stale[i &* slots &+ slot] = blocked[at(i, j)] }
                            }
                            let columnMask = mask.baseAddress! + j * synapses
                            let column = stale.baseAddress! + slot
                            if tabulated {
                                let step = Int(winner.step)
                                let row = terms.baseAddress! + step * 256
                                if !termsFilled[step] { stdp.fillTerms(row, post: post, timesteps: T); termsFilled[step] = true }
                                if unitWeights && row[Int(noSpike)] == 0 {
                                    let rec = record(g), e = rec.entries
                                    var i = 0
                                    for q in 0..<rec.stepCount {
                                        let term = row[rec.step(q)], stop = rec.end(q)
                                        while i < stop {
                                            let syn = Int(e[i])
                                            if columnMask[syn] != 0 { column[syn &* slots] = clampWeight(column[syn &* slots] + term) }
                                            i &+= 1
                                        }
                                    }
                                } else {
                                    record(g).dense(into: dense.baseAddress!, synapses: synapses)
                                    stdp.applyTerms(row, synapses: synapses, spike: { dense[$0] }, kept: { columnMask[$0] != 0 },
                                                    weight: { column[$0 &* slots] }, setWeight: { column[$0 &* slots] = $1 })
                                }
                            } else {
                                record(g).dense(into: dense.baseAddress!, synapses: synapses)
                                stdp.updateKernel(synapses: synapses, timesteps: T, post: post, table: terms.baseAddress!,
                                                  spike: { dense[$0] }, kept: { columnMask[$0] != 0 },
                                                  weight: { column[$0 &* slots] }, setWeight: { column[$0 &* slots] = $1 })
                            }
                        }
                    }
                    // The group's new kernels back into the blocked weights.
                    for slot in 0..<staleCount {
                        let j = staleMap[slot]
                        for i in 0..<synapses { blocked[at(i, j)] = stale[i &* slots &+ slot] }
                    }
                    groupStart += ng
                }
                if following < order.count { shared.finish(times: times.baseAddress!, comm: comm) }
                next = following
            }
        }}}}}}}}}}
        for i in 0..<synapses { for j in 0..<m { slice.weights[i * m + j] = blocked[at(i, j)] } }
        WorkCounters.add(spikes: integrated, offered: offered, events: integrated * m, samples: data.count, steps: data.count * T)
        return EpochStats(epoch: epoch, samples: data.count, winners: winners,
                          activeMaps: won.filter { $0 }.count, seconds: 0)
    }
}
