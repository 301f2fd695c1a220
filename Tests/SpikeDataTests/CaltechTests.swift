import Foundation
import Testing
@testable import SpikeData

/// JPEG decoding through libjpeg, resampling, and the Caltech-101 folder loader, on small JPEG files
/// written here with libjpeg. Images are made of constant 8x8 blocks, which a quality-100 greyscale
/// JPEG reproduces exactly, so decoded and resized pixels can be checked for equality.
@Suite struct CaltechTests {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-caltech-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// A 16-row x 24-column greyscale image: columns 0-7 are `left`, columns 8-23 `right`.
    func twoTone(left: UInt8, right: UInt8) -> [UInt8] {
        (0..<(16 * 24)).map { $0 % 24 < 8 ? left : right }
    }

    func writeJPEG(_ pixels: [UInt8], width: Int, height: Int, channels: Int = 1, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JPEG.encode(pixels: pixels, width: width, height: height, channels: channels, quality: 100).write(to: url)
    }

    // MARK: JPEG

    @Test func greyscaleBlocksRoundTripExactly() throws {
        // 16x16: blocks 10 | 200 over 90 | 255.
        let px: [UInt8] = (0..<256).map { i in
            let (y, x) = (i / 16, i % 16)
            return y < 8 ? (x < 8 ? 10 : 200) : (x < 8 ? 90 : 255)
        }
        let data = try JPEG.encode(pixels: px, width: 16, height: 16)
        #expect(data.prefix(2) == Data([0xFF, 0xD8]))
        let image = try JPEG.decode(data, path: "mem.jpg")
        #expect(image.width == 16 && image.height == 16)
        #expect(image.pixels == px)
        #expect(try JPEG.decode(data, path: "mem.jpg", grey: .blue).pixels == px, "a greyscale file gives its grey in blue mode too")
    }

    @Test func colourDecodesToLumaOrBlue() throws {
        // Constant R 200, G 100, B 50: luma 0.299*200 + 0.587*100 + 0.114*50 = 124.2, blue 50
        // (JPEG's colour conversion rounds, so within 2).
        let px = [UInt8]((0..<(16 * 16)).flatMap { _ in [200, 100, 50] as [UInt8] })
        let data = try JPEG.encode(pixels: px, width: 16, height: 16, channels: 3)
        let luma = try JPEG.decode(data, path: "c.jpg", grey: .luma), blue = try JPEG.decode(data, path: "c.jpg", grey: .blue)
        #expect(luma.pixels.allSatisfy { abs(Int($0) - 124) <= 2 }, "\(luma.pixels.prefix(4))")
        #expect(blue.pixels.allSatisfy { abs(Int($0) - 50) <= 2 }, "\(blue.pixels.prefix(4))")
    }

    @Test func corruptJPEGsAreErrorsNamingTheFile() throws {
        let good = try JPEG.encode(pixels: [UInt8](repeating: 77, count: 256), width: 16, height: 16)
        func reason(_ data: Data) -> String? {
            do { _ = try JPEG.decode(data, path: "/x/bad.jpg"); return nil } catch let DataError.corruptImage(path, reason) {
                #expect(path == "/x/bad.jpg")
                return reason
            } catch { return "unexpected \(error)" }
        }
        #expect(reason(Data("not a jpeg at all".utf8))?.contains("Not a JPEG file") == true)
        #expect(reason(good.prefix(good.count / 2))?.contains("Premature end") == true)
        #expect(reason(Data()) == "empty file")
        let message = DataError.corruptImage(path: "/x/bad.jpg", reason: "Not a JPEG file").description
        #expect(message == "/x/bad.jpg: not a decodable image: Not a JPEG file")
    }

    // MARK: Resampling

    @Test func shrinkingAveragesTheCoveredPixels() {
        // 3 -> 2 columns: out0 covers [0, 1.5): (0 + 0.5 * 90) / 1.5 = 30; out1 covers [1.5, 3): (0.5 * 90 + 180) / 1.5 = 150.
        let row = JPEG.Image(width: 3, height: 1, pixels: [0, 90, 180])
        #expect(resample(row, width: 2, height: 1) == [30, 150])
        // 4x4 -> 2x2: means of the 2x2 blocks; (1 + 2 + 5 + 7) / 4 = 3.75 rounds to 4.
        let square = JPEG.Image(width: 4, height: 4, pixels: [1, 2, 10, 20,
                                                              5, 7, 30, 40,
                                                              100, 100, 0, 0,
                                                              100, 101, 0, 1])
        #expect(resample(square, width: 2, height: 2) == [4, 25, 100, 0])
        // Halves round up: (100 + 100 + 100 + 101) / 4 = 100.25 -> 100; (0 + 1) / 2 = 0.5 -> 1.
        #expect(resample(JPEG.Image(width: 2, height: 1, pixels: [0, 1]), width: 1, height: 1) == [1])
    }

    @Test func enlargingInterpolatesBetweenPixelCentres() {
        // 2 -> 4: output centres at input -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        #expect(resample(JPEG.Image(width: 2, height: 1, pixels: [0, 100]), width: 4, height: 1) == [0, 25, 75, 100])
        // Same size: unchanged.
        let img = JPEG.Image(width: 3, height: 2, pixels: [1, 2, 3, 4, 5, 6])
        #expect(resample(img, width: 3, height: 2) == img.pixels)
    }

    // MARK: Loader

    /// 5 faces (left half 10 + 10 i, right 200) and 6 motorbikes (left 100 + 10 i, right 30), 16x24.
    func writeCategories(in root: URL) throws {
        for i in 0..<5 {
            try writeJPEG(twoTone(left: UInt8(10 + 10 * i), right: 200), width: 24, height: 16,
                          to: root.appendingPathComponent("101_ObjectCategories/Faces_easy/image_000\(i + 1).jpg"))
        }
        for i in 0..<6 {
            try writeJPEG(twoTone(left: UInt8(100 + 10 * i), right: 30), width: 24, height: 16,
                          to: root.appendingPathComponent("101_ObjectCategories/Motorbikes/image_000\(i + 1).JPG"))
        }
        // Not images: ignored.
        try Data("x".utf8).write(to: root.appendingPathComponent("101_ObjectCategories/Motorbikes/.DS_Store"))
        try Data("x".utf8).write(to: root.appendingPathComponent("101_ObjectCategories/Faces_easy/notes.txt"))
    }

    /// (category, index) of a loaded 8x12 image, from its left value; checks the resized pattern.
    func identify(_ set: ImageSet, _ i: Int) -> (label: UInt8, index: Int)? {
        let px = Array(set.pixels[(i * 96)..<((i + 1) * 96)])
        let left = px[0], right = px[11]
        // 24 -> 12 columns halves them: columns 0-3 come from the left tone, 4-11 from the right; 16 -> 8 rows.
        guard (0..<96).allSatisfy({ px[$0] == ($0 % 12 < 4 ? left : right) }) else { return nil }
        switch right {
        case 200: return (0, (Int(left) - 10) / 10)
        case 30: return (1, (Int(left) - 100) / 10)
        default: return nil
        }
    }

    @Test func randomSplitDecodesResizesAndLabels() throws {
        let root = try tempDir()
        defer { try? FileManager.default.removeItem(at: root) }
        try writeCategories(in: root)
        let options = CaltechDataset.Options(split: .random(trainPerCategory: 3), width: 12, height: 8, seed: 7)
        let train = try CaltechDataset.load(directory: root, split: .train, options: options)
        let test = try CaltechDataset.load(directory: root, split: .test, options: options)
        #expect(train.count == 6 && test.count == 5)
        #expect((train.height, train.width, train.channels) == (8, 12, 1))
        var seen = Set<[Int]>()
        for (set, name) in [(train, "train"), (test, "test")] {
            for i in 0..<set.count {
                let id = try #require(identify(set, i), "\(name) image \(i) is not one of the written images")
                #expect(id.label == set.labels[i], "\(name) image \(i): label \(set.labels[i]), written as category \(id.label)")
                #expect(seen.insert([Int(id.label), id.index]).inserted, "\(name) image \(i) appears twice")
            }
        }
        #expect(seen.count == 11, "every image in exactly one split")
        #expect(train.labels.filter { $0 == 0 }.count == 3 && train.labels.filter { $0 == 1 }.count == 3)
        #expect(test.labels.filter { $0 == 0 }.count == 2 && test.labels.filter { $0 == 1 }.count == 3)
        // Deterministic; a limit keeps the first images of the same order.
        #expect(try CaltechDataset.load(directory: root, split: .train, options: options) == train)
        #expect(try CaltechDataset.load(directory: root, split: .train, options: options, limit: 4) == train.prefix(4))
        // The split depends on the seed.
        var splits = Set<[String]>()
        for seed in UInt64(1)...8 {
            var o = options
            o.seed = seed
            splits.insert(try CaltechDataset.files(directory: root, split: .train, options: o).map(\.url.lastPathComponent).sorted())
        }
        #expect(splits.count > 1)
    }

    @Test func categoryFoldersDirectlyUnderThePath() throws {
        let root = try tempDir()
        defer { try? FileManager.default.removeItem(at: root) }
        for (cat, v) in [("A", UInt8(40)), ("B", UInt8(220))] {
            for i in 1...2 {
                try writeJPEG([UInt8](repeating: v, count: 64), width: 8, height: 8, to: root.appendingPathComponent("\(cat)/img\(i).jpeg"))
            }
        }
        // 8x8 -> 3x2: a constant image stays constant.
        let o = CaltechDataset.Options(categories: ["B", "A"], split: .random(trainPerCategory: 1), width: 3, height: 2)
        let train = try CaltechDataset.load(directory: root, split: .train, options: o)
        #expect(train.count == 2 && train.pixels.count == 12)
        for i in 0..<2 {
            let value: UInt8 = train.labels[i] == 0 ? 220 : 40   // "B" is category 0
            #expect(train.pixels[(i * 6)..<((i + 1) * 6)].allSatisfy { $0 == value })
        }
    }

    @Test func folderSplitAsTheReferenceReadsIt() throws {
        let root = try tempDir()
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = [("TrainingSet/Face", 2, UInt8(60)), ("TrainingSet/Motor", 3, UInt8(160)),
                      ("TestingSet/Face", 1, UInt8(60)), ("TestingSet/Motor", 1, UInt8(160))]
        for (dir, n, v) in layout {
            for i in 0..<n {
                try writeJPEG([UInt8](repeating: v, count: 64), width: 8, height: 8, to: root.appendingPathComponent("\(dir)/\(i).jpg"))
            }
        }
        let o = CaltechDataset.Options(categories: ["Face", "Motor"], split: .folders, width: 8, height: 8)
        let train = try CaltechDataset.load(directory: root, split: .train, options: o)
        let test = try CaltechDataset.load(directory: root, split: .test, options: o)
        #expect(train.labels.sorted() == [0, 0, 1, 1, 1] && test.labels.sorted() == [0, 1])
        for set in [train, test] {
            for i in 0..<set.count {
                #expect(set.pixels[i * 64] == (set.labels[i] == 0 ? 60 : 160))
            }
        }
    }

    @Test func badFoldersAndFilesAreErrorsNamingThem() throws {
        let root = try tempDir()
        defer { try? FileManager.default.removeItem(at: root) }
        try writeCategories(in: root)
        let base = root.appendingPathComponent("101_ObjectCategories")
        func error(_ o: CaltechDataset.Options) -> DataError? {
            do { _ = try CaltechDataset.load(directory: root, split: .train, options: o); return nil } catch let e as DataError { return e } catch { return nil }
        }
        // Missing category: both places it may be are named.
        var o = CaltechDataset.Options(categories: ["Faces_easy", "Leopards"], split: .random(trainPerCategory: 2), width: 12, height: 8)
        #expect(error(o) == .missingDirectory(candidates: [root.appendingPathComponent("Leopards").path,
                                                          base.appendingPathComponent("Leopards").path]))
        // A folder without JPEG files.
        try FileManager.default.createDirectory(at: base.appendingPathComponent("Empty"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: base.appendingPathComponent("Empty/readme.txt"))
        o.categories = ["Faces_easy", "Empty"]
        #expect(error(o) == .emptyDirectory(path: base.appendingPathComponent("Empty").path, expected: "JPEG files (*.jpg, *.jpeg)"))
        // A split that leaves no test image.
        o.categories = ["Faces_easy", "Motorbikes"]
        o.split = .random(trainPerCategory: 5)
        #expect(error(o) == .tooFewImages(path: base.appendingPathComponent("Faces_easy").path, found: 5, needed: 6,
                                          reason: "5 training images per category and at least one to test"))
        // A corrupt JPEG, in whichever split it falls: the file and libjpeg's reason.
        let bad = base.appendingPathComponent("Faces_easy/image_0009.jpg")
        try Data("GIF89a not a jpeg".utf8).write(to: bad)
        o.split = .random(trainPerCategory: 3)
        var found: DataError?
        for split in [IDXDataset.Split.train, .test] {
            do { _ = try CaltechDataset.load(directory: root, split: split, options: o) } catch let e as DataError { found = e }
        }
        guard case .corruptImage(let path, let reason)? = found else {
            Issue.record("expected corruptImage, got \(String(describing: found))")
            return
        }
        #expect(path == bad.path)
        #expect(reason.contains("Not a JPEG file"), "\(reason)")
    }
}
