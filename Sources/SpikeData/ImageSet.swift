import Foundation

/// A labelled set of 8-bit images of one size.
///
/// `pixels` holds `count * height * width * channels` bytes, image-major, then row, column,
/// channel (HWC): pixel (row r, column c, channel k) of image i is at
/// `((i * height + r) * width + c) * channels + k`.
public struct ImageSet: Sendable, Equatable {
    public let count: Int
    public let height: Int
    public let width: Int
    public let channels: Int
    public let pixels: [UInt8]
    public let labels: [UInt8]

    public init(count: Int, height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [UInt8]) {
        precondition(count >= 0 && height >= 0 && width >= 0 && channels >= 0,
                     "ImageSet: negative size")
        precondition(pixels.count == count * height * width * channels,
                     "ImageSet: \(pixels.count) pixels for \(count) images of \(height)x\(width)x\(channels)")
        precondition(labels.count == count, "ImageSet: \(labels.count) labels for \(count) images")
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
        self.labels = labels
    }

    /// Bytes per image: `height * width * channels`.
    public var imageSize: Int { height * width * channels }

    /// The first `min(n, count)` images and their labels.
    public func prefix(_ n: Int) -> ImageSet {
        precondition(n >= 0, "ImageSet.prefix: negative count \(n)")
        let m = min(n, count)
        if m == count { return self }
        return ImageSet(count: m, height: height, width: width, channels: channels,
                        pixels: Array(pixels[0..<(m * imageSize)]), labels: Array(labels[0..<m]))
    }
}

/// Loads an MNIST-style data set (MNIST, Fashion-MNIST, ...) stored as IDX files in one
/// directory: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`, each either raw or gzipped with a `.gz` suffix.
public enum IDXDataset {
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test
    }

    /// Number of classes; every label must be below it.
    public static let classCount = 10

    /// File names (without `.gz`) of a split: (images, labels).
    public static func baseNames(_ split: Split) -> (images: String, labels: String) {
        switch split {
        case .train: return ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
        case .test: return ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        }
    }

    /// Loads one split as single-channel images (channels == 1).
    ///
    /// Each file is looked up as `NAME` then `NAME.gz`; the uncompressed one is used when both
    /// exist. Checks that the images are 3-D `[count, rows, columns]`, the labels 1-D, that
    /// both hold the same count and that every label is below `classCount`.
    /// - Parameter limit: keep only the first `limit` images (all when nil).
    /// - Throws: `DataError`.
    public static func load(directory: URL, split: Split, limit: Int? = nil) throws -> ImageSet {
        if let limit { precondition(limit >= 0, "IDXDataset.load: negative limit \(limit)") }
        let names = baseNames(split)
        let imagesURL = try locate(names.images, in: directory)
        let labelsURL = try locate(names.labels, in: directory)

        let images = try readIDX(imagesURL)
        guard images.dims.count == 3 else {
            throw DataError.wrongShape(path: imagesURL.path, dims: images.dims,
                                       expected: "3 dimensions [count, rows, columns]")
        }
        let labels = try readIDX(labelsURL)
        guard labels.dims.count == 1 else {
            throw DataError.wrongShape(path: labelsURL.path, dims: labels.dims, expected: "1 dimension [count]")
        }
        guard images.dims[0] == labels.dims[0] else {
            throw DataError.countMismatch(imagesPath: imagesURL.path, images: images.dims[0],
                                          labelsPath: labelsURL.path, labels: labels.dims[0])
        }
        let bad = labels.data.withUnsafeBufferPointer { buf -> Int? in
            var maxLabel: UInt8 = 0
            for v in buf { maxLabel = max(maxLabel, v) }  // vectorises; locate only on failure
            guard Int(maxLabel) >= classCount else { return nil }
            return buf.firstIndex { Int($0) >= classCount }
        }
        if let bad {
            throw DataError.labelOutOfRange(path: labelsURL.path, index: bad, value: labels.data[bad],
                                            classCount: classCount)
        }
        let set = ImageSet(count: images.dims[0], height: images.dims[1], width: images.dims[2], channels: 1,
                           pixels: images.data, labels: labels.data)
        if let limit { return set.prefix(limit) }
        return set
    }

    private static func locate(_ name: String, in directory: URL) throws -> URL {
        let candidates = [name, name + ".gz"]
        for candidate in candidates {
            let url = directory.appendingPathComponent(candidate)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return url
            }
        }
        throw DataError.missingDatasetFile(directory: directory.path, candidates: candidates)
    }
}
