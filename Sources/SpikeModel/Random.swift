/// Counter-based random streams: a stream is named by (seed, purpose, indices), never by rank,
/// so a map's initial weights or an epoch's patch positions are the same whoever draws them.
public struct RandomStream: Sendable {
    private var state: UInt64

    public init(seed: UInt64, _ keys: UInt64...) {
        var s = seed &+ 0x9E37_79B9_7F4A_7C15
        for k in keys { s = RandomStream.mix(s ^ RandomStream.mix(k &+ 0xD1B5_4A32_D192_ED03)) }
        state = s
    }

    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return RandomStream.mix(state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform integer in 0..<n (n > 0), without modulo bias worth noticing for n << 2^64.
    public mutating func int(below n: Int) -> Int { Int((UInt128(next()) * UInt128(n)) >> 64) }

    /// Standard normal by Box-Muller (one value per call; the pair's twin is dropped for simplicity).
    public mutating func normal(mean: Double, std: Double) -> Double {
        let u1 = 1.0 - uniform(), u2 = uniform()
        return mean + std * (-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
    }

    /// Fisher-Yates shuffle of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int32] {
        var p = (0..<Int32(n)).map { $0 }
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(below: i + 1)) }
        }
        return p
    }
}

// Foundation-free libm access keeps this file importable everywhere.
#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
