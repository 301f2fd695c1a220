#if canImport(Glibc)
import Glibc
#endif

/// What one rank spent in collectives since the tally was last taken.
///
/// Bytes count only data that crosses ranks, as this rank sees it: what it contributes to others
/// (`bytesSent`) and what it gets from others (`bytesReceived`); a one-rank job moves nothing.
/// An allreduce counts its buffer both ways.
public struct CollectiveTally: Sendable, Equatable {
    public var seconds = 0.0
    public var calls = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public init() {}
}

/// A `Communicator` that forwards every collective to another one and adds up the time spent in
/// it (the whole call, waiting for the other ranks included), the calls and the bytes. Timing is
/// per collective, never inside the computation, so results are those of the wrapped
/// communicator exactly. `take()` hands the tally over and starts a new one: the training job takes
/// it at the end of each stage.
public final class TimedCommunicator: Communicator {
    public let base: Communicator
    /// The communicator this one was split from: a split's collectives add to its root's tally,
    /// so a stage's figures cover every communicator the stage used.
    private let parent: TimedCommunicator?
    private var ownTally = CollectiveTally()
    public private(set) var tally: CollectiveTally {
        get { parent?.tally ?? ownTally }
        set { if let parent { parent.tally = newValue } else { ownTally = newValue } }
    }

    public init(_ base: Communicator) { self.base = base; parent = nil }

    private init(_ base: Communicator, parent: TimedCommunicator) { self.base = base; self.parent = parent }

    public var rank: Int { base.rank }
    public var size: Int { base.size }

    /// The tally since the last call, and a fresh one from now on.
    public func take() -> CollectiveTally {
        defer { tally = CollectiveTally() }
        return tally
    }

    @inline(__always)
    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    @inline(__always)
    private func timed(sent: Int, received: Int, _ body: () -> Void) {
        let start = Self.now()
        body()
        tally.seconds += Self.now() - start
        tally.calls += 1
        if size > 1 {
            tally.bytesSent += sent
            tally.bytesReceived += received
        }
    }

    public func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                               counts: [Int], displacements: [Int]) {
        let s = MemoryLayout<T>.stride, mine = counts[rank]
        timed(sent: mine * s, received: (counts.reduce(0, +) - mine) * s) {
            base.allgatherv(send, into: recv, counts: counts, displacements: displacements)
        }
    }

    public func allgather<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>) {
        let bytes = send.count * MemoryLayout<T>.stride
        timed(sent: bytes, received: bytes * (size - 1)) { base.allgather(send, into: recv) }
    }

    public func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], displacements: [Int], root: Int) {
        let s = MemoryLayout<T>.stride, mine = counts[rank]
        let atRoot = rank == root
        timed(sent: atRoot ? 0 : mine * s, received: atRoot ? (counts.reduce(0, +) - mine) * s : 0) {
            base.gatherv(send, into: recv, counts: counts, displacements: displacements, root: root)
        }
    }

    public func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                             into recv: UnsafeMutableBufferPointer<T>, root: Int) {
        let s = MemoryLayout<T>.stride, mine = counts[rank]
        let atRoot = rank == root
        timed(sent: atRoot ? (counts.reduce(0, +) - mine) * s : 0, received: atRoot ? 0 : mine * s) {
            base.scatterv(send, counts: counts, displacements: displacements, into: recv, root: root)
        }
    }

    public func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {
        let bytes = buffer.count * MemoryLayout<T>.stride
        timed(sent: rank == root ? bytes * (size - 1) : 0, received: rank == root ? 0 : bytes) {
            base.broadcast(buffer, root: root)
        }
    }

    public func allreduceMin(_ value: UInt64) -> UInt64 {
        var out = value
        timed(sent: 8, received: 8) { out = base.allreduceMin(value) }
        return out
    }

    public func allreduceMin(_ values: UnsafeMutableBufferPointer<UInt64>) {
        timed(sent: values.count * 8, received: values.count * 8) { base.allreduceMin(values) }
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        timed(sent: values.count * 8, received: values.count * 8) { base.allreduceSum(values) }
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        timed(sent: values.count * 8, received: values.count * 8) { base.allreduceMax(values) }
    }

    public func abort(_ reason: String, code: Int32) -> Never {
        base.abort(reason, code: code)
    }

    public func split(color: Int, key: Int) -> Communicator {
        var sub: Communicator?
        timed(sent: 0, received: 0) { sub = base.split(color: color, key: key) }
        return TimedCommunicator(sub!, parent: self)
    }
}
