import Foundation
import Testing
import SpikeCluster
import SpikeModel
import SpikeReadout
@testable import SpinnpruneApp

/// The readout keeps a layer's features as spike-step codes when every readout cell is one neuron;
/// what it computes from them and writes must be what the floats give.
@Suite struct ReadoutStorageTests {
    static func layer(kernel: Int, input: Shape, maps: Int) -> ConvSlice {
        let spec = ConvSpec(name: "c", kernel: kernel, maps: maps, epochs: 0, stdp: STDP(rule: .biological, a: 0.1),
                            thresholds: ThresholdAdaptation(eta: 0, targetTime: 0.5, minThreshold: 0),
                            initialThresholdMean: 3, initialThresholdStd: 0)
        return ConvSlice(spec: spec, input: input, maps: 0..<maps, seed: 1, layerIndex: 0)
    }

    /// T = 8, t_obj = 0.5: steps 0...4 -> 1, 5 -> 0.75, 6 -> 0.5, 7 -> 0.25, no spike -> 0.
    /// An fc layer (1x1 maps, grid 2 clamped to 1) keeps codes; a 2x2 map at grid 2 too (one neuron
    /// per cell); a 4x4 map at grid 2 sums four neurons per cell and keeps floats.
    @Test func singleNeuronCellsAreKeptAsCodes() {
        let fc = Self.layer(kernel: 3, input: Shape(height: 3, width: 3, channels: 2), maps: 3)
        let f = LayerFeatures(slice: fc, slices: MapSlices(count: 3, ranks: 1), grid: 2, timesteps: 8)
        #expect(f.compact && f.dim == 3)
        f.start(images: 2)
        for (i, times) in [[5, 255, 0], [7, 6, 9]].enumerated() {
            let bytes = times.map(UInt8.init)
            bytes.withUnsafeBufferPointer { f.add(image: i, times: $0) }
        }
        let m = f.gather(images: 2, comm: LocalCommunicator())
        #expect(m.isCompact && m.count == 2 && m.dim == 3)
        #expect(m.floats == [0.75, 0, 1, 0.25, 0.5, 0])

        // 2x2 maps, grid 2: one neuron per cell, `[map][cell]` order.
        let small = Self.layer(kernel: 2, input: Shape(height: 3, width: 3, channels: 1), maps: 2)
        let g = LayerFeatures(slice: small, slices: MapSlices(count: 2, ranks: 1), grid: 2, timesteps: 8)
        #expect(g.compact && g.dim == 8)
        g.start(images: 1)
        // [y][x][map]: (0,0) 0 5, (0,1) 6 255, (1,0) 7 4, (1,1) 255 5.
        let times: [UInt8] = [0, 5, 6, 255, 7, 4, 255, 5]
        times.withUnsafeBufferPointer { g.add(image: 0, times: $0) }
        let gm = g.gather(images: 1, comm: LocalCommunicator())
        #expect(gm.isCompact && gm.floats == [1, 0.5, 0.25, 0, 0.75, 0, 1, 0.75])

        // 4x4 maps, grid 2: four neurons per cell, summed as floats.
        let wide = Self.layer(kernel: 1, input: Shape(height: 4, width: 4, channels: 1), maps: 1)
        let h = LayerFeatures(slice: wide, slices: MapSlices(count: 1, ranks: 1), grid: 2, timesteps: 8)
        #expect(!h.compact && h.dim == 4)
        h.start(images: 1)
        let steps = [UInt8](repeating: 5, count: 16)
        steps.withUnsafeBufferPointer { h.add(image: 0, times: $0) }
        let hm = h.gather(images: 1, comm: LocalCommunicator())
        #expect(!hm.isCompact && hm.floats == [3, 3, 3, 3])
    }

    /// `readout.save_features` writes a compact matrix block by block: the bytes of its floats.
    @Test func savedCompactFeaturesAreTheirFloats() throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-features-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let dir = try RunDirectory(runsDir: runs, name: "f")
        // 5000 x 300: more than one 4 MiB block.
        let count = 5000, dim = 300
        let codes = (0..<(count * dim)).map { UInt8(truncatingIfNeeded: ($0 * 7919) % 263) }
        let table = TimeFeatures(timesteps: 128, targetTime: 0.75).cellValues
        var m = FeatureMatrix(codes: codes, count: count, dim: dim, table: table)
        MinMaxScaler.fit(m).transform(&m)
        let floats = m.floats
        #expect(Set(floats).count > 20)  // steps 96...127 and no spike: 33 values
        try dir.writeFloats(m, to: "features/x.f32")
        try dir.writeFloats(floats, to: "features/y.f32")
        let x = try Data(contentsOf: dir.url("features/x.f32"))
        #expect(x.count == count * dim * 4)
        #expect(x == (try Data(contentsOf: dir.url("features/y.f32"))))
        dir.discard()
    }
}
