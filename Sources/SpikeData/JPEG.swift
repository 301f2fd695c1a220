import CJPEG
import Foundation

/// JPEG files through libjpeg (libjpeg-turbo): decoding to one 8-bit channel, and encoding (which the
/// tests use to write data sets). Errors never end the process: they come back as `DataError`.
public enum JPEG {
    /// Which single channel a colour JPEG decodes to. A greyscale JPEG gives its grey either way.
    public enum Grey: String, Sendable, CaseIterable {
        /// libjpeg's greyscale decoding: the luminance `Y = 0.299 R + 0.587 G + 0.114 B` of the file.
        case luma
        /// The blue channel of the RGB decoding: what the reference simulator reads (Qt's `qBlue`).
        case blue
    }

    /// A decoded single-channel image, row-major.
    public struct Image: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let pixels: [UInt8]
        public init(width: Int, height: Int, pixels: [UInt8]) {
            precondition(pixels.count == width * height, "JPEG.Image: \(pixels.count) pixels for \(width)x\(height)")
            self.width = width; self.height = height; self.pixels = pixels
        }
    }

    /// Decodes a JPEG file held in memory. `path` only names the file in errors.
    /// - Throws: `DataError.corruptImage` with libjpeg's reason (not a JPEG, truncated, corrupt).
    public static func decode(_ data: Data, path: String, grey: Grey = .luma) throws -> Image {
        guard !data.isEmpty else { throw DataError.corruptImage(path: path, reason: "empty file") }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
            message.withUnsafeMutableBufferPointer { m in
                spinnprune_jpeg_decode(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(raw.count),
                                       grey == .blue ? 1 : 0, &pixels, &width, &height, m.baseAddress!, Int32(m.count))
            }
        }
        guard status == 0, let pixels else {
            let reason = cString(message)
            throw DataError.corruptImage(path: path, reason: reason.isEmpty ? "libjpeg failed" : reason)
        }
        defer { free(pixels) }
        let n = Int(width) * Int(height)
        return Image(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: pixels, count: n)))
    }

    /// Reads and decodes a JPEG file.
    /// - Throws: `DataError.missingFile`, `.unreadable` or `.corruptImage`, naming the file.
    public static func read(_ url: URL, grey: Grey = .luma) throws -> Image {
        try decode(try readWholeFile(url), path: url.path, grey: grey)
    }

    /// Encodes `pixels` (row-major; `channels` 1 for greyscale or 3 for interleaved RGB) as a baseline
    /// JPEG of `quality` 1-100.
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int = 1, quality: Int = 100) throws -> Data {
        precondition(channels == 1 || channels == 3, "JPEG.encode: 1 or 3 channels, got \(channels)")
        precondition(pixels.count == width * height * channels, "JPEG.encode: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { p in
            message.withUnsafeMutableBufferPointer { m in
                spinnprune_jpeg_encode(p.baseAddress!, Int32(width), Int32(height), Int32(channels), Int32(quality),
                                       &out, &size, m.baseAddress!, Int32(m.count))
            }
        }
        guard status == 0, let out else {
            throw DataError.corruptImage(path: "<JPEG encoder>", reason: cString(message))
        }
        defer { free(out) }
        return Data(bytes: out, count: Int(size))
    }
}

/// A NUL-terminated C buffer as a String.
private func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Resamples a single-channel image to `width` x `height`, each axis on its own (the filter is
/// separable): shrinking averages the input pixels each output pixel covers, weighted by the covered
/// length (a box filter of the exact footprint); enlarging interpolates linearly between pixel centres
/// (borders clamped). Values are computed in Double and rounded to the nearest integer (halves up).
public func resample(_ image: JPEG.Image, width: Int, height: Int) -> [UInt8] {
    precondition(width >= 1 && height >= 1 && image.width >= 1 && image.height >= 1, "resample: empty image")
    let wx = resampleWeights(from: image.width, to: width)
    let wy = resampleWeights(from: image.height, to: height)
    // Horizontal pass: [row][output column].
    var rows = [Double](repeating: 0, count: image.height * width)
    image.pixels.withUnsafeBufferPointer { px in
        for y in 0..<image.height {
            for x in 0..<width {
                var v = 0.0
                for (k, w) in wx[x] { v += w * Double(px[y * image.width + k]) }
                rows[y * width + x] = v
            }
        }
    }
    var out = [UInt8](repeating: 0, count: width * height)
    for y in 0..<height {
        for x in 0..<width {
            var v = 0.0
            for (k, w) in wy[y] { v += w * rows[k * width + x] }
            out[y * width + x] = UInt8(min(max((v + 0.5).rounded(.down), 0), 255))
        }
    }
    return out
}

/// For each output index along one axis, the input indices and their weights (summing to 1).
func resampleWeights(from n: Int, to m: Int) -> [[(Int, Double)]] {
    let scale = Double(n) / Double(m)
    return (0..<m).map { i in
        if m <= n {
            // Box: output pixel i covers input [i scale, (i + 1) scale).
            let a = Double(i) * scale, b = Double(i + 1) * scale
            var taps: [(Int, Double)] = []
            var k = Int(a.rounded(.down))
            while k < n && Double(k) < b {
                let overlap = min(b, Double(k + 1)) - max(a, Double(k))
                if overlap > 0 { taps.append((k, overlap / scale)) }
                k += 1
            }
            return taps
        }
        // Linear between pixel centres: output centre i + 0.5 sits at input coordinate (i + 0.5) scale.
        let x = min(max((Double(i) + 0.5) * scale - 0.5, 0), Double(n - 1))
        let k = min(Int(x.rounded(.down)), n - 1), f = x - Double(k)
        return f > 0 && k + 1 < n ? [(k, 1 - f), (k + 1, f)] : [(k, 1)]
    }
}
