import Testing
import SpikeCluster
import SpikeCompression
@testable import SpikeModel

/// The two pieces hybrid distribution builds on, on one process: a stage run over a share of the
/// images gives exactly those images' part of the whole run, and a layer re-sliced to a range of
/// maps holds exactly those maps and computes exactly their output.
@Suite struct HybridTests {
    static let T = 12
    static let shape = Shape(height: 6, width: 6, channels: 4)

    static func data(images: Int) -> SpikeDataset {
        var rng = RandomStream(seed: 11, 2)
        let times = (0..<(images * shape.count)).map { _ in rng.int(below: 3) == 0 ? noSpike : UInt8(rng.int(below: T)) }
        return SpikeDataset(shape: shape, count: images, times: times)
    }

    static func layer(maps: Int, inhibit: Bool = false) -> ConvSlice {
        var spec = ConvSpec(name: "c", kernel: 3, pad: 1, maps: maps, epochs: 0, stdp: STDP(rule: .biological, a: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 3, initialThresholdStd: 0)
        spec.inhibitInference = inhibit
        let c = ConvSlice(spec: spec, input: shape, maps: 0..<maps, seed: 1, layerIndex: 0)
        var rng = RandomStream(seed: 5, 3)
        c.weights = (0..<c.weights.count).map { _ in Float(rng.int(below: 1000)) / 1000 }
        c.mask = (0..<c.mask.count).map { _ in rng.int(below: 5) == 0 ? 0 : 1 }
        c.apply(mask: c.mask)
        c.thresholds = (0..<maps).map { _ in 4 + Float(rng.int(below: 6000)) / 1000 }
        return c
    }

    /// Output times and conv output (`inspectConv`, by global image index) of `images`.
    static func run(_ c: ConvSlice, pools: [PoolSpec], on data: SpikeDataset, images: Range<Int>?, batchSize: Int = 5)
        -> (out: [UInt8], conv: [Int: [UInt8]]) {
        var stats = ForwardStats()
        var conv: [Int: [UInt8]] = [:]
        let first = images?.lowerBound ?? 0
        let out = runStage(Stage(conv: c, pools: pools), on: data, images: images, timesteps: T, batchSize: batchSize,
                           exchange: true, comm: LocalCommunicator(), stats: &stats,
                           inspectConv: { i, t in conv[first + i] = Array(t) })!
        #expect(out.count == (images ?? 0..<data.count).count)
        return (out.times, conv)
    }

    @Test("a stage over contiguous shares of the images: the shares' outputs are the whole run's, image by image",
          arguments: [false, true])
    func shareOfImages(inhibit: Bool) {
        let data = HybridTests.data(images: 23)
        let c = HybridTests.layer(maps: 13, inhibit: inhibit)
        let pools = [PoolSpec(name: "p", window: 2, stride: 2)]
        let whole = HybridTests.run(c, pools: pools, on: data, images: nil, batchSize: 8)
        #expect(whole.out.contains(noSpike) && whole.out.contains { $0 != noSpike })
        for groups in [1, 2, 3, 5, 30] {
            let shares = MapSlices(count: data.count, ranks: groups)
            var out: [UInt8] = [], conv: [Int: [UInt8]] = [:]
            for g in 0..<groups {
                let part = HybridTests.run(c, pools: pools, on: data, images: shares.range(of: g))
                out += part.out
                conv.merge(part.conv) { a, _ in a }
            }
            #expect(out == whole.out, "\(groups) groups")
            #expect(conv == whole.conv, "\(groups) groups")
        }
    }

    @Test("a layer re-sliced to a range of maps holds those maps' parameters and computes their output")
    func reslicedLayer() {
        let data = HybridTests.data(images: 7)
        let maps = 19
        let c = HybridTests.layer(maps: maps)
        let k = c.synapsesPerMap
        let whole = HybridTests.run(c, pools: [], on: data, images: nil)
        #expect(whole.out.contains(noSpike) && whole.out.contains { $0 != noSpike })
        let cells = 36
        for target in [0..<maps, 0..<8, 5..<19, 7..<8, 3..<3] {
            let s = c.resliced(to: target, slices: MapSlices(count: maps, ranks: 1), comm: LocalCommunicator())
            #expect(s.maps == target)
            let m = target.count
            #expect(s.weights == (0..<(k * m)).map { c.weights[($0 / m) * maps + target.lowerBound + $0 % m] })
            #expect(s.mask == (0..<(k * m)).map { c.mask[($0 / m) * maps + target.lowerBound + $0 % m] })
            #expect(s.thresholds == Array(c.thresholds[target]))
            // Its conv output is the whole layer's for its maps, image by image.
            let part = HybridTests.run(s, pools: [], on: data, images: nil)
            for img in 0..<data.count {
                let w = whole.conv[img]!, p = part.conv[img]!
                #expect(p == (0..<(cells * m)).map { w[($0 / m) * maps + target.lowerBound + $0 % m] }, "maps \(target), image \(img)")
            }
        }
    }

    @Test func localCommunicatorSplitIsItself() {
        let c = LocalCommunicator()
        let s = c.split(color: 3, key: 7)
        #expect(s === c && s.size == 1 && s.rank == 0)
    }
}
