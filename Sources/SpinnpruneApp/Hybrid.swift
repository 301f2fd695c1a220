import SpikeCluster
import SpikeModel

/// Hybrid distribution (`distribution.groups`, `--groups`): the N ranks form G groups of N / G
/// consecutive ranks. Training runs on all N ranks, each owning a slice of every layer's maps as
/// without groups: STDP learns sample after sample, so its samples cannot be shared out without
/// changing what it learns. When the whole train and test sets go through a trained layer (the next
/// layer's input and the readout features), group g takes a contiguous share of the images, by
/// global image index, and its ranks own slices of the layer's maps; the groups then swap their
/// outputs so every rank holds every image's, as without groups. Slicing maps alone stops helping
/// once ranks outnumber maps (or the per-timestep exchange costs more than a slice computes);
/// images are independent, so groups keep scaling. See docs/METHOD.md.
final class RankGroups {
    /// G.
    let count: Int
    /// This rank's group.
    let index: Int
    /// The ranks of this group, in world rank order (the world itself when G = 1).
    let group: Communicator
    /// The rank at this rank's position in every group, in group order; nil when G = 1.
    let across: Communicator?
    let world: Communicator

    /// Checks `groups` against the world's rank count (all ranks fail together, the coordinator
    /// naming `field` of `file`), then splits the world.
    init(groups: Int, world: Communicator, field: String, file: String) throws {
        try agreeOrFail(Result {
            guard groups >= 1, world.size % groups == 0 else {
                let fits = (1...world.size).filter { world.size % $0 == 0 }.map(String.init).joined(separator: ", ")
                throw ConfigError(file: file, field: field,
                                  message: "\(groups) groups do not divide the \(world.size) rank(s) of this job: "
                                    + "every group needs the same number of ranks (here groups can be \(fits))")
            }
        }, comm: world)
        self.world = world
        count = groups
        let per = world.size / groups
        index = world.rank / per
        if groups == 1 {
            group = world
            across = nil
        } else {
            group = world.split(color: index, key: world.rank)
            across = world.split(color: world.rank % per, key: world.rank)
        }
    }

    /// The groups of a run: `--groups` when given, else the config's `distribution.groups`.
    convenience init(_ options: TrainOptions, config: ExperimentConfig, world: Communicator) throws {
        try self.init(groups: config.groups.groups(ranks: world.size), world: world, field: options.groups == nil ? "distribution.groups" : "--groups",
                      file: options.groups == nil ? options.configPath : "command line")
    }

    /// What the progress shows at the start.
    var summary: String {
        count == 1 ? "" : "\(count) groups of \(world.size / count) rank(s): training on all ranks, images shared out by group for the feature extraction"
    }

    /// The whole train and test sets through a trained stage. Returns the layer's readout features
    /// (`features.train`, `features.test` `[image][map][cell]`, every rank, when `readHere`) and,
    /// when `more` (a later layer needs them), replaces `train` and `test` by the stage's output for
    /// every image, on every rank. `stage` and `slices` are the world's (training) slicing.
    func forward(_ stage: Stage, slices: MapSlices, more: Bool, readHere: Bool, config: ExperimentConfig,
                 train: inout SpikeDataset, test: inout SpikeDataset, stats: inout ForwardStats,
                 progress: Progress) -> LayerFeatures {
        let spec = stage.conv.spec
        // The layer over this group's ranks: with G = 1 the training slices as they are.
        let mine = count == 1 ? slices : MapSlices(count: spec.maps, ranks: group.size)
        let slice = count == 1 ? stage.conv : stage.conv.resliced(to: mine.range(of: group.rank), slices: slices, comm: world)
        let run = Stage(conv: slice, pools: more ? stage.pools : [])
        let features = LayerFeatures(slice: slice, slices: mine, grid: config.readout.grid, timesteps: config.timesteps)
        for split in [0, 1] {
            let data = split == 0 ? train : test
            let shares = MapSlices(count: data.count, ranks: count)
            let images = shares.range(of: index)
            let label = count == 1 ? "" : " (group \(index + 1) of \(count): images \(images.lowerBound)..<\(images.upperBound))"
            if readHere { features.start(images: images.count) }
            let out = runStage(run, on: data, images: images, timesteps: config.timesteps, batchSize: config.batchSize,
                               exchange: more, comm: group, stats: &stats,
                               inspectConv: readHere ? { image, times in features.add(image: image, times: times) } : nil,
                               progress: { done in
                if done == images.count || done % (config.batchSize * 40) < config.batchSize {
                    progress.say("\(spec.name): \(split == 0 ? "train" : "test") images through the layer\(label): \(done)/\(images.count)")
                }
            })
            if var out {
                if let across {
                    let per = out.shape.count
                    out = SpikeDataset(shape: out.shape, count: data.count,
                                       times: across.allgatherv(out.times, counts: shares.counts.map { $0 * per }))
                    stats.exchanges += 1
                    stats.bytesExchanged += data.count * per
                }
                if split == 0 { train = out } else { test = out }
            }
            if readHere {
                var all = features.gather(images: images.count, comm: group)
                if let across {
                    let counts = shares.counts.map { $0 * features.dim }
                    all = all.mapStorage(values: { across.allgatherv($0, counts: counts) },
                                         codes: { across.allgatherv($0, counts: counts) })
                    stats.exchanges += 1
                    stats.bytesExchanged += data.count * features.dim * (features.compact ? 1 : MemoryLayout<Float>.size)
                }
                if split == 0 { features.train = all } else { features.test = all }
            }
        }
        return features
    }
}
