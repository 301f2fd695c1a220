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

    // Every buffer travels as bytes: one code path for all element types.
    private func bytes<T>(_ counts: [Int], _ type: T.Type) -> [Int32] {
        counts.map { Int32($0 * MemoryLayout<T>.stride) }
    }

    public func allgatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                               counts: [Int], displacements: [Int]) {
        let c = bytes(counts, T.self), d = bytes(displacements, T.self)
        MPI_Allgatherv(UnsafeRawPointer(send.baseAddress), c[rank], cmpi_byte(),
                       UnsafeMutableRawPointer(recv.baseAddress), c, d, cmpi_byte(), comm)
    }

    public func gatherv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], displacements: [Int], root: Int) {
        let c = bytes(counts, T.self), d = bytes(displacements, T.self)
        MPI_Gatherv(UnsafeRawPointer(send.baseAddress), c[rank], cmpi_byte(),
                    UnsafeMutableRawPointer(recv.baseAddress), c, d, cmpi_byte(), Int32(root), comm)
    }

    public func scatterv<T: BitwiseCopyable>(_ send: UnsafeBufferPointer<T>, counts: [Int], displacements: [Int],
                                             into recv: UnsafeMutableBufferPointer<T>, root: Int) {
        let c = bytes(counts, T.self), d = bytes(displacements, T.self)
        MPI_Scatterv(UnsafeRawPointer(send.baseAddress), c, d, cmpi_byte(),
                     UnsafeMutableRawPointer(recv.baseAddress), c[rank], cmpi_byte(), Int32(root), comm)
    }

    public func broadcast<T: BitwiseCopyable>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {
        MPI_Bcast(UnsafeMutableRawPointer(buffer.baseAddress), Int32(buffer.count * MemoryLayout<T>.stride),
                  cmpi_byte(), Int32(root), comm)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, Int32(values.count), cmpi_double(), cmpi_op_sum(), comm)
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        MPI_Allreduce(cmpi_in_place(), values.baseAddress, Int32(values.count), cmpi_double(), cmpi_op_max(), comm)
    }

    public func abort(_ reason: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("spinnprune: rank \(rank): \(reason)\n".utf8))
        if size > 1 { MPI_Abort(comm, code) }
        exit(code)
    }
}
