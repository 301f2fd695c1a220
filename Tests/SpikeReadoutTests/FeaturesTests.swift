import Testing
@testable import SpikeReadout

/// Time-objective features by hand, T = 4, t_obj = 0.5: f = clip(1 - (t - 0.5) / 0.5, 0, 1) with
/// t = step / 4: step 0 -> 2 -> 1; step 1 -> 1.5 -> 1; step 2 -> 1; step 3 -> 0.5; no spike -> 0.
@Suite struct TimeFeaturesTests {
    let f = TimeFeatures(timesteps: 4, targetTime: 0.5, grid: 2)

    @Test func tableByHand() {
        let t = f.table
        #expect(Array(t[0..<4]) == [1, 1, 1, 0.5])
        #expect(t[255] == 0 && t[4] == 0)
    }

    /// A 4x4 map pair (2 maps, HWC). Map 0 spikes at step 3 everywhere but the top-left quadrant,
    /// which has one step-0 spike and three silent neurons; map 1 spikes only at (3, 3), step 1.
    /// Grid 2: map 0 quadrants [1, 2, 2, 2] (0.5 x 4 each elsewhere), map 1 [0, 0, 0, 1].
    @Test func sumPoolingToTheGrid() {
        var times = [UInt8](repeating: 255, count: 4 * 4 * 2)
        for y in 0..<4 { for x in 0..<4 where y >= 2 || x >= 2 { times[(y * 4 + x) * 2] = 3 } }
        times[0] = 0
        times[(3 * 4 + 3) * 2 + 1] = 1
        var out = [Float](repeating: 0, count: 2 * 4)
        let lut = f.table
        times.withUnsafeBufferPointer { t in
            lut.withUnsafeBufferPointer { l in
                out.withUnsafeMutableBufferPointer { f.accumulate(times: t, height: 4, width: 4, maps: 2, table: l.baseAddress!, into: $0.baseAddress!) }
            }
        }
        #expect(out == [1, 2, 2, 2, 0, 0, 0, 1])
    }

    /// Eight maps at a time (`accumulate8`, maps a multiple of 8) against the table summed in position
    /// order, on a 5x7 map of 24 maps whose steps run over every byte value (spikes before and after
    /// T, no spike), for several T and objectives: the same floats bit for bit.
    @Test(arguments: [(4, Float(0.5)), (64, Float(0.75)), (128, Float(0.75)), (254, Float(0.3))])
    func eightMapsAtATimeEqualTheTable(timesteps: Int, target: Float) {
        let f = TimeFeatures(timesteps: timesteps, targetTime: target, grid: 2)
        let h = 5, w = 7, maps = 24
        let times = (0..<(h * w * maps)).map { UInt8(truncatingIfNeeded: $0 * 37 + $0 / 11) }
        #expect(Set(times).count == 256)
        let lut = f.table
        var expected = [Float](repeating: 0, count: maps * 4)
        for y in 0..<h { for x in 0..<w {
            let cell = (y * 2 / h) * 2 + x * 2 / w
            for j in 0..<maps { expected[j * 4 + cell] += lut[Int(times[(y * w + x) * maps + j])] }
        }}
        var out = [Float](repeating: 0, count: maps * 4)
        times.withUnsafeBufferPointer { t in
            lut.withUnsafeBufferPointer { l in
                out.withUnsafeMutableBufferPointer { f.accumulate(times: t, height: h, width: w, maps: maps, table: l.baseAddress!, into: $0.baseAddress!) }
            }
        }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(expected.contains { $0 > 0 && $0 != $0.rounded() }, "fractional values are compared too")
    }
}
