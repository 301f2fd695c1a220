import Synchronization

/// What the simulation did on this rank, for the scaling metrics: added to once per epoch
/// (training) or per stage run (inference), never per synapse, and read per stage by the job.
///
/// - `spikes`: input spikes integrated (training: those of each patch up to the step this rank
///   decided its candidate; inference: every spike of every receptive field, one per output cell);
/// - `offered`: the input spikes there were to integrate (training: every spike of each patch;
///   inference: the same as `spikes`);
/// - `events`: synaptic events, `spikes` times the maps this rank integrates them into;
/// - `samples`: patches (training) or images (inference) simulated;
/// - `steps`: simulated timesteps: T per training sample, T per batch of images in inference
///   (a batch is simulated, and its spikes exchanged, together).
public enum WorkCounters {
    public struct Snapshot: Sendable, Equatable {
        public var spikes = 0, offered = 0, events = 0, samples = 0, steps = 0
        public init() {}
    }

    private static let spikes = Atomic<Int>(0)
    private static let offered = Atomic<Int>(0)
    private static let events = Atomic<Int>(0)
    private static let samples = Atomic<Int>(0)
    private static let steps = Atomic<Int>(0)

    public static func add(spikes s: Int, offered o: Int, events e: Int, samples n: Int, steps t: Int) {
        spikes.add(s, ordering: .relaxed)
        offered.add(o, ordering: .relaxed)
        events.add(e, ordering: .relaxed)
        samples.add(n, ordering: .relaxed)
        steps.add(t, ordering: .relaxed)
    }

    /// The counts since the last call, and zero from now on.
    public static func take() -> Snapshot {
        var s = Snapshot()
        s.spikes = spikes.exchange(0, ordering: .relaxed)
        s.offered = offered.exchange(0, ordering: .relaxed)
        s.events = events.exchange(0, ordering: .relaxed)
        s.samples = samples.exchange(0, ordering: .relaxed)
        s.steps = steps.exchange(0, ordering: .relaxed)
        return s
    }
}
