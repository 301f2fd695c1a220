import Foundation
import SpikeData
import SpikeModel

// The config of the input pipeline beyond the DoG: patch whitening (`preprocess.whitening`) and the
// Caltech loader (`dataset.format: "caltech"`). See docs/CONFIG.md.
extension ExperimentConfig {
    /// Patch whitening, the reference's CIFAR-10 pre-processing, instead of the DoG (`PatchWhitening`).
    public struct Whitening: Sendable, Equatable {
        /// Square patches of this side (odd).
        public var patchSize = 9
        /// Added to every eigenvalue before the inverse square root.
        public var epsilon = 0.01
        /// Fraction of the `patch^2 * channels` principal components kept.
        public var keep = 0.15
        /// Step between the patches the fit takes, in both directions.
        public var stride = 2
        /// The fit takes whole training images, in order, until it has at least this many patches.
        public var maxPatches = 1_000_000
    }

    /// Reads `preprocess.whitening` (nil when absent). `dog` is the `preprocess.dog` object, if given.
    static func readWhitening(_ p: ConfigReader?, dog: ConfigReader?) throws -> Whitening? {
        guard let p, let w = try p.object("whitening", required: false) else { return nil }
        if dog != nil { throw p.fail("whitening", "give either preprocess.dog or preprocess.whitening, not both") }
        var out = Whitening()
        out.patchSize = try w.int("patch_size", default: out.patchSize, min: 1, max: 15)
        if out.patchSize % 2 == 0 {
            throw w.fail("patch_size", "must be odd (each filter is centred on a pixel), got \(out.patchSize)")
        }
        out.epsilon = try w.double("epsilon", default: out.epsilon, min: 0, max: 1e6, openMin: true)
        out.keep = try w.double("keep", default: out.keep, min: 0, max: 1, openMin: true)
        out.stride = try w.int("stride", default: out.stride, min: 1, max: 4096)
        out.maxPatches = try w.int("max_patches", default: out.maxPatches, min: 1, max: 100_000_000)
        try w.rejectUnknownKeys()
        return out
    }

    /// Reads the Caltech keys of `dataset` (nil for other formats, where they are errors).
    static func readCaltech(_ d: ConfigReader, format: String, seed: UInt64) throws -> CaltechDataset.Options? {
        let keys = ["categories", "split", "train_per_category", "grey", "width", "height"]
        guard format == "caltech" else {
            if let k = keys.first(where: { d.has($0) }) { throw d.fail(k, "applies to dataset.format \"caltech\" only") }
            return nil
        }
        var o = CaltechDataset.Options(seed: seed)
        o.categories = try d.strings("categories", default: o.categories)
        if o.categories.count < 2 || o.categories.count > 256 {
            throw d.fail("categories", "needs 2 to 256 category folders (one per class), got \(o.categories.count)")
        }
        for (i, c) in o.categories.enumerated() {
            let field = "\(d.field("categories"))[\(i)]"
            if c.contains("/") || c == "." || c == ".." {
                throw ConfigError(file: d.file, field: field, message: "\"\(c)\" must be a folder name, not a path")
            }
            if o.categories[..<i].contains(c) {
                throw ConfigError(file: d.file, field: field, message: "\"\(c)\" is listed twice")
            }
        }
        let split = try d.string("split", default: "random", oneOf: ["random", "folders"])
        if split == "folders" {
            if d.has("train_per_category") {
                throw d.fail("train_per_category", "applies to split \"random\" only (with \"folders\" the split is on disk)")
            }
            o.split = .folders
        } else {
            o.split = .random(trainPerCategory: try d.int("train_per_category", default: 200, min: 1, max: 1 << 24))
        }
        o.width = try d.int("width", default: o.width, min: 1, max: 4096)
        o.height = try d.int("height", default: o.height, min: 1, max: 4096)
        o.grey = JPEG.Grey(rawValue: try d.string("grey", default: "luma", oneOf: JPEG.Grey.allCases.map(\.rawValue)))!
        return o
    }

    /// The checks of the input pipeline that need the image size: the whitening patch must fit the
    /// images and keep at least one component.
    func checkInput(_ input: Shape, file: String) throws {
        guard let w = whitening else { return }
        let channels = input.channels / 2
        if w.patchSize > min(input.height, input.width) {
            throw ConfigError(file: file, field: "preprocess.whitening.patch_size",
                              message: "patch \(w.patchSize) does not fit the \(input.height)x\(input.width) images")
        }
        let n = w.patchSize * w.patchSize * channels
        if PatchWhitening.keptComponents(dimension: n, keep: w.keep) < 1 {
            throw ConfigError(file: file, field: "preprocess.whitening.keep",
                              message: "keeps none of the \(n) components of a \(w.patchSize)x\(w.patchSize)x\(channels) patch (floor(\(n) x \(w.keep)) = 0)")
        }
    }

    /// `preprocess` as written to the run directory.
    var resolvedPreprocess: [String: Any] {
        if let w = whitening {
            return ["whitening": ["patch_size": w.patchSize, "epsilon": w.epsilon, "keep": w.keep, "stride": w.stride,
                                  "max_patches": w.maxPatches]]
        }
        return ["dog": ["size": dog.size, "sigma_center": dog.sigmaCenter, "sigma_surround": dog.sigmaSurround,
                        "colour": dog.opponent ? "opponent" : "per_channel"]]
    }

    /// `dataset` as written to the run directory.
    var resolvedDataset: [String: Any] {
        var ds: [String: Any] = ["format": dataset.format, "path": dataset.path]
        if let t = dataset.trainLimit { ds["train_limit"] = t }
        if let t = dataset.testLimit { ds["test_limit"] = t }
        if let c = dataset.caltech {
            ds["categories"] = c.categories
            ds["width"] = c.width
            ds["height"] = c.height
            ds["grey"] = c.grey.rawValue
            switch c.split {
            case .folders: ds["split"] = "folders"
            case .random(let n): ds["split"] = "random"; ds["train_per_category"] = n
            }
        }
        return ds
    }
}

extension ExperimentConfig.Dataset {
    /// Loads one split of a `caltech` data set.
    func loadCaltech(_ split: IDXDataset.Split, limit: Int?) throws -> ImageSet {
        guard let caltech else { throw RunError("dataset.format \"caltech\" without its options") }
        return try CaltechDataset.load(directory: URL(fileURLWithPath: path), split: split, options: caltech, limit: limit)
    }
}
