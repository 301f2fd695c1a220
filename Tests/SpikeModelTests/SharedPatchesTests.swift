import Testing
import SpikeCluster
@testable import SpikeModel

/// `SharedPatches` against a record built independently: the patch read out of the image pixel by
/// pixel, its spiking inputs sorted by (step, index) with the standard library's sort.
@Suite struct SharedPatchesTests {
    /// The expected record of the patch at `offset`: entries sorted by step then synapse index,
    /// then one `step << 24 | end` word per distinct step.
    static func expectedRecord(_ times: [UInt8], offset: Int, kernel: Int, width: Int, channels: Int, timesteps: Int) -> [Int32] {
        var spiking: [(step: Int, index: Int)] = []
        for ky in 0..<kernel {
            for kx in 0..<kernel {
                for c in 0..<channels {
                    let step = Int(times[offset + (ky * width + kx) * channels + c])
                    if step < timesteps { spiking.append((step, (ky * kernel + kx) * channels + c)) }
                }
            }
        }
        spiking.sort { ($0.step, $0.index) < ($1.step, $1.index) }
        var steps: [Int32] = []
        for (i, s) in spiking.enumerated() where i + 1 == spiking.count || spiking[i + 1].step != s.step {
            steps.append(Int32(truncatingIfNeeded: s.step << 24 | (i + 1)))
        }
        return [Int32(spiking.count), Int32(steps.count)] + spiking.map { Int32($0.index) } + steps
    }

    /// 5x5x3 patches of a 9x8x3 image stack with T = 40 and 200 (a third of the inputs not spiking,
    /// runs of equal steps as in real data; from step 128 on a step word's sign bit is set); 100
    /// patches in stretches of 32 (the last of 4), part of each prepared a patch at a time as a
    /// waiting rank does, the rest by `finish`.
    @Test(arguments: [40, 200])
    func recordsMatchAnIndependentSort(timesteps T: Int) {
        let kernel = 5, width = 8, height = 9, channels = 3, images = 6
        var rng = RandomStream(seed: 11, 2)
        var times = [UInt8](repeating: noSpike, count: images * height * width * channels)
        var i = 0
        while i < times.count {
            // Runs of 1 to 4 equal values: neighbours often share a step.
            let value: UInt8 = rng.int(below: 3) == 0 ? noSpike : UInt8(rng.int(below: T))
            for _ in 0..<(1 + rng.int(below: 4)) where i < times.count { times[i] = value; i += 1 }
        }
        // An all-silent image and an image spiking everywhere at step 0, so empty records and a
        // single-step record are among them.
        for j in 0..<(height * width * channels) { times[j] = noSpike; times[height * width * channels + j] = 0 }
        let offsets = (0..<100).map { p -> Int in
            let image = p < 4 ? p % 2 : rng.int(below: images)
            let y = rng.int(below: height - kernel + 1), x = rng.int(below: width - kernel + 1)
            return ((image * height + y) * width + x) * channels
        }
        let shared = SharedPatches(kernel: kernel, width: width, channels: channels, timesteps: T, capacity: 32)
        #expect(shared.maxRecord == 2 + 75 + min(75, T))
        var checked = 0
        times.withUnsafeBufferPointer { tp in
            var next = 0
            while next < offsets.count {
                let stretch = Array(offsets[next..<min(next + 32, offsets.count)])
                shared.begin(offsets: stretch, rank: 0, ranks: 1)
                for _ in 0..<(stretch.count / 2) { shared.prepareOne(times: tp.baseAddress!) }
                shared.finish(times: tp.baseAddress!, comm: LocalCommunicator())
                for (s, offset) in stretch.enumerated() {
                    let expected = Self.expectedRecord(times, offset: offset, kernel: kernel, width: width, channels: channels, timesteps: T)
                    let got = Array(UnsafeBufferPointer(start: shared.records + shared.start[s], count: expected.count))
                    #expect(got == expected, "patch \(next + s) at offset \(offset)")
                    // The accessors decode what the expected record holds.
                    let steps = expected.suffix(Int(expected[1])).map { Int(UInt32(bitPattern: $0) >> 24) }
                    #expect((0..<steps.count).map { PatchRecord(base: shared.records + shared.start[s]).step($0) } == steps)
                    // The record read back as a dense patch is the patch itself.
                    let record = PatchRecord(base: shared.records + shared.start[s])
                    var dense = [UInt8](repeating: 7, count: kernel * kernel * channels)
                    dense.withUnsafeMutableBufferPointer { record.dense(into: $0.baseAddress!, synapses: kernel * kernel * channels) }
                    var direct: [UInt8] = []
                    for ky in 0..<kernel {
                        let row = offset + ky * width * channels
                        direct += times[row..<(row + kernel * channels)]
                    }
                    #expect(dense == direct, "patch \(next + s)")
                    checked += 1
                }
                next += stretch.count
            }
        }
        #expect(checked == 100)
        // The silent patch and the all-at-step-0 patch, by hand.
        #expect(Self.expectedRecord(times, offset: offsets[0], kernel: kernel, width: width, channels: channels, timesteps: T)
                == [0, 0])
        #expect(Self.expectedRecord(times, offset: offsets[1], kernel: kernel, width: width, channels: channels, timesteps: T)
                == [75, 1] + (0..<75).map { Int32($0) } + [Int32(75)])
    }
}

/// The input copy grouped training reads: the same bytes, on huge pages where the kernel grants
/// them and on ordinary memory otherwise (an empty input never maps).
@Suite struct HugePageBytesTests {
    @Test func copiesExactly() {
        var rng = RandomStream(seed: 3, 0)
        for count in [0, 1, 4095, (2 << 20) + 17] {
            let source = (0..<count).map { _ in UInt8(rng.int(below: 256)) }
            let copy = HugePageBytes(copying: source)
            #expect(copy.bytes.count == count)
            #expect(Array(copy.bytes) == source, "\(count) bytes")
            if count > 0 {
                // Mapped copies start on a 2 MB boundary (pages are only huge when aligned).
                #expect(Int(bitPattern: copy.bytes.baseAddress!) % (2 << 20) == 0)
            }
        }
    }
}
