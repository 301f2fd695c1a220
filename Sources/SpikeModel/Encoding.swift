#if canImport(Glibc)
import Glibc
#endif

/// Spike times of one sample: one byte per neuron, the timestep 0..<T, or `noSpike`.
/// Layout is HWC (channel fastest), the same for inputs and for every layer's output.
public let noSpike: UInt8 = 255

public struct Shape: Sendable, Equatable, Codable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int
    public init(height: Int, width: Int, channels: Int) {
        self.height = height; self.width = width; self.channels = channels
    }
    public var count: Int { height * width * channels }
    public var description: String { "\(height)x\(width)x\(channels)" }
}

/// Difference-of-Gaussians kernel `Gc/sum(Gc) - Gs/sum(Gs)` on a size x size grid centred on the
/// middle cell, row-major.
public func dogKernel(size: Int, sigmaCenter: Double, sigmaSurround: Double) -> [Double] {
    let c = Double(size / 2)
    func gaussian(_ sigma: Double) -> [Double] {
        var g = [Double]()
        for y in 0..<size {
            for x in 0..<size {
                let d2 = (Double(y) - c) * (Double(y) - c) + (Double(x) - c) * (Double(x) - c)
                g.append(exp(-d2 / (2 * sigma * sigma)))
            }
        }
        let s = g.reduce(0, +)
        return g.map { $0 / s }
    }
    let gc = gaussian(sigmaCenter), gs = gaussian(sigmaSurround)
    return zip(gc, gs).map { $0 - $1 }
}

/// The 1-D normalised Gaussian whose outer product with itself is `G/sum(G)` of `dogKernel`.
func gaussian1D(size: Int, sigma: Double) -> [Double] {
    let c = Double(size / 2)
    let g = (0..<size).map { exp(-(Double($0) - c) * (Double($0) - c) / (2 * sigma * sigma)) }
    let s = g.reduce(0, +)
    return g.map { $0 / s }
}

/// On/off DoG filtering: every input channel becomes two, `on = max(0, v)` and `off = max(0, -v)`,
/// where v is the image (bytes scaled to [0,1]) convolved with the DoG kernel, borders clamped.
/// Output layout HWC with channels (c on, c off) for each input channel c.
/// Each Gaussian of the DoG is separable (and so is border clamping), so the filter runs as two
/// 1-D passes per Gaussian: 4 * size instead of size^2 products per pixel.
public struct DoGFilter: Sendable {
    public let size: Int
    let center: [Double]
    let surround: [Double]

    public init(size: Int, sigmaCenter: Double, sigmaSurround: Double) {
        self.size = size
        center = gaussian1D(size: size, sigma: sigmaCenter)
        surround = gaussian1D(size: size, sigma: sigmaSurround)
    }

    public func apply(image: UnsafeBufferPointer<UInt8>, height: Int, width: Int, channels: Int,
                      into out: UnsafeMutableBufferPointer<Float>) {
        let planes = (0..<image.count).map { Double(image[$0]) / 255.0 }
        planes.withUnsafeBufferPointer { apply(values: $0, height: height, width: width, channels: channels, into: out) }
    }

    /// Colour-opponent on/off filtering of an RGB image (the reference's STL-10 pre-processing): the
    /// planes luminance `0.2126 R + 0.7152 G + 0.0722 B`, red/green `0.5 + 0.5 R - 0.5 G` and
    /// yellow/blue `0.5 + 0.25 R + 0.25 G - 0.5 B` (R, G, B in [0, 1]), each DoG-filtered and split on/off:
    /// 6 output channels.
    public func applyOpponent(image: UnsafeBufferPointer<UInt8>, height: Int, width: Int,
                              into out: UnsafeMutableBufferPointer<Float>) {
        var planes = [Double](repeating: 0, count: height * width * 3)
        for p in 0..<(height * width) {
            let r = Double(image[p * 3]) / 255.0, g = Double(image[p * 3 + 1]) / 255.0, b = Double(image[p * 3 + 2]) / 255.0
            planes[p * 3] = 0.2126 * r + 0.7152 * g + 0.0722 * b
            planes[p * 3 + 1] = 0.5 + 0.5 * r - 0.5 * g
            planes[p * 3 + 2] = 0.5 + 0.25 * r + 0.25 * g - 0.5 * b
        }
        planes.withUnsafeBufferPointer { apply(values: $0, height: height, width: width, channels: 3, into: out) }
    }

    /// The filter on `channels` planes of values (HWC); output HWC with (on, off) per plane.
    public func apply(values image: UnsafeBufferPointer<Double>, height: Int, width: Int, channels: Int,
                      into out: UnsafeMutableBufferPointer<Float>) {
        let r = size / 2
        // Horizontal pass of both Gaussians, per channel plane: [channel][y][x].
        var hc = [Double](repeating: 0, count: height * width * channels)
        var hs = hc
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    var a = 0.0, b = 0.0
                    for k in 0..<size {
                        let xx = min(max(x + k - r, 0), width - 1)
                        let v = image[(y * width + xx) * channels + c]
                        a += center[k] * v
                        b += surround[k] * v
                    }
                    hc[(c * height + y) * width + x] = a
                    hs[(c * height + y) * width + x] = b
                }
            }
        }
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    var a = 0.0, b = 0.0
                    for k in 0..<size {
                        let yy = min(max(y + k - r, 0), height - 1)
                        a += center[k] * hc[(c * height + yy) * width + x]
                        b += surround[k] * hs[(c * height + yy) * width + x]
                    }
                    let v = a - b
                    let o = ((y * width + x) * channels + c) * 2
                    out[o] = Float(max(0, v))
                    out[o + 1] = Float(max(0, -v))
                }
            }
        }
    }
}

/// Per-feature min-max scaling fitted on the training set: `x' = (x - min) / (max - min)`.
/// A feature constant over the training set maps to 0 (never spikes).
public struct FeatureRange: Sendable {
    public var minimum: [Float]
    public var maximum: [Float]

    public init(minimum: [Float], maximum: [Float]) { self.minimum = minimum; self.maximum = maximum }

    public static func fit(_ values: UnsafeBufferPointer<Float>, features: Int) -> FeatureRange {
        var lo = [Float](repeating: .infinity, count: features)
        var hi = [Float](repeating: -.infinity, count: features)
        let n = values.count / max(features, 1)
        for i in 0..<n {
            for f in 0..<features {
                let v = values[i * features + f]
                lo[f] = min(lo[f], v); hi[f] = max(hi[f], v)
            }
        }
        return FeatureRange(minimum: lo, maximum: hi)
    }

    public func scale(_ v: Float, feature f: Int) -> Float {
        let span = maximum[f] - minimum[f]
        return span > 0 ? (v - minimum[f]) / span : 0
    }
}

/// Latency coding: intensity x in [0,1] spikes at continuous time `t = 1 - x`, which falls in
/// step `floor(t * T)` clamped to `T - 1`; `x <= 0` never spikes. Values above 1 (test data outside
/// the training range) spike at step 0.
@inline(__always)
public func latencyStep(_ x: Float, timesteps: Int) -> UInt8 {
    if !(x > 0) { return noSpike }
    let t = 1 - min(x, 1)
    let s = Int((t * Float(timesteps)).rounded(.down))
    return UInt8(min(max(s, 0), timesteps - 1))
}
