/// Everything that can go wrong while reading IDX files or assembling a data set.
/// Every case carries the path of the file concerned, and `description` names it.
public enum DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file does not exist (or is not a regular file).
    case missingFile(path: String)
    /// The file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// The file starts with the gzip magic (1f 8b) but does not decompress.
    case corruptGzip(path: String, reason: String)
    /// The first four bytes are not 00 00 <type> <ndims> with ndims >= 1.
    case badMagic(path: String, magic: UInt32)
    /// The element type code is not 0x08 (unsigned byte), the only one supported.
    case unsupportedType(path: String, typeCode: UInt8)
    /// The header (magic + dimensions) is cut short.
    case truncatedHeader(path: String, expected: Int, found: Int)
    /// The data after the header is shorter than the dimensions announce.
    case truncated(path: String, expected: Int, found: Int)
    /// The data after the header is longer than the dimensions announce.
    case trailingData(path: String, expected: Int, found: Int)
    /// The dimensions are not what the caller needs (e.g. images not 3-D), or overflow.
    case wrongShape(path: String, dims: [Int], expected: String)
    /// None of the candidate files of a data set split exists.
    case missingDatasetFile(directory: String, candidates: [String])
    /// The image file and the label file hold different numbers of items.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// A label is not a class index 0..<classCount.
    case labelOutOfRange(path: String, index: Int, value: UInt8, classCount: Int)
    /// None of the candidate directories of a data set exists.
    case missingDirectory(candidates: [String])
    /// A directory holds none of the files it should (e.g. no `*.jpg` in a category folder).
    case emptyDirectory(path: String, expected: String)
    /// An image file does not decode (corrupt, truncated, or not an image of the expected format).
    case corruptImage(path: String, reason: String)
    /// A directory holds fewer images than a split needs.
    case tooFewImages(path: String, found: Int, needed: Int, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path):
            return "\(path): no such file"
        case let .unreadable(path, reason):
            return "\(path): cannot read file: \(reason)"
        case let .corruptGzip(path, reason):
            return "\(path): not gzip-decodable (corrupt or truncated gzip stream): \(reason)"
        case let .badMagic(path, magic):
            return "\(path): bad IDX magic 0x\(hex(magic)) (expected 0x0000TTNN: two zero bytes, "
                + "type code, dimension count >= 1, e.g. 0x00000803 for images, 0x00000801 for labels)"
        case let .unsupportedType(path, code):
            return "\(path): unsupported IDX element type 0x\(String(code, radix: 16, uppercase: true)) "
                + "(only 0x08, unsigned byte, is supported)"
        case let .truncatedHeader(path, expected, found):
            return "\(path): truncated IDX header: expected \(expected) bytes of header, found \(found)"
        case let .truncated(path, expected, found):
            return "\(path): truncated: expected \(expected) bytes of data, found \(found)"
        case let .trailingData(path, expected, found):
            return "\(path): trailing data: expected \(expected) bytes of data, found \(found)"
        case let .wrongShape(path, dims, expected):
            return "\(path): wrong shape \(dims): expected \(expected)"
        case let .missingDatasetFile(directory, candidates):
            return "\(directory): neither \(candidates.joined(separator: " nor ")) exists"
        case let .countMismatch(imagesPath, images, labelsPath, labels):
            return "count mismatch: \(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
        case let .labelOutOfRange(path, index, value, classCount):
            return "\(path): label \(value) at index \(index) is out of range 0..<\(classCount)"
        case let .missingDirectory(candidates):
            return candidates.count == 1 ? "\(candidates[0]): no such directory"
                : "no such directory: neither \(candidates.joined(separator: " nor ")) exists"
        case let .emptyDirectory(path, expected):
            return "\(path): holds no \(expected)"
        case let .corruptImage(path, reason):
            return "\(path): not a decodable image: \(reason)"
        case let .tooFewImages(path, found, needed, reason):
            return "\(path): \(found) image\(found == 1 ? "" : "s"), at least \(needed) needed (\(reason))"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
