import Foundation

/// Reads a whole file (raw bytes), with the dataset errors.
func readWholeFile(_ url: URL) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw DataError.missingFile(path: url.path)
    }
    do { return try Data(contentsOf: url, options: .mappedIfSafe) } catch {
        throw DataError.unreadable(path: url.path, reason: "\(error)")
    }
}

/// CIFAR-10, binary version (`cifar-10-batches-bin/`): `data_batch_1.bin` ... `data_batch_5.bin` and
/// `test_batch.bin`, each a sequence of records of 1 label byte and 3072 pixel bytes (the 1024 red,
/// then green, then blue values of a 32x32 image, row-major). Images come out HWC, RGB.
public enum CIFAR10Dataset {
    public static let recordSize = 1 + 3 * 32 * 32

    public static func files(_ split: IDXDataset.Split) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    public static func load(directory: URL, split: IDXDataset.Split, limit: Int? = nil) throws -> ImageSet {
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for name in files(split) {
            if let limit, labels.count >= limit { break }
            let url = directory.appendingPathComponent(name)
            let data = try readWholeFile(url)
            guard data.count % recordSize == 0, data.count > 0 else {
                throw DataError.truncated(path: url.path, expected: (data.count / recordSize + 1) * recordSize, found: data.count)
            }
            var n = data.count / recordSize
            if let limit { n = min(n, limit - labels.count) }
            pixels.reserveCapacity(pixels.count + n * 3072)
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var image = [UInt8](repeating: 0, count: 3072)
                for i in 0..<n {
                    let r = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + i * recordSize
                    guard r[0] < 10 else { throw DataError.labelOutOfRange(path: url.path, index: i, value: r[0], classCount: 10) }
                    labels.append(r[0])
                    // Planar (CHW) to interleaved (HWC).
                    for p in 0..<1024 { for c in 0..<3 { image[p * 3 + c] = r[1 + c * 1024 + p] } }
                    pixels += image
                }
            }
        }
        return ImageSet(count: labels.count, height: 32, width: 32, channels: 3, pixels: pixels, labels: labels)
    }
}

/// STL-10, binary version (`stl10_binary/`): `train_X.bin` / `test_X.bin` hold uint8 images of
/// 3x96x96 stored column-major per channel (as MATLAB writes them), `train_y.bin` / `test_y.bin` one
/// label byte per image, 1 to 10. Images come out HWC, RGB, labels 0 to 9.
public enum STL10Dataset {
    public static let side = 96

    public static func load(directory: URL, split: IDXDataset.Split, limit: Int? = nil) throws -> ImageSet {
        let prefix = split == .train ? "train" : "test"
        let xURL = directory.appendingPathComponent("\(prefix)_X.bin")
        let yURL = directory.appendingPathComponent("\(prefix)_y.bin")
        let x = try readWholeFile(xURL), y = try readWholeFile(yURL)
        let per = 3 * side * side
        guard x.count % per == 0 else {
            throw DataError.truncated(path: xURL.path, expected: (x.count / per + 1) * per, found: x.count)
        }
        guard x.count / per == y.count else {
            throw DataError.countMismatch(imagesPath: xURL.path, images: x.count / per, labelsPath: yURL.path, labels: y.count)
        }
        let n = min(y.count, limit ?? y.count)
        var labels = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let v = y[y.startIndex + i]
            guard v >= 1 && v <= 10 else { throw DataError.labelOutOfRange(path: yURL.path, index: i, value: v, classCount: 10) }
            labels[i] = v - 1
        }
        var pixels = [UInt8](repeating: 0, count: n * per)
        x.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let src = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let s = src + i * per, d = dst.baseAddress! + i * per
                    // Column-major planes: value (row y, column x, channel c) at c*96*96 + x*96 + y.
                    for c in 0..<3 { for xx in 0..<side { for yy in 0..<side {
                        d[(yy * side + xx) * 3 + c] = s[c * side * side + xx * side + yy]
                    } } }
                }
            }
        }
        return ImageSet(count: n, height: side, width: side, channels: 3, pixels: pixels, labels: labels)
    }
}
