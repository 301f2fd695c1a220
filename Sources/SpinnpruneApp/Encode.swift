import SpikeCluster
import SpikeData
import SpikeModel

/// Input pipeline: on/off DoG, per-feature min-max scaling fitted on the training set, latency
/// coding. Each rank encodes a contiguous share of the images; the spike times are allgathered.
/// Min and max are exact under any split, so the result does not depend on the rank count.
struct Encoder {
    let dog: ExperimentConfig.DoG
    let timesteps: Int
    let comm: Communicator

    func filtered(_ images: ImageSet, share: Range<Int>) -> [Float] {
        let filter = DoGFilter(size: dog.size, sigmaCenter: dog.sigmaCenter, sigmaSurround: dog.sigmaSurround)
        let inN = images.imageSize, outN = inN * 2
        var out = [Float](repeating: 0, count: share.count * outN)
        images.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                for (i, img) in share.enumerated() {
                    let image = UnsafeBufferPointer(rebasing: px[(img * inN)..<((img + 1) * inN)])
                    let dst = UnsafeMutableBufferPointer(rebasing: o[(i * outN)..<((i + 1) * outN)])
                    if dog.opponent {
                        filter.applyOpponent(image: image, height: images.height, width: images.width, into: dst)
                    } else {
                        filter.apply(image: image, height: images.height, width: images.width, channels: images.channels, into: dst)
                    }
                }
            }
        }
        return out
    }

    /// Encodes `images`; with `range == nil` the scaling range is fitted on them (training set).
    func encode(_ images: ImageSet, range: FeatureRange?) -> (SpikeDataset, FeatureRange) {
        let shape = Shape(height: images.height, width: images.width, channels: images.channels * 2)
        let shares = MapSlices(count: images.count, ranks: comm.size)
        let mine = shares.range(of: comm.rank)
        let values = filtered(images, share: mine)
        let features = shape.count
        var fitted: FeatureRange
        if let range {
            fitted = range
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
