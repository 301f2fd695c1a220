import Foundation
import SpikeModel
import Testing
@testable import SpinnpruneApp

/// The pieces of the PyNN export on hand-made values (the end-to-end checks are in PyNNExportTests).
@Suite struct PyNNExportUnitTests {
    @Test func kernelRotatedBy180Degrees() {
        // 1 2 3        9 8 7
        // 4 5 6   ->   6 5 4
        // 7 8 9        3 2 1
        let k: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        #expect(PyNNExport.rotate180(k, size: 3) == [9, 8, 7, 6, 5, 4, 3, 2, 1])
        #expect(PyNNExport.rotate180(PyNNExport.rotate180(k, size: 3), size: 3) == k)
    }

    @Test func layerRegroupedBySliceAndRotated() {
        // Weight (ky, kx, c, m) of a 3x3 layer with 2 input channels and 2 maps holds ky kx c m as digits.
        let k = 3, cin = 2, maps = 2
        var w = [Float](repeating: 0, count: k * k * cin * maps)
        for ky in 0..<k { for kx in 0..<k { for c in 0..<cin { for m in 0..<maps {
            w[((ky * k + kx) * cin + c) * maps + m] = Float(ky * 1000 + kx * 100 + c * 10 + m)
        } } } }
        let out = PyNNExport.flippedSlices(w, kernel: k, inChannels: cin, maps: maps)
        for c in 0..<cin { for m in 0..<maps { for i in 0..<k { for j in 0..<k {
            #expect(out[((c * maps + m) * k + i) * k + j] == Float((k - 1 - i) * 1000 + (k - 1 - j) * 100 + c * 10 + m))
        } } } }
    }

    /// sPyNNaker's local-only convolution (local_only_conv_impl.c): a pre neuron (r, c) reaches post
    /// (r', c') with kernel entry (k-1-i, k-1-j) where i = (r + pad) - r' stride. Fed the rotated kernel,
    /// it must give the CSNN's cross-correlation, for stride 1 and 2 and padding.
    @Test(arguments: [(1, 0), (2, 0), (1, 1), (2, 1)])
    func rotatedKernelUnderTrueConvolutionIsCrossCorrelation(stride: Int, pad: Int) {
        let n = 6, k = 3
        let kernel: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95]
        let input = (0..<(n * n)).map { Double(($0 * 7) % 11) }
        let out = (n + 2 * pad - k) / stride + 1
        var csnn = [Double](repeating: 0, count: out * out)
        for oy in 0..<out { for ox in 0..<out { for ky in 0..<k { for kx in 0..<k {
            let y = oy * stride - pad + ky, x = ox * stride - pad + kx
            if y >= 0 && y < n && x >= 0 && x < n { csnn[oy * out + ox] += kernel[ky * k + kx] * input[y * n + x] }
        } } } }
        let rotated = PyNNExport.rotate180(kernel, size: k)
        var spinnaker = [Double](repeating: 0, count: out * out)
        for r in 0..<n {
            for c in 0..<n {
                let pr = r + pad, pc = c + pad
                var iRow = pr % stride, tmpRow = pr / stride
                while iRow < k {
                    var iCol = pc % stride, tmpCol = pc / stride
                    while iCol < k {
                        if tmpRow >= 0 && tmpRow < out && tmpCol >= 0 && tmpCol < out {
                            spinnaker[tmpRow * out + tmpCol] += rotated[(k - 1 - iRow) * k + (k - 1 - iCol)] * input[r * n + c]
                        }
                        iCol += stride; tmpCol -= 1
                    }
                    iRow += stride; tmpRow -= 1
                }
            }
        }
        #expect(zip(csnn, spinnaker).allSatisfy { abs($0 - $1) < 1e-12 }, "stride \(stride) pad \(pad): \(csnn) vs \(spinnaker)")
        // Without the rotation the asymmetric kernel gives something else.
        #expect(PyNNExport.rotate180(kernel, size: k) != kernel)
    }

    @Test func spinnakerPostShapeRule() {
        // ((n // 1) - (k - 1) + 2 pad) // stride: the usual size at stride 1 ...
        #expect(PyNNExport.spinnakerPostSize(input: 16, kernel: 5, stride: 1, pad: 0) == 12)
        #expect(PyNNExport.spinnakerPostSize(input: 6, kernel: 3, stride: 1, pad: 1) == 6)
        // ... one less than (n + 2 pad - k) / stride + 1 = 3 here (stride 2) ...
        #expect(PyNNExport.spinnakerPostSize(input: 7, kernel: 3, stride: 2, pad: 0) == 2)
        // ... and the same when (n + 2 pad - k) % stride == stride - 1.
        #expect(PyNNExport.spinnakerPostSize(input: 6, kernel: 3, stride: 2, pad: 0) == 2)
    }

    @Test func npyHeader() throws {
        let d = PyNNExport.npy([1, 2.5, -3, 0, 0, 1] as [Float], shape: [2, 3])
        #expect(Array(d.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let hlen = Int(d[8]) | Int(d[9]) << 8
        #expect((10 + hlen) % 64 == 0)
        let header = String(decoding: d[10..<(10 + hlen)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
        #expect(d.count == 10 + hlen + 24)
        let body = [UInt8](d.suffix(24))
        #expect(body[4..<8] == [0x00, 0x00, 0x20, 0x40])   // 2.5 little-endian
        let u = PyNNExport.npy([1, 2, 255] as [UInt8], shape: [3])
        #expect(String(decoding: u[10..<64], as: UTF8.self).contains("'descr': '|u1', 'fortran_order': False, 'shape': (3,)"))
        #expect(Array(u.suffix(3)) == [1, 2, 255])
    }

    @Test(arguments: [(50.0, 8.0), (800.0, 10.0), (2048.0, 1.0), (8.0, 1.0), (3200.0, 4.0), (0.5, 20.0)])
    func neuronScaling(bound: Double, threshold: Double) {
        let (tau, scale) = PyNNExport.scaling(stepBound: bound, minThreshold: threshold)
        #expect(tau >= 16 && tau <= 32768 && log2(tau).rounded() == log2(tau), "tau_m \(tau)")
        #expect(log2(scale).rounded() == log2(scale), "scale \(scale)")
        // The largest step input times tau_m stays inside s16.15, and within a factor 2 of it.
        #expect(scale * bound * tau <= 32768 && scale * bound * tau > 16384, "\(scale) * \(bound) * \(tau)")
    }

    /// Connector choice: whole or entirely pruned slices -> ConvolutionConnector; a partly pruned
    /// slice -> FromList; stride 2 where sPyNNaker's post shape differs -> FromList.
    @Test func connectorChoice() throws {
        let input = Shape(height: 7, width: 7, channels: 2)
        let samples = PyNNSamples(shape: input, times: [UInt8](repeating: 255, count: input.count), labels: [0])
        func spec(stride: Int) -> ConvSpec {
            ConvSpec(name: "conv1", kernel: 3, stride: stride, maps: 2, epochs: 1, stdp: STDP(rule: .multiplicative, a: 0.1, b: 0),
                     thresholds: ThresholdAdaptation(eta: 1, targetTime: 0.75, minThreshold: 1),
                     initialThresholdMean: 5, initialThresholdStd: 0)
        }
        func plan(_ mask: [UInt8], stride: Int = 1) throws -> [String: Any] {
            let trained = PyNNTrainedConv(weights: mask.map { $0 == 0 ? 0 : 0.5 }, mask: mask, thresholds: [3, 4])
            let e = PyNNExport(timesteps: 8, input: input, layers: [.conv(spec(stride: stride), input: input, trained)], samples: samples)
            let json = try #require(e.files().first { $0.path == "pynn/network.json" })
            return try #require(lookup(try JSONSerialization.jsonObject(with: json.data), "layers", 0) as? [String: Any])
        }
        // [ky][kx][c][m]: slice (c = 1, m = 0) entirely pruned, the others whole.
        var structured = [UInt8](repeating: 1, count: 9 * 2 * 2)
        for p in 0..<9 { structured[(p * 2 + 1) * 2 + 0] = 0 }
        let a = try plan(structured)
        #expect(a["connector"] as? String == "convolution")
        #expect(lookup(a, "slices", "pruned") as? Int == 1 && lookup(a, "slices", "projected") as? Int == 3)
        #expect(a["v_thresh"] as? [Double] == [3, 4].map { $0 * (a["weight_scale"] as? Double ?? .nan) })
        var partial = structured
        partial[0] = 0
        let b = try plan(partial)
        #expect(b["connector"] as? String == "from_list")
        #expect(lookup(b, "slices", "partial") as? Int == 1)
        let c = try plan(structured, stride: 2)
        #expect(c["output"] as? [Int] == [3, 3, 2] && c["spinnaker_post_shape"] as? [Int] == [2, 2])
        #expect(c["connector"] as? String == "from_list")
    }
}
