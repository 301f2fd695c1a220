import Foundation
import SpikeCluster
import SpikeData
import SpikeModel
import Testing
@testable import SpinnpruneApp

/// Patch whitening against values computed by hand.
///
/// The main example: four 1x1 RGB images (r, g, b) = (0, 0, 51), (255, 0, 51), (0, 102, 51),
/// (255, 102, 51), 1x1 patches. In [0, 1] units r is 0 or 1, g 0 or 0.4, b 0.2 always, each
/// combination once, so the covariance is exactly diag(0.25, 0.04, 0): eigenvalues 0.25 (r),
/// 0.04 (g), 0 (b). With eps 0.01, W keeps e_r / sqrt(0.26) = 1.961161 and, past one component,
/// e_g / sqrt(0.05) = 4.472136. Filter z is row z of W minus its mean over the 3 entries.
@Suite struct WhiteningTests {
    static let tiny = ImageSet(count: 4, height: 1, width: 1, channels: 3,
                               pixels: [0, 0, 51, 255, 0, 51, 0, 102, 51, 255, 102, 51], labels: [0, 1, 0, 1])

    @Test func jacobiEigenDecomposition() {
        // [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 1, 3, 5 with (1,-1,0)/sqrt2, (1,1,0)/sqrt2, (0,0,1).
        let (values, vectors) = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], n: 3)
        let order = (0..<3).sorted { values[$0] < values[$1] }
        #expect(order.map { values[$0] }.enumerated().allSatisfy { abs($1 - [1.0, 3, 5][$0]) < 1e-12 })
        let r = 1 / 2.0.squareRoot()
        let want: [[Double]] = [[r, -r, 0], [r, r, 0], [0, 0, 1]]
        for (k, i) in order.enumerated() {
            let v = Array(vectors[(i * 3)..<(i * 3 + 3)])
            let sign = v.firstIndex { abs($0) > 0.5 }.map { v[$0] * want[k][$0] < 0 ? -1.0 : 1.0 } ?? 1
            #expect(zip(v, want[k]).allSatisfy { abs(sign * $0 - $1) < 1e-12 }, "eigenvector \(k): \(v)")
        }
        // A 12x12 symmetric matrix: A v = lambda v and orthonormal vectors.
        let n = 12
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { let x = sin(Double(i * 7 + j * 3 + 1)); a[i * n + j] = x; a[j * n + i] = x } }
        let (l, v) = symmetricEigen(a, n: n)
        for k in 0..<n {
            for i in 0..<n {
                var av = 0.0
                for j in 0..<n { av += a[i * n + j] * v[k * n + j] }
                #expect(abs(av - l[k] * v[k * n + i]) < 1e-10)
            }
            for m in 0..<n {
                var dot = 0.0
                for i in 0..<n { dot += v[k * n + i] * v[m * n + i] }
                #expect(abs(dot - (k == m ? 1 : 0)) < 1e-10)
            }
        }
    }

    @Test func whiteningMatrixKeepsTheLargestComponents() {
        // cov [[2,1],[1,2]]: eigenvalues 3 (e = (1,1)/sqrt2) and 1; keeping one component,
        // W = e e^T / sqrt(3 + 0.01) = 0.5 / sqrt(3.01) everywhere.
        let w = PatchWhitening.whiteningMatrix(covariance: [2, 1, 1, 2], n: 2, epsilon: 0.01, kept: 1)
        #expect(w.allSatisfy { abs($0 - 0.5 / 3.01.squareRoot()) < 1e-12 }, "\(w)")
        // Both: W = (cov + eps I)^(-1/2) restricted to the eigenvectors: 0.5 (1/sqrt3.01 +- 1/sqrt1.01).
        let w2 = PatchWhitening.whiteningMatrix(covariance: [2, 1, 1, 2], n: 2, epsilon: 0.01, kept: 2)
        let d = 0.5 * (1 / 3.01.squareRoot() + 1 / 1.01.squareRoot()), o = 0.5 * (1 / 3.01.squareRoot() - 1 / 1.01.squareRoot())
        #expect(zip(w2, [d, o, o, d]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(w2)")
        // The reference's count: floor(float(n) * float(keep)); 9x9x3 patches at 15 % keep 36 of 243.
        #expect(PatchWhitening.keptComponents(dimension: 243, keep: 0.15) == 36)
        #expect(PatchWhitening.keptComponents(dimension: 3, keep: 0.67) == 2)
        #expect(PatchWhitening.keptComponents(dimension: 3, keep: 0.3) == 0)
    }

    @Test func patchPositionsMomentsAndImageCount() {
        // 1-channel 3x5 images, values (image i, row y, column x) = 10 i + 5 y + x.
        var pixels: [UInt8] = []
        for i in 0..<3 { for p in 0..<15 { pixels.append(UInt8(10 * i + 5 * (p / 5) + p % 5)) } }
        let images = ImageSet(count: 3, height: 3, width: 5, channels: 1, pixels: pixels, labels: [0, 0, 0])
        // 3x3 patches, stride 2: rows {0}, columns {0, 2}: 2 patches per image.
        #expect(PatchWhitening.positions(5, patch: 3, stride: 2) == 2 && PatchWhitening.positions(3, patch: 3, stride: 2) == 1)
        #expect(PatchWhitening.imagesUsed(count: 3, height: 3, width: 5, patch: 3, stride: 2, maxPatches: 3) == 2)
        #expect(PatchWhitening.imagesUsed(count: 3, height: 3, width: 5, patch: 3, stride: 2, maxPatches: 100) == 3)
        let m = PatchWhitening.moments(images, range: 0..<1, patch: 3, stride: 2)
        #expect(m.patches == 2)
        // Image 0: patch at column 0 = [0,1,2, 5,6,7, 10,11,12], at column 2 = [2,3,4, 7,8,9, 12,13,14].
        let p0: [Double] = [0, 1, 2, 5, 6, 7, 10, 11, 12], p1: [Double] = [2, 3, 4, 7, 8, 9, 12, 13, 14]
        #expect(m.sums == zip(p0, p1).map { $0 + $1 })
        for i in 0..<9 { for j in 0..<9 { #expect(m.products[i * 9 + j] == p0[i] * p0[j] + p1[i] * p1[j]) } }
        // Sums over a split of the images equal the sums over all of them, bit for bit (rank invariance).
        let all = PatchWhitening.moments(images, range: 0..<3, patch: 3, stride: 2)
        let a = PatchWhitening.moments(images, range: 0..<1, patch: 3, stride: 2)
        let b = PatchWhitening.moments(images, range: 1..<3, patch: 3, stride: 2)
        #expect(all.sums == zip(a.sums, b.sums).map { $0 + $1 })
        #expect(all.products == zip(a.products, b.products).map { $0 + $1 })
    }

    @Test func fitOnTheHandExample() {
        let w = PatchWhitening.fit(Self.tiny, patch: 1, stride: 1, epsilon: 0.01, keep: 0.67, maxPatches: 1000, comm: LocalCommunicator())
        #expect(w.kept == 2 && w.patches == 4 && w.images == 4)
        let sr = 1 / 0.26.squareRoot(), sg = 1 / 0.05.squareRoot()
        let want: [Double] = [sr * 2 / 3, -sr / 3, -sr / 3,      // r: [1.307441, -0.653720, -0.653720]
                              -sg / 3, sg * 2 / 3, -sg / 3,      // g: [-1.490712, 2.981424, -1.490712]
                              0, 0, 0]                           // b: the component was cut
        #expect(zip(w.filters, want).allSatisfy { abs(Double($0) - $1) < 1e-6 }, "\(w.filters)")
        // Image 3, x = (1, 0.4, 0.2): v_r = sr (1 - 1.6/3) = 0.915209, v_g = sg (0.4 - 1.6/3) = -0.596285, v_b = 0,
        // split by sign into (r+, r-, g+, g-, b+, b-).
        var out = [Float](repeating: -1, count: 6)
        [UInt8]([255, 102, 51]).withUnsafeBufferPointer { img in
            out.withUnsafeMutableBufferPointer { w.apply(image: img, height: 1, width: 1, into: $0) }
        }
        #expect(zip(out, [0.915209, 0, 0, 0.596285, 0, 0] as [Float]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(out)")
        // Keeping one component: only the r filter is left.
        let one = PatchWhitening.fit(Self.tiny, patch: 1, stride: 1, epsilon: 0.01, keep: 0.34, maxPatches: 1000, comm: LocalCommunicator())
        #expect(one.kept == 1 && one.filters[3..<9].allSatisfy { $0 == 0 })
        // max_patches 2: the fit takes the first two images only (r 0 or 1, g 0, b 0.2): a single
        // non-zero eigenvalue, 0.25.
        let two = PatchWhitening.fit(Self.tiny, patch: 1, stride: 1, epsilon: 0.01, keep: 1, maxPatches: 2, comm: LocalCommunicator())
        #expect(two.images == 2 && two.patches == 2)
        #expect(abs(Double(two.filters[0]) - sr * 2 / 3) < 1e-6)
    }

    @Test func filtersAreCorrelatedWithClampedBorders() {
        // 1 channel, 3x3 patch; a filter with 1 at its top-left tap reads pixel (y-1, x-1), clamped.
        var f = [Float](repeating: 0, count: 9)
        f[0] = 1
        let w = PatchWhitening(patch: 3, channels: 1, filters: f, kept: 1, patches: 0, images: 0)
        let image: [UInt8] = [0, 51, 102,
                              153, 204, 255]          // 2 rows x 3 columns, values 0 .. 1 in steps of 0.2
        var out = [Float](repeating: -1, count: 12)
        image.withUnsafeBufferPointer { img in out.withUnsafeMutableBufferPointer { w.apply(image: img, height: 2, width: 3, into: $0) } }
        // Output (y, x) = pixel (max(y-1, 0), max(x-1, 0)): row 0 -> [0, 0, 0.2], row 1 -> [0, 0, 0.2].
        let positive = stride(from: 0, to: 12, by: 2).map { out[$0] }, negative = stride(from: 1, to: 12, by: 2).map { out[$0] }
        #expect(zip(positive, [0, 0, 0.2, 0, 0, 0.2] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(out)")
        #expect(negative.allSatisfy { $0 == 0 })
        // A -1 at the bottom-right tap reads pixel (min(y+1, 1), min(x+1, 2)) into the negative channel.
        f = [Float](repeating: 0, count: 9)
        f[8] = -1
        let v = PatchWhitening(patch: 3, channels: 1, filters: f, kept: 1, patches: 0, images: 0)
        image.withUnsafeBufferPointer { img in out.withUnsafeMutableBufferPointer { v.apply(image: img, height: 2, width: 3, into: $0) } }
        let neg = stride(from: 1, to: 12, by: 2).map { out[$0] }
        #expect(zip(neg, [0.8, 1, 1, 0.8, 1, 1] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(out)")
    }

    @Test func encoderScalesGloballyAndCodesLatencies() throws {
        // The hand example through the whole encoder (keep 0.67, T = 7). Whitened values:
        //   img0 r -0.130744, g -0.298142; img1 r 1.176697, g -1.788854;
        //   img2 r -0.392232, g 0.894427;  img3 r 0.915209, g -0.596285.
        // One global max over all features, 1.788854 (img1 g-), min 0. Step floor((1 - x / max) * 7):
        //   img0 r- 6.49 -> 6, g- 5.83 -> 5; img1 r+ 2.40 -> 2, g- 0; img2 r- 5.47 -> 5, g+ 3.5 -> 3;
        //   img3 r+ 3.42 -> 3, g- 4.67 -> 4; every zero never spikes (255).
        var c = ExperimentConfig.Whitening()
        c.patchSize = 1; c.stride = 1; c.keep = 0.67; c.epsilon = 0.01
        let encoder = Encoder(dog: ExperimentConfig.DoG(size: 7, sigmaCenter: 1, sigmaSurround: 4), whitening: c,
                              timesteps: 7, comm: LocalCommunicator())
        let (data, range) = encoder.encode(Self.tiny, range: nil)
        #expect(data.shape == Shape(height: 1, width: 1, channels: 6))
        #expect(data.times == [255, 6, 255, 5, 255, 255,
                               2, 255, 255, 0, 255, 255,
                               255, 5, 3, 255, 255, 255,
                               3, 255, 255, 4, 255, 255])
        #expect(range.minimum.allSatisfy { $0 == 0 } && range.maximum.allSatisfy { abs($0 - 1.788854) < 1e-5 })
        #expect(encoder.summary.contains("2 of 3 components, fitted on 4 patches of 4 images"), "\(encoder.summary)")
        // A test image with the train set's filters and range: (255, 204, 51), x = (1, 0.8, 0.2):
        // v_r = 1.961161 (1 - 2/3) = 0.653720 -> 0.365441 of max -> step 4; v_g = 4.472136 (0.8 - 2/3) = 0.596285
        // -> 1/3 of max -> step 4.
        let test = ImageSet(count: 1, height: 1, width: 1, channels: 3, pixels: [255, 204, 51], labels: [0])
        let (coded, _) = encoder.encode(test, range: range)
        #expect(coded.times == [4, 255, 4, 255, 255, 255])
    }
}

/// `preprocess.whitening` and the Caltech keys of `dataset`: defaults, resolved config, errors naming the field.
@Suite struct InputConfigTests {
    func load(_ json: [String: Any]) throws -> ExperimentConfig {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-cfg-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return try ExperimentConfig.load(url)
    }

    func base(dataset: [String: Any] = ["format": "cifar10", "path": "data/cifar-10-batches-bin"],
              preprocess: [String: Any]? = nil) -> [String: Any] {
        var c: [String: Any] = [
            "name": "x", "dataset": dataset,
            "layers": [["type": "conv", "kernel": 5, "maps": 4, "epochs": 1, "stdp": ["rule": "multiplicative", "a": 0.1, "b": 1],
                        "threshold": ["init_mean": 10, "target_time": 0.97]]],
        ]
        if let preprocess { c["preprocess"] = preprocess }
        return c
    }

    func message(_ json: [String: Any]) -> String {
        do { _ = try load(json); return "loaded" } catch { return "\(error)" }
    }

    @Test func whiteningDefaultsAndResolvedConfig() throws {
        let c = try load(base(preprocess: ["whitening": [:] as [String: Any]]))
        #expect(c.whitening == ExperimentConfig.Whitening(patchSize: 9, epsilon: 0.01, keep: 0.15, stride: 2, maxPatches: 1_000_000))
        let resolved = c.resolved["preprocess"] as? [String: Any]
        #expect(resolved?["dog"] == nil)
        let w = resolved?["whitening"] as? [String: Any]
        #expect(w?["patch_size"] as? Int == 9 && w?["keep"] as? Double == 0.15 && w?["max_patches"] as? Int == 1_000_000)
        // Without whitening the DoG is resolved as before.
        #expect(try load(base()).whitening == nil)
        // 9x9x3 patches keep 36 components: the shapes check passes on 32x32 RGB.
        _ = try c.checkShapes(input: Shape(height: 32, width: 32, channels: 6), file: "f.json")
    }

    @Test func whiteningErrorsNameTheField() {
        let cases: [([String: Any], String)] = [
            (["whitening": ["patch_size": 8]], "preprocess.whitening.patch_size: must be odd"),
            (["whitening": ["keep": 0]], "preprocess.whitening.keep: must be > 0.0"),
            (["whitening": ["keep": 1.5]], "preprocess.whitening.keep: must be <= 1.0"),
            (["whitening": ["epsilon": -1]], "preprocess.whitening.epsilon: must be > 0.0"),
            (["whitening": ["stride": 0]], "preprocess.whitening.stride: must be at least 1"),
            (["whitening": ["max_patches": 0]], "preprocess.whitening.max_patches: must be at least 1"),
            (["whitening": ["eps": 0.1]], "preprocess.whitening.eps: unknown key"),
            (["whitening": [:] as [String: Any], "dog": [:] as [String: Any]],
             "preprocess.whitening: give either preprocess.dog or preprocess.whitening, not both"),
        ]
        for (p, want) in cases {
            let m = message(base(preprocess: p))
            #expect(m.contains(want), "\(p): \(m)")
        }
    }

    @Test func whiteningChecksAgainstTheImageSize() throws {
        let big = try load(base(preprocess: ["whitening": ["patch_size": 15]]))
        #expect(throws: ConfigError.self) { _ = try big.checkShapes(input: Shape(height: 10, width: 40, channels: 2), file: "f.json") }
        do { _ = try big.checkShapes(input: Shape(height: 10, width: 40, channels: 2), file: "f.json") } catch {
            #expect("\(error)" == "f.json: preprocess.whitening.patch_size: patch 15 does not fit the 10x40 images")
        }
        // 3x3 greyscale patches at keep 0.1: floor(9 * 0.1) = 0 components.
        let none = try load(base(preprocess: ["whitening": ["patch_size": 3, "keep": 0.1]]))
        do { _ = try none.checkShapes(input: Shape(height: 28, width: 28, channels: 2), file: "f.json"); Issue.record("accepted") } catch {
            #expect("\(error)".hasPrefix("f.json: preprocess.whitening.keep: keeps none of the 9 components"), "\(error)")
        }
    }

    @Test func caltechKeys() throws {
        let c = try load(base(dataset: ["format": "caltech", "path": "data/caltech101"]))
        #expect(c.dataset.caltech == CaltechDataset.Options(categories: ["Faces_easy", "Motorbikes"], split: .random(trainPerCategory: 200),
                                                            width: 250, height: 160, grey: .luma, seed: 1))
        let ds = c.resolved["dataset"] as? [String: Any]
        #expect(ds?["categories"] as? [String] == ["Faces_easy", "Motorbikes"] && ds?["train_per_category"] as? Int == 200
                && ds?["split"] as? String == "random" && ds?["grey"] as? String == "luma")
        let f = try load(base(dataset: ["format": "caltech", "path": "p", "split": "folders", "categories": ["Face", "Motor"],
                                        "grey": "blue", "width": 50, "height": 40]))
        #expect(f.dataset.caltech?.split == .folders && f.dataset.caltech?.grey == .blue && f.dataset.caltech?.width == 50)
        let cases: [([String: Any], String)] = [
            (["format": "cifar10", "path": "p", "categories": ["a", "b"]], "dataset.categories: applies to dataset.format \"caltech\" only"),
            (["format": "caltech", "path": "p", "categories": ["a"]], "dataset.categories: needs 2 to 256 category folders"),
            (["format": "caltech", "path": "p", "categories": ["a", "x/y"]], "dataset.categories[1]: \"x/y\" must be a folder name"),
            (["format": "caltech", "path": "p", "categories": ["a", "a"]], "dataset.categories[1]: \"a\" is listed twice"),
            (["format": "caltech", "path": "p", "categories": ["a", 3]], "dataset.categories[1]: expected a non-empty string"),
            (["format": "caltech", "path": "p", "split": "folders", "train_per_category": 10],
             "dataset.train_per_category: applies to split \"random\" only"),
            (["format": "caltech", "path": "p", "split": "halves"], "dataset.split: must be one of random, folders"),
            (["format": "caltech", "path": "p", "grey": "red"], "dataset.grey: must be one of luma, blue"),
            (["format": "caltech", "path": "p", "train_per_category": 0], "dataset.train_per_category: must be at least 1"),
        ]
        for (d, want) in cases {
            let m = message(base(dataset: d))
            #expect(m.contains(want), "\(d): \(m)")
        }
    }
}
