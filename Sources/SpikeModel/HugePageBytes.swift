#if canImport(Glibc)
import Glibc
#endif

/// A read-only copy of a byte array in memory that Linux may back with 2 MB pages (transparent
/// huge pages on request, `madvise(MADV_HUGEPAGE)`, which this machine class allows).
///
/// Training reads every patch from a random image of its input (MNIST conv2: 276 MB); with 4 KB
/// pages nearly every patch missed the TLB, and in a virtual machine a miss walks two page
/// tables. At 2 MB pages the whole input fits the TLB's reach. Where the mapping or the advice
/// fails, the copy still works, on ordinary pages.
final class HugePageBytes {
    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    let bytes: UnsafeBufferPointer<UInt8>

    init(copying source: [UInt8]) {
        let huge = 2 << 20
        let size = (source.count + huge - 1) / huge * huge + huge
        let p = source.isEmpty ? MAP_FAILED : mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if let p, p != MAP_FAILED {
            // The first 2 MB boundary in the mapping: pages are only huge when aligned.
            let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: p) + huge - 1) / huge * huge)!
            _ = madvise(aligned, size - huge, MADV_HUGEPAGE)
            source.withUnsafeBytes { aligned.copyMemory(from: $0.baseAddress!, byteCount: source.count) }
            _ = mprotect(aligned, size - huge, PROT_READ)   // read-only from here: a stray write traps
            mapping = p
            mappedBytes = size
            bytes = UnsafeBufferPointer(start: aligned.assumingMemoryBound(to: UInt8.self), count: source.count)
        } else {
            mapping = nil
            mappedBytes = 0
            let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: source.count)
            _ = copy.initialize(from: source)
            bytes = UnsafeBufferPointer(copy)
        }
    }

    deinit {
        if let mapping { munmap(mapping, mappedBytes) } else { bytes.deallocate() }
    }
}
