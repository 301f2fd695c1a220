// The boundary between the numerical core and MPI. The core sees only this protocol; SpikeMPI
// implements it over OpenMPI and LocalCommunicator implements it for one process. Collectives take
// unsafe buffers so the per-timestep exchange allocates nothing on the hot path.

/// A group of ranks that run the same program on different slices of every layer.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }

    /// Every rank contributes `send`; every rank receives the concatenation in rank order.
    /// `counts[r]` elements come from rank r and land at `displacements[r]` in `recv`.
    func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                        counts: [Int], displacements: [Int])

    /// Every rank contributes `send.count` elements (the same count everywhere); `recv` gets them
    /// in rank order. The per-sample winner agreement uses it: no count arrays to build.
    func allgather<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>)

    /// As `allgatherv`, but only `root` receives.
    func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                     counts: [Int], displacements: [Int], root: Int)

    /// `root` sends `counts[r]` elements from `displacements[r]` to rank r.
    func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                      into recv: UnsafeMutableBufferPointer<T>, root: Int)

    /// Copies `root`'s buffer to every rank.
    func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int)

    /// The minimum over ranks of one 64-bit key, on every rank.
    func allreduceMin(_ value: UInt64) -> UInt64
    /// Element-wise minimum over ranks of 64-bit keys, on every rank.
    func allreduceMin(_ values: UnsafeMutableBufferPointer<UInt64>)

    /// Element-wise sum over ranks, result on every rank.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Element-wise maximum over ranks, result on every rank.
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>)

    /// Stops every rank: the reason is printed by the caller's rank before the job dies.
    func abort(_ reason: String, code: Int32) -> Never

    /// A communicator over the ranks that pass the same `color`, ranked by `key` (ties by rank
    /// here), with the same collectives (`MPI_Comm_split`). Collective: every rank calls it, in the
    /// same order. `abort` on it still stops the whole job.
    func split(color: Int, key: Int) -> Communicator
}

public extension Communicator {
    var isCoordinator: Bool { rank == 0 }

    /// Gathers one value from every rank onto every rank.
    func allgather<T: BitwiseCopyable>(_ value: T) -> [T] {
        var mine = value
        return withUnsafePointer(to: &mine) { p in
            [T](unsafeUninitializedCapacity: size) { buf, n in
                allgather(UnsafeBufferPointer(start: p, count: 1), into: buf)
                n = size
            }
        }
    }

    /// Gathers variable-length arrays onto every rank, concatenated in rank order.
    func allgatherv<T: BitwiseCopyable>(_ local: [T]) -> [T] {
        allgatherv(local, counts: allgather(local.count))
    }

    /// As `allgatherv(_:)` when every rank already knows every rank's count (`counts[rank]` must be
    /// `local.count`): one collective instead of two.
    func allgatherv<T: BitwiseCopyable>(_ local: [T], counts: [Int]) -> [T] {
        let displs = exclusiveScan(counts)
        let total = counts.reduce(0, +)
        return [T](unsafeUninitializedCapacity: total) { buf, n in
            local.withUnsafeBufferPointer { allgatherv($0, into: buf, counts: counts, displacements: displs) }
            n = total
        }
    }

    func allreduceSum(_ value: Double) -> Double {
        var v = value
        withUnsafeMutablePointer(to: &v) { allreduceSum(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return v
    }

    func allreduceMax(_ value: Double) -> Double {
        var v = value
        withUnsafeMutablePointer(to: &v) { allreduceMax(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return v
    }
}

public func exclusiveScan(_ counts: [Int]) -> [Int] {
    var out = [Int](repeating: 0, count: counts.count)
    var acc = 0
    for i in counts.indices { out[i] = acc; acc += counts[i] }
    return out
}

/// One process, one rank: every collective is a copy.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }

    public func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                               counts: [Int], displacements: [Int]) {
        copy(send, into: recv, at: displacements[0], count: counts[0])
    }

    public func allgather<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>) {
        copy(send, into: recv, at: 0, count: send.count)
    }

    public func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], displacements: [Int], root: Int) {
        copy(send, into: recv, at: displacements[0], count: counts[0])
    }

    public func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                             into recv: UnsafeMutableBufferPointer<T>, root: Int) {
        guard counts[0] > 0 else { return }
        recv.baseAddress!.update(from: send.baseAddress! + displacements[0], count: counts[0])
    }

    public func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {}
    public func allreduceMin(_ value: UInt64) -> UInt64 { value }
    public func allreduceMin(_ values: UnsafeMutableBufferPointer<UInt64>) {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {}

    public func abort(_ reason: String, code: Int32) -> Never {
        fatalError(reason)
    }

    /// One rank: any split is this rank alone.
    public func split(color: Int, key: Int) -> Communicator { self }

    private func copy<T>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>, at offset: Int, count: Int) {
        guard count > 0 else { return }
        (recv.baseAddress! + offset).update(from: send.baseAddress!, count: count)
    }
}
