import Foundation
import Testing
@testable import SpikeData

/// Small files in the official CIFAR-10 and STL-10 binary layouts, written here, read back.
@Suite struct BinaryDatasetTests {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("spinnprune-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// CIFAR record: label, then 1024 red, 1024 green, 1024 blue. Pixel (y, x) of image i has
    /// red = (y*32 + x) % 251, green = i + 1, blue = 200 - y.
    func cifarRecord(_ i: Int, label: UInt8) -> [UInt8] {
        var r = [label]
        r += (0..<1024).map { UInt8($0 % 251) }
        r += [UInt8](repeating: UInt8(i + 1), count: 1024)
        r += (0..<1024).map { UInt8(200 - $0 / 32) }
        return r
    }

    @Test func cifarPlanarToHWC() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        try Data(cifarRecord(0, label: 3) + cifarRecord(1, label: 9)).write(to: d.appendingPathComponent("test_batch.bin"))
        let s = try CIFAR10Dataset.load(directory: d, split: .test)
        #expect(s.count == 2 && s.height == 32 && s.width == 32 && s.channels == 3)
        #expect(s.labels == [3, 9])
        // image 1, pixel (y 2, x 5): red (2*32+5) % 251 = 69, green 2, blue 198
        let o = 3072 + (2 * 32 + 5) * 3
        #expect(Array(s.pixels[o..<(o + 3)]) == [69, 2, 198])
    }

    @Test func cifarTruncatedAndMissing() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        try Data(Array(cifarRecord(0, label: 1).prefix(2000))).write(to: d.appendingPathComponent("test_batch.bin"))
        #expect(throws: DataError.truncated(path: d.appendingPathComponent("test_batch.bin").path, expected: 3073, found: 2000)) {
            try CIFAR10Dataset.load(directory: d, split: .test)
        }
        #expect(throws: DataError.missingFile(path: d.appendingPathComponent("data_batch_1.bin").path)) {
            try CIFAR10Dataset.load(directory: d, split: .train)
        }
    }

    /// STL: column-major planes; pixel (row y, column x, channel c) = (c*50 + x*3 + y) % 256 for
    /// image 0, written at c*96*96 + x*96 + y. Labels on disk 1..10 come out 0..9.
    @Test func stlColumnMajorToHWC() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let per = 3 * 96 * 96
        var x = [UInt8](repeating: 0, count: 2 * per)
        for c in 0..<3 { for xx in 0..<96 { for yy in 0..<96 { x[c * 9216 + xx * 96 + yy] = UInt8((c * 50 + xx * 3 + yy) % 256) } } }
        try Data(x).write(to: d.appendingPathComponent("train_X.bin"))
        try Data([10, 1]).write(to: d.appendingPathComponent("train_y.bin"))
        let s = try STL10Dataset.load(directory: d, split: .train)
        #expect(s.count == 2 && s.labels == [9, 0])
        // (y 7, x 11, c 2): (100 + 33 + 7) % 256 = 140
        #expect(s.pixels[(7 * 96 + 11) * 3 + 2] == 140)
        try Data([10, 11]).write(to: d.appendingPathComponent("train_y.bin"))
        #expect(throws: DataError.labelOutOfRange(path: d.appendingPathComponent("train_y.bin").path, index: 1, value: 11, classCount: 10)) {
            try STL10Dataset.load(directory: d, split: .train)
        }
    }
}
