import Testing
@testable import SpikeModel

/// DoG size 3, sigma centre 1, surround 2, worked by hand:
/// centre Gaussian exp(-d2/2): 1, 0.606531 (edge), 0.367879 (corner); sum 4.897640
///   -> 0.204180, 0.123841, 0.075114
/// surround exp(-d2/8): 1, 0.882497, 0.778801; sum 7.645191 -> 0.130801, 0.115431, 0.101867
/// DoG: centre 0.073379, edge 0.008410, corner -0.026753 (sums to 0).
@Suite struct DoGTests {
    let centre = 0.073379, edge = 0.008410, corner = -0.026753

    @Test func kernelMatchesHandValues() {
        let k = dogKernel(size: 3, sigmaCenter: 1, sigmaSurround: 2)
        let expected = [corner, edge, corner, edge, centre, edge, corner, edge, corner]
        for (a, b) in zip(k, expected) { #expect(abs(a - b) < 2e-6) }
        #expect(abs(k.reduce(0, +)) < 1e-12)
    }

    @Test func separableFilterOnOneBrightPixel() {
        // 5x5 image, one pixel at 255 in the middle: the response around it is the kernel itself.
        var img = [UInt8](repeating: 0, count: 25)
        img[12] = 255
        var out = [Float](repeating: -1, count: 50)
        let f = DoGFilter(size: 3, sigmaCenter: 1, sigmaSurround: 2)
        img.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { f.apply(image: i, height: 5, width: 5, channels: 1, into: $0) } }
        func on(_ y: Int, _ x: Int) -> Double { Double(out[(y * 5 + x) * 2]) }
        func off(_ y: Int, _ x: Int) -> Double { Double(out[(y * 5 + x) * 2 + 1]) }
        #expect(abs(on(2, 2) - centre) < 2e-6 && off(2, 2) == 0)
        #expect(abs(on(1, 2) - edge) < 2e-6 && off(1, 2) == 0)
        #expect(abs(off(1, 1) + corner) < 2e-6 && on(1, 1) == 0)
        #expect(on(0, 0) == 0 && off(0, 0) == 0)   // out of the kernel's reach
    }

    /// One pure-red pixel (255, 0, 0) in a black 5x5 image. Planes at that pixel: luminance 0.2126,
    /// red/green 0.5 + 0.5 = 1 (0.5 elsewhere), yellow/blue 0.5 + 0.25 = 0.75 (0.5 elsewhere). Constant
    /// offsets vanish under the DoG, so the on responses at the pixel are 0.2126, 0.5 and 0.25 times the
    /// kernel centre 0.073379: 0.015600, 0.036690, 0.018345.
    @Test func colourOpponentPlanesOnARedPixel() {
        var img = [UInt8](repeating: 0, count: 75)
        img[12 * 3] = 255
        var out = [Float](repeating: -1, count: 150)
        let f = DoGFilter(size: 3, sigmaCenter: 1, sigmaSurround: 2)
        img.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { f.applyOpponent(image: i, height: 5, width: 5, into: $0) } }
        let at = 12 * 6
        #expect(abs(Double(out[at]) - 0.2126 * centre) < 1e-6 && out[at + 1] == 0)
        #expect(abs(Double(out[at + 2]) - 0.5 * centre) < 1e-6 && out[at + 3] == 0)
        #expect(abs(Double(out[at + 4]) - 0.25 * centre) < 1e-6 && out[at + 5] == 0)
        // A corner neighbour sees the negative corner coefficient: an off response.
        let corner6 = (1 * 5 + 1) * 6
        #expect(abs(Double(out[corner6 + 3]) - 0.5 * 0.026753) < 2e-6)
    }

    @Test func uniformImageGivesNoResponseEvenAtClampedBorders() {
        let img = [UInt8](repeating: 200, count: 16)
        var out = [Float](repeating: -1, count: 32)
        let f = DoGFilter(size: 7, sigmaCenter: 1, sigmaSurround: 4)
        img.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { f.apply(image: i, height: 4, width: 4, channels: 1, into: $0) } }
        #expect(out.allSatisfy { abs($0) < 1e-6 })
    }
}

/// Latency coding with T = 4: t = 1 - x, step floor(4t) clamped to 3.
@Suite struct LatencyTests {
    @Test func handWorkedSteps() {
        #expect(latencyStep(1.0, timesteps: 4) == 0)     // t = 0
        #expect(latencyStep(0.5, timesteps: 4) == 2)     // t = 0.5 -> 2.0
        #expect(latencyStep(0.3, timesteps: 4) == 2)     // t = 0.7 -> 2.8
        #expect(latencyStep(0.76, timesteps: 4) == 0)    // t = 0.24 -> 0.96
        #expect(latencyStep(0.01, timesteps: 4) == 3)    // t = 0.99 -> 3.96
        #expect(latencyStep(0.0, timesteps: 4) == noSpike)
        #expect(latencyStep(-0.2, timesteps: 4) == noSpike)
        #expect(latencyStep(1.3, timesteps: 4) == 0)     // above the training range: earliest step
    }

    @Test func featureScalingIsMinMaxPerFeature() {
        let v: [Float] = [1, 10, 3, 10, 2, 10]   // 3 samples x 2 features; feature 1 is constant
        let r = v.withUnsafeBufferPointer { FeatureRange.fit($0, features: 2) }
        #expect(r.scale(2, feature: 0) == 0.5)
        #expect(r.scale(3, feature: 0) == 1)
        #expect(r.scale(10, feature: 1) == 0)
    }
}
