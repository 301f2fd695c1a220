import Foundation

/// Caltech-101 categories as a classification data set (the reference's Faces/Motorbikes task):
/// one folder of JPEG files per category, e.g. `101_ObjectCategories/Faces_easy/image_0001.jpg` and
/// `101_ObjectCategories/Motorbikes/image_0001.jpg`. The label of an image is the index of its
/// category in `categories`. Every image is decoded to one channel and resized, ignoring its aspect
/// ratio, to `width` x `height` (250 x 160 in the reference).
///
/// Split (the official data has none):
/// - `random`: each category's files, sorted by name, are shuffled by a stream of `seed`; the first
///   `trainPerCategory` are the training images, the rest the test images.
/// - `folders`: the split is on disk, as the reference simulator reads it:
///   `TrainingSet/<category>/` and `TestingSet/<category>/`.
/// Either way a split's images come in an order shuffled by `seed` (categories mixed), so that a
/// `limit` keeps a sample of every category.
public enum CaltechDataset {
    public enum SplitRule: Sendable, Equatable {
        case random(trainPerCategory: Int)
        case folders
    }

    public struct Options: Sendable, Equatable {
        public var categories: [String]
        public var split: SplitRule
        public var width: Int
        public var height: Int
        public var grey: JPEG.Grey
        public var seed: UInt64

        public init(categories: [String] = ["Faces_easy", "Motorbikes"], split: SplitRule = .random(trainPerCategory: 200),
                    width: Int = 250, height: Int = 160, grey: JPEG.Grey = .luma, seed: UInt64 = 1) {
            self.categories = categories; self.split = split; self.width = width; self.height = height
            self.grey = grey; self.seed = seed
        }
    }

    /// The folder of `category` for `split`: `<dir>/<category>` or `<dir>/101_ObjectCategories/<category>`
    /// for the random split, `<dir>/TrainingSet/<category>` or `<dir>/TestingSet/<category>` for folders.
    public static func categoryDirectory(_ directory: URL, category: String, split: IDXDataset.Split,
                                         rule: SplitRule) throws -> URL {
        let candidates: [URL]
        switch rule {
        case .random:
            candidates = [directory.appendingPathComponent(category),
                          directory.appendingPathComponent("101_ObjectCategories").appendingPathComponent(category)]
        case .folders:
            candidates = [directory.appendingPathComponent(split == .train ? "TrainingSet" : "TestingSet")
                .appendingPathComponent(category)]
        }
        for c in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: c.path, isDirectory: &isDirectory), isDirectory.boolValue { return c }
        }
        throw DataError.missingDirectory(candidates: candidates.map(\.path))
    }

    /// The JPEG files (`*.jpg`, `*.jpeg`, any case; hidden files skipped) of a folder, sorted by name.
    public static func jpegFiles(in directory: URL) throws -> [URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw DataError.unreadable(path: directory.path, reason: "\(error)")
        }
        let jpegs = names.filter { name in
            let lower = name.lowercased()
            return !name.hasPrefix(".") && (lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg"))
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if jpegs.isEmpty { throw DataError.emptyDirectory(path: directory.path, expected: "JPEG files (*.jpg, *.jpeg)") }
        return jpegs.map { directory.appendingPathComponent($0) }
    }

    /// The files and labels of one split, in their shuffled order.
    public static func files(directory: URL, split: IDXDataset.Split, options: Options) throws -> [(url: URL, label: UInt8)] {
        precondition(!options.categories.isEmpty && options.categories.count <= 256, "CaltechDataset: 1 to 256 categories")
        var chosen: [(url: URL, label: UInt8)] = []
        for (c, category) in options.categories.enumerated() {
            let dir = try categoryDirectory(directory, category: category, split: split, rule: options.split)
            let all = try jpegFiles(in: dir)
            switch options.split {
            case .folders:
                chosen += all.map { ($0, UInt8(c)) }
            case .random(let perCategory):
                guard all.count > perCategory else {
                    throw DataError.tooFewImages(path: dir.path, found: all.count, needed: perCategory + 1,
                                                 reason: "\(perCategory) training images per category and at least one to test")
                }
                var rng = SplitMix64(seed: options.seed, 0x4341_4C54_4543_4800, UInt64(c))   // "CALTECH", category
                let order = rng.permutation(all.count)
                let part = split == .train ? order[..<perCategory] : order[perCategory...]
                chosen += part.map { (all[$0], UInt8(c)) }
            }
        }
        var rng = SplitMix64(seed: options.seed, 0x4F52_4445_5200, split == .train ? 0 : 1)    // "ORDER", split
        return rng.permutation(chosen.count).map { chosen[$0] }
    }

    /// Loads one split: decodes and resizes its images (only the first `limit` when given).
    /// - Throws: `DataError` naming the folder or file: missing or empty category folder, a split
    ///   that leaves no test image, a JPEG that does not decode.
    public static func load(directory: URL, split: IDXDataset.Split, options: Options, limit: Int? = nil) throws -> ImageSet {
        var list = try files(directory: directory, split: split, options: options)
        if let limit { list = Array(list.prefix(limit)) }
        let per = options.width * options.height
        var pixels = [UInt8](repeating: 0, count: list.count * per)
        for (i, entry) in list.enumerated() {
            let image = try JPEG.read(entry.url, grey: options.grey)
            let resized = (image.width, image.height) == (options.width, options.height)
                ? image.pixels : resample(image, width: options.width, height: options.height)
            pixels.replaceSubrange((i * per)..<((i + 1) * per), with: resized)
        }
        return ImageSet(count: list.count, height: options.height, width: options.width, channels: 1,
                        pixels: pixels, labels: list.map(\.label))
    }
}

/// SplitMix64 keyed like the model's random streams (named by seed and purpose, never by rank), for
/// the data split: SpikeData does not depend on the model.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64, _ keys: UInt64...) {
        var s = seed &+ 0x9E37_79B9_7F4A_7C15
        for k in keys { s = SplitMix64.mix(s ^ SplitMix64.mix(k &+ 0xD1B5_4A32_D192_ED03)) }
        state = s
    }

    static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Fisher-Yates shuffle of 0..<n.
    mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(i, Int((UInt128(next()) * UInt128(i + 1)) >> 64))
            }
        }
        return p
    }
}
