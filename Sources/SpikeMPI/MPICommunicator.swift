import CMPI
import SpikeCluster
import Foundation

/// The Communicator over OpenMPI's world communicator. Started without mpirun, a process is a
/// one-rank singleton job, so the same binary serves both.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm

    /// Initialises MPI once per process.
    public init() {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 { MPI_Init(nil, nil) }
        comm = cmpi_comm_world()
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    public func finalize() {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        if flag == 0 { MPI_Finalize() }
    }

    public func barrier() { MPI_Barrier(comm) }

    // Every buffer travels as elements of a contiguous byte type of the element's stride: one code
    // path for all element types, and counts in elements (MPI counts are Int32).
    private var elementTypes: [Int: MPI_Datatype] = [:]

    private func datatype<T>(_ type: T.Type) -> MPI_Datatype {
        let stride = MemoryLayout<T>.stride
        if let t = elementTypes[stride] { return t }
        var t: MPI_Datatype?
        MPI_Type_contiguous(Int32(stride), cmpi_byte(), &t)
        MPI_Type_commit(&t)
        elementTypes[stride] = t!
        return t!
    }

    private func counts(_ counts: [Int]) -> [Int32] {
        counts.map { c in
            guard c <= Int(Int32.max) else {
                abort("a collective of \(c) elements exceeds MPI's 32-bit counts; use more ranks or smaller batches", code: 3)
            }
            return Int32(c)
        }
    }

    public func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                               counts: [Int], displacements: [Int]) {
        let c = self.counts(counts), d = self.counts(displacements), t = datatype(T.self)
        MPI_Allgatherv(UnsafeRawPointer(send.baseAddress), c[rank], t,
                       UnsafeMutableRawPointer(recv.baseAddress), c, d, t, comm)
    }

    public func allgather<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>) {
        let c = counts([send.count])[0], t = datatype(T.self)
        MPI_Allgather(UnsafeRawPointer(send.baseAddress), c, t, UnsafeMutableRawPointer(recv.baseAddress), c, t, comm)
    }

    public func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], displacements: [Int], root: Int) {
        let c = self.counts(counts), d = self.counts(displacements), t = datatype(T.self)
        MPI_Gatherv(UnsafeRawPointer(send.baseAddress), c[rank], t,
                    UnsafeMutableRawPointer(recv.baseAddress), c, d, t, Int32(root), comm)
    }

    public func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                             into recv: UnsafeMutableBufferPointer<T>, root: Int) {
        let c = self.counts(counts), d = self.counts(displacements), t = datatype(T.self)
        MPI_Scatterv(UnsafeRawPointer(send.baseAddress), c, d, t,
                     UnsafeMutableRawPointer(recv.baseAddress), c[rank], t, Int32(root), comm)
    }

    public func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {
        MPI_Bcast(UnsafeMutableRawPointer(buffer.baseAddress), counts([buffer.count])[0], datatype(T.self), Int32(root), comm)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, counts([values.count])[0], cmpi_double(), cmpi_op_sum(), comm)
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, counts([values.count])[0], cmpi_double(), cmpi_op_max(), comm)
    }

    public func abort(_ reason: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("spinnprune: rank \(rank): \(reason)\n".utf8))
        if size > 1 { MPI_Abort(comm, code) }
        exit(code)
    }
}
