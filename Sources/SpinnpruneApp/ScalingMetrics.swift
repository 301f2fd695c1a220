import SpikeCluster
import SpikeModel

/// The per-stage figures of metrics.json's "scaling" (docs/SCALING.md): for each stage every rank's
/// wall time, time inside collectives (the `TimedCommunicator` the job runs on), compute (wall minus
/// collectives), collectives, bytes, and the simulation's work (`WorkCounters`); then the load
/// imbalance, the slowest rank's compute minus the ranks' mean, which is the mean time a rank
/// waited for the slowest one inside the stage's collectives.
final class StageMeter {
    private let timed: TimedCommunicator?
    private var stages: [(name: String, wall: Double, tally: CollectiveTally, work: WorkCounters.Snapshot)] = []

    init(_ comm: Communicator) {
        timed = comm as? TimedCommunicator
        _ = timed?.take()
        _ = WorkCounters.take()
    }

    /// Ends the stage `name` (every rank, at the same point of the job).
    func close(_ name: String, wall: Double) {
        stages.append((name, wall, timed?.take() ?? CollectiveTally(), WorkCounters.take()))
    }

    /// Every rank's figures of the stages closed so far, on every rank (two collectives, not counted
    /// in any stage), as JSON.
    func gather(comm: Communicator) -> [String: Any] {
        let fields = 10
        var local: [Double] = []
        for s in stages {
            local += [s.wall, s.tally.seconds, Double(s.tally.calls), Double(s.tally.bytesSent), Double(s.tally.bytesReceived),
                      Double(s.work.spikes), Double(s.work.events), Double(s.work.samples), Double(s.work.steps), Double(s.work.offered)]
        }
        let all = comm.allgatherv(local)
        let perRank = all.count / max(comm.size, 1)
        let count = min(stages.count, perRank / fields)
        func column(_ stage: Int, _ field: Int) -> [Double] {
            (0..<comm.size).map { all[$0 * perRank + stage * fields + field] }
        }
        func ints(_ v: [Double]) -> [Int] { v.map { Int($0) } }
        var out: [String: Any] = [:]
        for k in 0..<count {
            let wall = column(k, 0), coll = column(k, 1)
            let compute = zip(wall, coll).map { max(0, $0 - $1) }
            let mean = compute.reduce(0, +) / Double(compute.count)
            let received = column(k, 4)
            let steps = Int(column(k, 8)[0])
            out[stages[k].name] = [
                "wall": wall, "collective_seconds": coll, "compute": compute,
                "collectives": ints(column(k, 2)), "bytes_sent": ints(column(k, 3)), "bytes_received": ints(received),
                "input_spikes": ints(column(k, 5)), "offered_spikes": ints(column(k, 9)), "synaptic_events": ints(column(k, 6)),
                "samples": Int(column(k, 7)[0]), "timesteps": steps,
                "imbalance_seconds": (compute.max() ?? 0) - mean,
                "bytes_per_timestep": steps > 0 ? received.reduce(0, +) / Double(received.count) / Double(steps) : 0,
            ] as [String: Any]
        }
        return ["ranks": comm.size, "stage_order": stages.prefix(count).map(\.name), "stages": out]
    }
}
