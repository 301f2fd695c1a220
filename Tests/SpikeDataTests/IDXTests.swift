import Foundation
import Testing
import SpikeData

// MARK: - Helpers

/// A fresh temporary directory, removed by `cleanup()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("spikedata-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// The bytes of an IDX file: 00 00 type ndims, big-endian dims, data.
func idxBytes(dims: [Int], data: [UInt8], type: UInt8 = 0x08, magicPrefix: [UInt8] = [0, 0]) -> [UInt8] {
    var out = magicPrefix + [type, UInt8(dims.count)]
    for d in dims {
        out += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
    }
    return out + data
}

/// gzip-compresses with /bin/gzip (-n: no name or time stamp).
func gzipBytes(_ bytes: [UInt8]) throws -> [UInt8] {
    let dir = try TempDir()
    defer { dir.cleanup() }
    let input = dir.file("in")
    try Data(bytes).write(to: input)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", "-f", input.path]
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "gzip failed")
    return [UInt8](try Data(contentsOf: dir.file("in.gz")))
}

func write(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

/// Deterministic pseudo-random bytes.
func pseudoRandomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 32)
    }
}

/// Runs `body`, expecting a `DataError`, and returns it.
func expectDataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError, got none", sourceLocation: sourceLocation)
    } catch let error as DataError {
        return error
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

// MARK: - readIDX

@Suite struct ReadIDXTests {
    @Test func rawImagesRoundTrip() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let data: [UInt8] = Array(0..<12).map { UInt8($0 * 20) }
        let url = dir.file("images-idx3-ubyte")
        try write(idxBytes(dims: [3, 2, 2], data: data), to: url)
        let array = try readIDX(url)
        #expect(array.dims == [3, 2, 2])
        #expect(array.data == data)
    }

    @Test func gzippedLabelsRoundTrip() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let labels: [UInt8] = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
        let url = dir.file("labels-idx1-ubyte.gz")
        try write(try gzipBytes(idxBytes(dims: [10], data: labels)), to: url)
        let array = try readIDX(url)
        #expect(array.dims == [10])
        #expect(array.data == labels)
    }

    @Test func gzippedLargeAndMultiMember() throws {
        // Two concatenated gzip members (like `cat a.gz b.gz`): the trailer's size hint is
        // that of the small last member only, so the output buffer has to grow many times.
        let dir = try TempDir()
        defer { dir.cleanup() }
        let data = pseudoRandomBytes(500 * 28 * 28, seed: 42)
        let bytes = idxBytes(dims: [500, 28, 28], data: data)
        let cut = bytes.count - 100
        let gz = try gzipBytes(Array(bytes[0..<cut])) + gzipBytes(Array(bytes[cut...]))
        let url = dir.file("multi.gz")
        try write(gz, to: url)
        let array = try readIDX(url)
        #expect(array.dims == [500, 28, 28])
        #expect(array.data == data)
    }

    @Test func emptyArray() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("empty")
        try write(idxBytes(dims: [0, 28, 28], data: []), to: url)
        let array = try readIDX(url)
        #expect(array.dims == [0, 28, 28])
        #expect(array.data.isEmpty)
    }

    @Test func truncatedRawFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("short-idx3-ubyte")
        try write(idxBytes(dims: [2, 3, 3], data: Array(repeating: 1, count: 11)), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .truncated(path: url.path, expected: 18, found: 11))
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.description.contains("expected 18 bytes of data, found 11") == true)
    }

    @Test func truncatedInsideGzip() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("short-idx1-ubyte.gz")
        try write(try gzipBytes(idxBytes(dims: [100], data: Array(repeating: 3, count: 60))), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .truncated(path: url.path, expected: 100, found: 60))
        #expect(error?.description == "\(url.path): truncated: expected 100 bytes of data, found 60")
    }

    @Test func truncatedHeader() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("header")
        try write([0, 0, 8, 3, 0, 0, 0], to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .truncatedHeader(path: url.path, expected: 16, found: 7))
    }

    @Test func trailingData() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("long")
        try write(idxBytes(dims: [4], data: [1, 2, 3, 4, 5]), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .trailingData(path: url.path, expected: 4, found: 5))
    }

    @Test func cutGzipStreamIsCorrupt() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let gz = try gzipBytes(idxBytes(dims: [1000], data: pseudoRandomBytes(1000, seed: 7)))
        let url = dir.file("cut.gz")
        try write(Array(gz[0..<(gz.count / 2)]), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        guard case let .corruptGzip(path, _) = error else {
            Issue.record("expected corruptGzip, got \(String(describing: error))")
            return
        }
        #expect(path == url.path)
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.description.contains("not gzip-decodable") == true)
    }

    @Test func garbageAfterGzipMagicIsCorrupt() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("garbage.gz")
        try write([0x1F, 0x8B] + pseudoRandomBytes(200, seed: 3), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        guard case .corruptGzip(url.path, _) = error else {
            Issue.record("expected corruptGzip, got \(String(describing: error))")
            return
        }
    }

    @Test func missingFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("nope-idx3-ubyte.gz")
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .missingFile(path: url.path))
        #expect(error?.description == "\(url.path): no such file")
    }

    @Test func wrongMagic() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("magic")
        try write(idxBytes(dims: [2], data: [1, 2], magicPrefix: [0x12, 0x34]), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .badMagic(path: url.path, magic: 0x1234_0801))
        #expect(error?.description.contains("0x12340801") == true)
        #expect(error?.description.contains(url.path) == true)

        let zeroDims = dir.file("zero-dims")
        try write([0, 0, 8, 0], to: zeroDims)
        #expect(expectDataError { _ = try readIDX(zeroDims) } == .badMagic(path: zeroDims.path, magic: 0x0000_0800))
    }

    @Test func unsupportedType() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let url = dir.file("floats")
        try write(idxBytes(dims: [1], data: [0, 0, 0, 0], type: 0x0D), to: url)
        let error = expectDataError { _ = try readIDX(url) }
        #expect(error == .unsupportedType(path: url.path, typeCode: 0x0D))
        #expect(error?.description.contains("0xD") == true)
    }
}

// MARK: - IDXDataset / ImageSet

@Suite struct IDXDatasetTests {
    /// Writes a split: `count` images of 3x4 where pixel = image*16 + row*4 + column.
    func writeSplit(_ dir: TempDir, _ split: IDXDataset.Split, count: Int, labels: [UInt8],
                    gzip: Bool, labelCount: Int? = nil) throws -> [UInt8] {
        let names = IDXDataset.baseNames(split)
        let pixels = (0..<(count * 12)).map { UInt8(truncatingIfNeeded: ($0 / 12) * 16 + $0 % 12) }
        let images = idxBytes(dims: [count, 3, 4], data: pixels)
        let labelFile = idxBytes(dims: [labelCount ?? labels.count], data: labels)
        try write(gzip ? gzipBytes(images) : images, to: dir.file(names.images + (gzip ? ".gz" : "")))
        try write(gzip ? gzipBytes(labelFile) : labelFile, to: dir.file(names.labels + (gzip ? ".gz" : "")))
        return pixels
    }

    @Test func loadsRawAndGzippedSplits() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let trainPixels = try writeSplit(dir, .train, count: 5, labels: [3, 1, 4, 1, 5], gzip: false)
        let testPixels = try writeSplit(dir, .test, count: 2, labels: [9, 0], gzip: true)

        let train = try IDXDataset.load(directory: dir.url, split: .train)
        #expect(train.count == 5 && train.height == 3 && train.width == 4 && train.channels == 1)
        #expect(train.pixels == trainPixels)
        #expect(train.labels == [3, 1, 4, 1, 5])
        // image 2, row 1, column 3 (HWC with one channel)
        #expect(train.pixels[(2 * 3 + 1) * 4 + 3] == 2 * 16 + 1 * 4 + 3)

        let test = try IDXDataset.load(directory: dir.url, split: .test)
        #expect(test.count == 2 && test.labels == [9, 0] && test.pixels == testPixels)

        let limited = try IDXDataset.load(directory: dir.url, split: .train, limit: 2)
        #expect(limited.count == 2 && limited.labels == [3, 1])
        #expect(limited.pixels == Array(trainPixels[0..<24]))
        #expect(try IDXDataset.load(directory: dir.url, split: .train, limit: 99) == train)
    }

    @Test func prefix() {
        let set = ImageSet(count: 3, height: 1, width: 2, channels: 2, pixels: Array(0..<12), labels: [0, 1, 2])
        let p = set.prefix(2)
        #expect(p.count == 2 && p.height == 1 && p.width == 2 && p.channels == 2)
        #expect(p.pixels == Array(0..<8) && p.labels == [0, 1])
        #expect(set.prefix(0).count == 0 && set.prefix(0).pixels.isEmpty)
        #expect(set.prefix(10) == set)
        #expect(set.imageSize == 4)
    }

    @Test func missingFilesNameBothCandidates() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let error = expectDataError { _ = try IDXDataset.load(directory: dir.url, split: .test) }
        #expect(error == .missingDatasetFile(directory: dir.url.path,
                                             candidates: ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"]))
        let text = error?.description ?? ""
        #expect(text.contains("t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz"))
        #expect(text.contains(dir.url.path))
    }

    @Test func labelCountMismatch() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        _ = try writeSplit(dir, .train, count: 4, labels: [1, 2, 3], gzip: true)
        let error = expectDataError { _ = try IDXDataset.load(directory: dir.url, split: .train) }
        let names = IDXDataset.baseNames(.train)
        #expect(error == .countMismatch(imagesPath: dir.file(names.images + ".gz").path, images: 4,
                                        labelsPath: dir.file(names.labels + ".gz").path, labels: 3))
        #expect(error?.description.contains("4 images") == true)
        #expect(error?.description.contains("3 labels") == true)
    }

    @Test func labelOutOfRange() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        _ = try writeSplit(dir, .test, count: 3, labels: [1, 10, 2], gzip: false)
        let error = expectDataError { _ = try IDXDataset.load(directory: dir.url, split: .test) }
        let labelsPath = dir.file(IDXDataset.baseNames(.test).labels).path
        #expect(error == .labelOutOfRange(path: labelsPath, index: 1, value: 10, classCount: 10))
        #expect(error?.description.contains(labelsPath) == true)
    }

    @Test func imagesMustBe3D() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let names = IDXDataset.baseNames(.test)
        try write(idxBytes(dims: [2, 6], data: Array(repeating: 0, count: 12)), to: dir.file(names.images))
        try write(idxBytes(dims: [2], data: [0, 1]), to: dir.file(names.labels))
        let error = expectDataError { _ = try IDXDataset.load(directory: dir.url, split: .test) }
        #expect(error == .wrongShape(path: dir.file(names.images).path, dims: [2, 6],
                                     expected: "3 dimensions [count, rows, columns]"))
    }

    @Test func prefersUncompressedWhenBothExist() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        _ = try writeSplit(dir, .test, count: 2, labels: [1, 2], gzip: true)
        _ = try writeSplit(dir, .test, count: 1, labels: [7], gzip: false)
        #expect(try IDXDataset.load(directory: dir.url, split: .test).labels == [7])
    }
}

// MARK: - Real data sets

/// The read-only MNIST copy in the project's shared/ folder: `$SPINNPRUNE_MNIST_DIR`, else
/// `shared/datasets/mnist` beside the repository (as laid out for sessions and CI), else
/// `/work/shared/datasets/mnist`, else the repository's `data/mnist` (launch/get-datasets).
func mnistDirectory() -> URL? {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var candidates = [URL]()
    if let env = ProcessInfo.processInfo.environment["SPINNPRUNE_MNIST_DIR"] {
        candidates.append(URL(fileURLWithPath: env))
    }
    candidates += [
        repo.deletingLastPathComponent().appendingPathComponent("shared/datasets/mnist"),
        URL(fileURLWithPath: "/work/shared/datasets/mnist"),
        repo.appendingPathComponent("data/mnist"),
    ]
    return candidates.first {
        FileManager.default.fileExists(atPath: $0.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path)
    }
}

func classCounts(_ labels: [UInt8]) -> [Int] {
    var counts = [Int](repeating: 0, count: 10)
    for l in labels { counts[Int(l)] += 1 }
    return counts
}

@Suite struct RealDatasetTests {
    static let mnistTestCounts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    static let mnistTrainCounts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]

    @Test func mnistTestLabels() throws {
        let dir = try #require(mnistDirectory(), "MNIST not found: shared/datasets/mnist or data/mnist (run launch/get-datasets)")
        let labels = try readIDX(dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        #expect(labels.dims == [10000])
        #expect(labels.data.count == 10000)
        #expect(classCounts(labels.data) == Self.mnistTestCounts)
    }

    @Test func mnistTrainLoads() throws {
        let dir = try #require(mnistDirectory(), "MNIST not found: shared/datasets/mnist or data/mnist (run launch/get-datasets)")
        let start = Date()
        let train = try IDXDataset.load(directory: dir, split: .train)
        let seconds = Date().timeIntervalSince(start)
        print("MNIST train (60000 images) loaded in \(String(format: "%.3f", seconds)) s")
        #expect(train.count == 60000 && train.height == 28 && train.width == 28 && train.channels == 1)
        #expect(classCounts(train.labels) == Self.mnistTrainCounts)
        #expect(seconds < 10, "loading MNIST train took \(seconds) s")
    }

    @Test func fashionMNISTLoads() throws {
        let dir = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        try #require(FileManager.default.fileExists(atPath: dir.path),
                     "Fashion-MNIST missing at \(dir.path): install the Debian package dataset-fashion-mnist (launch/get-datasets --fashion)")
        let train = try IDXDataset.load(directory: dir, split: .train)
        let test = try IDXDataset.load(directory: dir, split: .test)
        #expect(train.count == 60000 && test.count == 10000)
        #expect(train.height == 28 && train.width == 28 && test.height == 28 && test.width == 28)
        #expect(classCounts(train.labels) == Array(repeating: 6000, count: 10))
        #expect(classCounts(test.labels) == Array(repeating: 1000, count: 10))
    }
}
