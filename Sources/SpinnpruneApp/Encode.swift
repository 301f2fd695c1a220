import SpikeCluster
import SpikeData
import SpikeModel

/// Input pipeline: on/off DoG or patch whitening split by sign (2 channels per image channel),
/// min-max scaling fitted on the training set, latency coding. Each rank encodes a contiguous share
/// of the images; the spike times are allgathered. Min and max are exact under any split, and the
/// whitening's fit is exact too (`PatchWhitening`), so the result does not depend on the rank count.
///
/// Scaling: per feature (pixel, channel) after the DoG; one global minimum and maximum over every
/// feature after whitening (the reference's `SampleScaling` on its CIFAR-10 pipeline).
final class Encoder {
    let dog: ExperimentConfig.DoG
    let whitening: ExperimentConfig.Whitening?
    let timesteps: Int
    let comm: Communicator
    /// Fitted by the first `encode(_:range: nil)` (the training set) when whitening is configured.
    private(set) var whitener: PatchWhitening?

    init(dog: ExperimentConfig.DoG, whitening: ExperimentConfig.Whitening? = nil, timesteps: Int, comm: Communicator) {
        self.dog = dog; self.whitening = whitening; self.timesteps = timesteps; self.comm = comm
    }

    convenience init(config: ExperimentConfig, comm: Communicator) {
        self.init(dog: config.dog, whitening: config.whitening, timesteps: config.timesteps, comm: comm)
    }

    /// One line for the progress output.
    var summary: String {
        guard let w = whitening else {
            return "DoG \(dog.size)/\(dog.sigmaCenter)/\(dog.sigmaSurround)\(dog.opponent ? " colour-opponent" : "") on/off"
        }
        let fit = whitener.map { ", \($0.kept) of \($0.dimension) components, fitted on \($0.patches) patches of \($0.images) images" } ?? ""
        return "patch whitening \(w.patchSize)x\(w.patchSize), eps \(w.epsilon), keep \(w.keep), stride \(w.stride)\(fit), sign split, global min-max"
    }

    func filtered(_ images: ImageSet, share: Range<Int>) -> [Float] {
        let inN = images.imageSize, outN = inN * 2
        var out = [Float](repeating: 0, count: share.count * outN)
        let filter = DoGFilter(size: dog.size, sigmaCenter: dog.sigmaCenter, sigmaSurround: dog.sigmaSurround)
        images.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                for (i, img) in share.enumerated() {
                    let image = UnsafeBufferPointer(rebasing: px[(img * inN)..<((img + 1) * inN)])
                    let dst = UnsafeMutableBufferPointer(rebasing: o[(i * outN)..<((i + 1) * outN)])
                    if let whitener {
                        whitener.apply(image: image, height: images.height, width: images.width, into: dst)
                    } else if dog.opponent {
                        filter.applyOpponent(image: image, height: images.height, width: images.width, into: dst)
                    } else {
                        filter.apply(image: image, height: images.height, width: images.width, channels: images.channels, into: dst)
                    }
                }
            }
        }
        return out
    }

    /// Encodes `images`; with `range == nil` the scaling range (and the whitening) is fitted on them
    /// (training set).
    func encode(_ images: ImageSet, range: FeatureRange?) -> (SpikeDataset, FeatureRange) {
        if let w = whitening, range == nil {
            whitener = PatchWhitening.fit(images, patch: w.patchSize, stride: w.stride, epsilon: w.epsilon, keep: w.keep,
                                          maxPatches: w.maxPatches, comm: comm)
        }
        precondition(whitening == nil || whitener != nil, "Encoder: the training set must be encoded first")
        let shape = Shape(height: images.height, width: images.width, channels: images.channels * 2)
        let shares = MapSlices(count: images.count, ranks: comm.size)
        let mine = shares.range(of: comm.rank)
        let values = filtered(images, share: mine)
        let features = shape.count
        var fitted: FeatureRange
        if let range {
            fitted = range
        } else if whitening != nil {
            var lo = Float.infinity, hi = -Float.infinity
            for v in values { lo = min(lo, v); hi = max(hi, v) }
            var packed = [Double(hi), -Double(lo)]
            packed.withUnsafeMutableBufferPointer { comm.allreduceMax($0) }
            fitted = FeatureRange(minimum: [Float](repeating: Float(-packed[1]), count: features),
                                  maximum: [Float](repeating: Float(packed[0]), count: features))
        } else {
            let local = values.withUnsafeBufferPointer { FeatureRange.fit($0, features: features) }
            var packed = local.maximum.map(Double.init) + local.minimum.map { -Double($0) }
            packed.withUnsafeMutableBufferPointer { comm.allreduceMax($0) }
            fitted = FeatureRange(minimum: packed[features...].map { Float(-$0) }, maximum: packed[..<features].map { Float($0) })
        }
        var codes = [UInt8](repeating: noSpike, count: values.count)
        for i in 0..<values.count {
            codes[i] = latencyStep(fitted.scale(values[i], feature: i % features), timesteps: timesteps)
        }
        let all = comm.size > 1 ? comm.allgatherv(codes, counts: shares.counts.map { $0 * features }) : codes
        return (SpikeDataset(shape: shape, count: images.count, times: all), fitted)
    }
}
