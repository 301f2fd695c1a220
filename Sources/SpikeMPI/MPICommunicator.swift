import CMPI
import SpikeCluster
import Foundation

/// The Communicator over OpenMPI's world communicator. Started without mpirun, a process is a
/// one-rank singleton job, so the same binary serves both.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm
    /// A communicator made by `split`, freed with this object; the world communicator is not.
    private let owned: Bool

    /// Initialises MPI once per process.
    public convenience init() {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 { MPI_Init(nil, nil) }
        self.init(comm: cmpi_comm_world(), owned: false)
    }

    private init(comm: MPI_Comm, owned: Bool) {
        self.comm = comm
        self.owned = owned
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    deinit {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if owned && finalized == 0 {
            freeSharedMinimum()
            var c: MPI_Comm? = comm
            MPI_Comm_free(&c)
        }
        for (_, t) in unitTypes where finalized == 0 {
            var t: MPI_Datatype? = t
            MPI_Type_free(&t)
        }
    }

    /// `MPI_Comm_split`: the ranks passing the same `color`, ordered by `key` then rank.
    public func split(color: Int, key: Int) -> Communicator {
        guard color >= 0, color <= Int(Int32.max), key >= Int(Int32.min), key <= Int(Int32.max) else {
            abort("split(color: \(color), key: \(key)): color must be a non-negative 32-bit integer, key a 32-bit integer", code: 3)
        }
        var sub: MPI_Comm? = cmpi_comm_null()
        let status = MPI_Comm_split(comm, Int32(color), Int32(key), &sub)
        guard status == 0, let sub, sub != cmpi_comm_null() else {
            abort("MPI_Comm_split(color: \(color), key: \(key)) failed (\(status))", code: 3)
        }
        return MPICommunicator(comm: sub, owned: true)
    }

    public func finalize() {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        if flag == 0 {
            freeSharedMinimum()
            MPI_Finalize()
        }
    }

    // Every buffer travels as elements of a contiguous byte type: one code path for all element
    // types, and counts in elements (MPI counts are Int32). When counts would overflow, the unit
    // grows to `g` elements, g the gcd of every count and displacement, so large regular buffers
    // (an image's pixels, a map's features per rank) still go in one collective.
    private var unitTypes: [Int: MPI_Datatype] = [:]

    private func unit(bytes: Int) -> MPI_Datatype {
        if let t = unitTypes[bytes] { return t }
        var t: MPI_Datatype?
        MPI_Type_contiguous(Int32(bytes), cmpi_byte(), &t)
        MPI_Type_commit(&t)
        unitTypes[bytes] = t!
        return t!
    }

    private func layout<T>(_ type: T.Type, _ counts: [Int], _ displs: [Int] = []) -> (MPI_Datatype, [Int32], [Int32]) {
        let stride = MemoryLayout<T>.stride
        var g = 1
        if (counts + displs).contains(where: { $0 > Int(Int32.max) }) {
            g = (counts + displs).reduce(0) { gcd($0, $1) }
            if g == 0 { g = 1 }
            if (counts + displs).contains(where: { $0 / g > Int(Int32.max) }) || stride * g > Int(Int32.max) {
                abort("a collective of \(counts.reduce(0, +)) elements cannot be expressed in MPI's 32-bit counts", code: 3)
            }
        }
        return (unit(bytes: stride * g), counts.map { Int32($0 / g) }, displs.map { Int32($0 / g) })
    }

    private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    public func allgather<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>) {
        let (t, c, _) = layout(T.self, [send.count])
        MPI_Allgather(UnsafeRawPointer(send.baseAddress), c[0], t, UnsafeMutableRawPointer(recv.baseAddress), c[0], t, comm)
    }

    public func allreduceMin(_ values: UnsafeMutableBufferPointer<UInt64>) {
        let c = counts32(values.count)
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, c, cmpi_uint64(), cmpi_op_min(), comm)
    }

    private func counts32(_ n: Int) -> Int32 {
        guard n <= Int(Int32.max) else { abort("a reduction of \(n) elements exceeds MPI's 32-bit counts", code: 3) }
        return Int32(n)
    }

    /// Global minimum of one 64-bit key: the per-sample winner agreement, 60000 times an epoch.
    /// When every rank of the communicator is on one node, through a shared-memory window
    /// (`SharedMinimum`): each rank posts its key and reads the others' (one cache line each way,
    /// against OpenMPI's matched messages); otherwise `MPI_Allreduce`.
    public func allreduceMin(_ value: UInt64) -> UInt64 {
        if case .unknown = minimumPath {
            // SPINNPRUNE_MINIMUM=messages keeps MPI_Allreduce on one node (the tests compare the two
            // paths); agreed over the ranks, since making the window is a collective call.
            var messages: Int32 = getenv("SPINNPRUNE_MINIMUM").map { String(cString: $0) == "messages" ? 1 : 0 } ?? 0
            if size > 1 { MPI_Allreduce(cmpi_in_place(), &messages, 1, cmpi_int32(), cmpi_op_max(), comm) }
            minimumPath = messages != 0 ? .messages : SharedMinimum(comm: comm, rank: rank, size: size).map { .shared($0) } ?? .messages
        }
        if case .shared(let shared) = minimumPath { return shared.minimum(value) }
        var v = value
        MPI_Allreduce(cmpi_in_place(), &v, 1, cmpi_uint64(), cmpi_op_min(), comm)
        return v
    }

    /// Made at the first `allreduceMin(UInt64)` (a collective call, so at the same point on every
    /// rank): `.shared` on one node, `.messages` when the ranks span nodes.
    private enum MinimumPath { case unknown, messages, shared(SharedMinimum) }
    private var minimumPath = MinimumPath.unknown

    /// Frees the shared window (a collective call: every rank of the communicator makes it).
    private func freeSharedMinimum() {
        if case .shared(let shared) = minimumPath { shared.free() }
        minimumPath = .unknown
    }

    public func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                               counts: [Int], displacements: [Int]) {
        let (t, c, d) = layout(T.self, counts, displacements)
        MPI_Allgatherv(UnsafeRawPointer(send.baseAddress), c[rank], t,
                       UnsafeMutableRawPointer(recv.baseAddress), c, d, t, comm)
    }

    public func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], displacements: [Int], root: Int) {
        let (t, c, d) = layout(T.self, counts, displacements)
        MPI_Gatherv(UnsafeRawPointer(send.baseAddress), c[rank], t,
                    UnsafeMutableRawPointer(recv.baseAddress), c, d, t, Int32(root), comm)
    }

    public func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                             into recv: UnsafeMutableBufferPointer<T>, root: Int) {
        let (t, c, d) = layout(T.self, counts, displacements)
        MPI_Scatterv(UnsafeRawPointer(send.baseAddress), c, d, t,
                     UnsafeMutableRawPointer(recv.baseAddress), c[rank], t, Int32(root), comm)
    }

    public func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {
        let (t, c, _) = layout(T.self, [buffer.count])
        MPI_Bcast(UnsafeMutableRawPointer(buffer.baseAddress), c[0], t, Int32(root), comm)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, counts32(values.count), cmpi_double(), cmpi_op_sum(), comm)
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, counts32(values.count), cmpi_double(), cmpi_op_max(), comm)
    }

    public func abort(_ reason: String, code: Int32) -> Never {
        // The whole job stops, whichever communicator this is (a group's abort must not leave the
        // other groups waiting in a collective); the message names the world rank.
        var worldRank: Int32 = 0, worldSize: Int32 = 1
        MPI_Comm_rank(cmpi_comm_world(), &worldRank)
        MPI_Comm_size(cmpi_comm_world(), &worldSize)
        FileHandle.standardError.write(Data("spinnprune: rank \(worldRank): \(reason)\n".utf8))
        if worldSize > 1 { MPI_Abort(cmpi_comm_world(), code) }
        exit(code)
    }
}

/// The minimum of one key per rank through an MPI shared-memory window: rank r's line holds a
/// round number and the key of the round, in one of two cells by the round's parity. A rank posts
/// its key, then the round number (release); it reads each other rank's key once that rank's round
/// number has reached its own (acquire). A rank can only post round k + 2, overwriting the cell of
/// round k, after every other rank has posted round k + 1, that is after it read round k: two
/// cells suffice. Waiting spins, then yields the core (oversubscribed ranks must let the others run).
final class SharedMinimum {
    private let size: Int, rank: Int
    private var window: MPI_Win?
    private let nodeComm: MPI_Comm?
    private let lines: UnsafeMutablePointer<UInt64>
    private var round: UInt64 = 0
    /// 128 bytes per rank: a line and its neighbour, which the adjacent-line prefetcher pairs.
    private static let stride = 16

    /// nil when the ranks of `comm` are not all on one node, or the window cannot be made.
    init?(comm: MPI_Comm, rank: Int, size: Int) {
        self.rank = rank; self.size = size
        var node: MPI_Comm? = cmpi_comm_null()
        guard size > 1, MPI_Comm_split_type(comm, cmpi_comm_type_shared(), 0, cmpi_info_null(), &node) == 0,
              let node, node != cmpi_comm_null() else { return nil }
        var nodeSize: Int32 = 0
        MPI_Comm_size(node, &nodeSize)
        // The same answer on every rank: all ranks on one node, or none sees them all.
        guard Int(nodeSize) == size else {
            var n: MPI_Comm? = node
            MPI_Comm_free(&n)
            return nil
        }
        var base: UnsafeMutableRawPointer? = nil
        var win: MPI_Win? = cmpi_win_null()
        let bytes = MPI_Aint(Self.stride * 8)
        let status = withUnsafeMutablePointer(to: &base) { MPI_Win_allocate_shared(bytes, 8, cmpi_info_null(), node, $0, &win) }
        var size0: MPI_Aint = 0, unit0: Int32 = 0
        var base0: UnsafeMutableRawPointer? = nil
        guard status == 0, let win,
              withUnsafeMutablePointer(to: &base0, { MPI_Win_shared_query(win, 0, &size0, &unit0, $0) }) == 0,
              let base0 else {
            var n: MPI_Comm? = node
            MPI_Comm_free(&n)
            return nil
        }
        window = win
        nodeComm = node
        // Ranks' segments are contiguous from rank 0's (the default, `alloc_shared_noncontig` unset).
        lines = base0.assumingMemoryBound(to: UInt64.self)
        for i in 0..<Self.stride { cmpi_store_relaxed(lines + rank * Self.stride + i, 0) }
        MPI_Barrier(node)
    }

    func minimum(_ value: UInt64) -> UInt64 {
        round &+= 1
        let mine = lines + rank * Self.stride
        cmpi_store_relaxed(mine + 1 + Int(round & 1), value)
        cmpi_store_release(mine, round)
        var m = value
        for r in 0..<size where r != rank {
            let line = lines + r * Self.stride
            var spins = 0
            while cmpi_load_acquire(line) < round {
                spins += 1
                if spins > 4096 { sched_yield() }
            }
            m = min(m, cmpi_load_relaxed(line + 1 + Int(round & 1)))
        }
        return m
    }

    func free() {
        MPI_Barrier(nodeComm)
        if window != nil { MPI_Win_free(&window); window = nil }
        var n: MPI_Comm? = nodeComm
        MPI_Comm_free(&n)
    }
}
