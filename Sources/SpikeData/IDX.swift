import CZlib
import Foundation

/// An unsigned-byte IDX array: `dims` as stored in the header (outermost first) and the
/// `dims.reduce(1, *)` bytes of data, row-major.
public struct IDXArray: Sendable, Equatable {
    public let dims: [Int]
    public let data: [UInt8]

    public init(dims: [Int], data: [UInt8]) {
        precondition(dims.allSatisfy { $0 >= 0 }, "IDXArray: negative dimension in \(dims)")
        precondition(dims.reduce(1, *) == data.count,
                     "IDXArray: dims \(dims) need \(dims.reduce(1, *)) bytes, got \(data.count)")
        self.dims = dims
        self.data = data
    }
}

/// Reads an IDX file of unsigned bytes (type code 0x08), e.g. the MNIST image files
/// (magic 0x00000803, dims [count, rows, columns]) and label files (magic 0x00000801,
/// dims [count]). Dimensions are big-endian 32-bit integers.
///
/// A file starting with the gzip magic `1f 8b` is decompressed with zlib's `inflate`
/// (windowBits 15+32, so zlib or gzip framing; concatenated gzip members are accepted);
/// anything else is read as raw IDX. The data must be exactly as long as the dimensions say.
///
/// - Throws: `DataError` naming `url.path` and what is wrong.
public func readIDX(_ url: URL) throws -> IDXArray {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw DataError.missingFile(path: path)
    }
    let file: Data
    do {
        file = try Data(contentsOf: url, options: .mappedIfSafe)
    } catch {
        throw DataError.unreadable(path: path, reason: "\(error)")
    }
    return try file.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> IDXArray in
        if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
            let inflated = try gunzip(raw, path: path)
            return try parseIDX(UnsafeRawBufferPointer(start: inflated.base, count: inflated.count), path: path)
        }
        return try parseIDX(raw, path: path)
    }
}

/// Parses the bytes of an (uncompressed) IDX file. Copies the payload once into the result.
func parseIDX(_ bytes: UnsafeRawBufferPointer, path: String) throws -> IDXArray {
    guard bytes.count >= 4 else {
        throw DataError.truncatedHeader(path: path, expected: 4, found: bytes.count)
    }
    let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    let typeCode = bytes[2]
    let ndims = Int(bytes[3])
    guard bytes[0] == 0, bytes[1] == 0, ndims >= 1 else {
        throw DataError.badMagic(path: path, magic: magic)
    }
    guard typeCode == 0x08 else {
        throw DataError.unsupportedType(path: path, typeCode: typeCode)
    }
    let headerSize = 4 + 4 * ndims
    guard bytes.count >= headerSize else {
        throw DataError.truncatedHeader(path: path, expected: headerSize, found: bytes.count)
    }
    var dims = [Int]()
    dims.reserveCapacity(ndims)
    var expected = 1
    var overflow = false
    for d in 0..<ndims {
        let o = 4 + 4 * d
        let v = Int(UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]))
        dims.append(v)
        let (p, o2) = expected.multipliedReportingOverflow(by: v)
        overflow = overflow || o2
        expected = p
    }
    if overflow {
        throw DataError.wrongShape(path: path, dims: dims, expected: "a total size that fits in memory")
    }
    let found = bytes.count - headerSize
    if found < expected {
        throw DataError.truncated(path: path, expected: expected, found: found)
    }
    if found > expected {
        throw DataError.trailingData(path: path, expected: expected, found: found)
    }
    let data = [UInt8](unsafeUninitializedCapacity: expected) { buffer, initialized in
        if expected > 0 {
            buffer.baseAddress!.update(from: bytes.baseAddress!.advanced(by: headerSize)
                .assumingMemoryBound(to: UInt8.self), count: expected)
        }
        initialized = expected
    }
    return IDXArray(dims: dims, data: data)
}

/// A malloc'd byte buffer owned by Swift (freed on deinit).
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count: Int = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        guard let p = malloc(self.capacity) else { fatalError("out of memory allocating \(self.capacity) bytes") }
        base = p.assumingMemoryBound(to: UInt8.self)
    }

    func grow(to newCapacity: Int) {
        guard newCapacity > capacity else { return }
        guard let p = realloc(base, newCapacity) else { fatalError("out of memory allocating \(newCapacity) bytes") }
        base = p.assumingMemoryBound(to: UInt8.self)
        capacity = newCapacity
    }

    deinit { free(base) }
}

/// Decompresses a gzip (or zlib) stream with zlib's streaming `inflate` into a growing buffer.
/// Concatenated gzip members are decompressed one after another, like `gunzip` does.
func gunzip(_ input: UnsafeRawBufferPointer, path: String) throws -> ByteBuffer {
    guard input.count <= Int(UInt32.max) else {
        throw DataError.corruptGzip(path: path, reason: "compressed file larger than 4 GiB is not supported")
    }
    // Initial capacity: the gzip trailer's ISIZE (uncompressed size mod 2^32) when plausible.
    var hint = input.count * 4
    if input.count >= 18 {
        let n = input.count
        let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        if isize > 0 && isize <= (1 << 30) { hint = isize }
    }
    let out = ByteBuffer(capacity: max(hint, 1 << 16))

    var stream = z_stream()
    let initStatus = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard initStatus == Z_OK else {
        throw DataError.corruptGzip(path: path, reason: "inflateInit2 failed with status \(initStatus)")
    }
    defer { inflateEnd(&stream) }

    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = uInt(input.count)

    while true {
        if out.count == out.capacity {
            out.grow(to: out.capacity < (1 << 30) ? out.capacity * 2 : out.capacity + (1 << 30))
        }
        let room = min(out.capacity - out.count, Int(UInt32.max))
        stream.next_out = out.base + out.count
        stream.avail_out = uInt(room)
        let status = inflate(&stream, Z_NO_FLUSH)
        out.count += room - Int(stream.avail_out)
        switch status {
        case Z_OK:
            continue
        case Z_STREAM_END:
            let left = Int(stream.avail_in)
            if left == 0 { return out }
            // Another gzip member follows? Then go on with it; anything else is an error.
            let at = input.count - left
            if left >= 2 && input[at] == 0x1F && input[at + 1] == 0x8B {
                guard inflateReset(&stream) == Z_OK else {
                    throw DataError.corruptGzip(path: path, reason: "inflateReset failed")
                }
                continue
            }
            throw DataError.corruptGzip(path: path, reason: "\(left) unexpected bytes after the end of the gzip stream")
        case Z_BUF_ERROR:
            if stream.avail_in == 0 {
                throw DataError.corruptGzip(
                    path: path,
                    reason: "compressed data ends before the end of the stream (file truncated?) "
                        + "after \(out.count) decompressed bytes")
            }
            continue  // output buffer was full; it grows at the top of the loop
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw DataError.corruptGzip(path: path, reason: message)
        }
    }
}
