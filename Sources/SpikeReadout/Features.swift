/// Spike times to SVM features, as the reference does: each spike becomes
/// `f = clip(1 - (t - tObj) / (1 - tObj), 0, 1)` with `t = step / T` (0 when the neuron did not
/// fire), then the map is sum-pooled to a `grid x grid` layout.
public struct TimeFeatures: Sendable {
    public var timesteps: Int
    public var targetTime: Float
    public var grid: Int
    public init(timesteps: Int, targetTime: Float, grid: Int = 2) {
        self.timesteps = timesteps; self.targetTime = targetTime; self.grid = grid
    }

    /// The feature value of each possible step (index 255 = no spike).
    public var table: [Float] {
        (0..<32).flatMap { block in
            let v = values(SIMD8<Float>(SIMD8<Int32>(0..<8) &+ Int32(block * 8)))
            return (0..<8).map { v[$0] }
        }
    }

    /// The feature value of eight steps: `clip(1 - (t - tObj) / (1 - tObj), 0, 1)` with
    /// `t = step / T`, and 0 for steps at or past T (255: no spike). The one definition of the
    /// formula: `table` and `accumulate8` both evaluate it here, so they agree bit for bit.
    @inline(__always)
    func values(_ s: SIMD8<Float>) -> SIMD8<Float> {
        typealias F = SIMD8<Float>
        let steps = F(repeating: Float(timesteps)), one = F(repeating: 1), zero = F()
        var v = one - (s / steps - F(repeating: targetTime)) / F(repeating: 1 - targetTime)
        v.replace(with: zero, where: v .< zero)      // max(v, 0)
        v.replace(with: one, where: one .< v)        // min(v, 1)
        v.replace(with: zero, where: s .>= steps)    // no spike (or past T)
        return v
    }

    /// One image: `times` is `height x width x maps` step bytes (HWC); adds its `maps x grid x grid`
    /// features to `ob` (which the caller zeroes), looking values up in `lut` (this struct's `table`).
    public func accumulate(times t: UnsafeBufferPointer<UInt8>, height: Int, width: Int, maps: Int,
                           table lut: UnsafePointer<Float>, into ob: UnsafeMutablePointer<Float>) {
        let g = grid
        if maps % 8 == 0 && maps > 0 {
            accumulate8(times: t, height: height, width: width, maps: maps, into: ob)
            return
        }
        for y in 0..<height {
            let gy = y * g / height
            for x in 0..<width {
                let cell = gy * g + x * g / width
                let row = (y * width + x) * maps
                for j in 0..<maps { ob[j * g * g + cell] += lut[Int(t[row + j])] }
            }
        }
    }

    /// `accumulate` eight maps at a time: each step byte's value computed in SIMD registers by the
    /// table's own formula (`values`), summed per cell into a
    /// contiguous `[cell][map]` scratch in position order, then added to the zeroed `ob` (0 + sum is
    /// the sum: the values are never -0). The table lookups and the strided writes of the scalar
    /// loop cost a tenth of the forward pass.
    private func accumulate8(times t: UnsafeBufferPointer<UInt8>, height: Int, width: Int, maps: Int,
                             into ob: UnsafeMutablePointer<Float>) {
        typealias F = SIMD8<Float>
        let g = grid, cells = g * g
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cells * maps) { acc in
            acc.initialize(repeating: 0)
            let a = UnsafeMutableRawPointer(acc.baseAddress!)
            let src = UnsafeRawPointer(t.baseAddress!)
            for y in 0..<height {
                let gy = y * g / height
                for x in 0..<width {
                    let cell = gy * g + x * g / width
                    let row = (y * width + x) * maps
                    var j = 0
                    while j < maps {
                        let v = values(F(SIMD8<Int32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: row + j, as: SIMD8<UInt8>.self))))
                        let at = (cell * maps + j) * 4
                        a.storeBytes(of: a.loadUnaligned(fromByteOffset: at, as: F.self) + v, toByteOffset: at, as: F.self)
                        j += 8
                    }
                }
            }
            for cell in 0..<cells {
                for j in 0..<maps { ob[j * cells + cell] += acc[cell * maps + j] }
            }
        }
    }

    /// Whether every cell of a `height x width` map is a single neuron (`grid` equal to both, as an
    /// fc layer's 1x1 maps read out as one cell): each feature is then `table[step]` of one neuron,
    /// and the step byte can stand for it (`codes`, `cellValues`).
    public func singleNeuronCells(height: Int, width: Int) -> Bool { grid == height && grid == width }

    /// The feature of each step as `accumulate` leaves it in a zeroed single-neuron cell:
    /// `0 + table[step]`, the same float as `table[step]` (but for a -0, which the sum makes +0).
    public var cellValues: [Float] { table.map { Float(0) + $0 } }

    /// One image of single-neuron cells (`singleNeuronCells`): writes its step bytes to `ob` in
    /// `accumulate`'s `maps x grid x grid` order; `cellValues[ob[k]]` is what `accumulate` would
    /// have put at `k`.
    public func codes(times t: UnsafeBufferPointer<UInt8>, height: Int, width: Int, maps: Int,
                      into ob: UnsafeMutablePointer<UInt8>) {
        precondition(singleNeuronCells(height: height, width: width), "TimeFeatures.codes: cells of several neurons")
        let cells = grid * grid
        for cell in 0..<cells {
            let row = cell * maps
            for j in 0..<maps { ob[j * cells + cell] = t[row + j] }
        }
    }
}
