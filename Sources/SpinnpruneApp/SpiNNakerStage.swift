import Foundation
import SpikeCluster
import SpikeModel
import SpiNNakerMapping

/// The SpiNNaker side of a run: the network as the mapper sees it, the mapping, and the traffic of
/// real test images through it.

/// The chain to map: the input (on/off channels) then every configured layer with the connection
/// it receives; `masks` (by layer name) are the trained conv layers' kept synapses.
func spinnakerNetwork(_ config: ExperimentConfig, shapes: [Shape], masks: [String: [UInt8]] = [:]) -> [NetworkLayer] {
    var network = [NetworkLayer(name: "input", width: shapes[0].width, height: shapes[0].height, channels: shapes[0].channels)]
    for (k, l) in config.layers.enumerated() {
        let s = shapes[k + 1]
        let connection: Connection
        switch l.spec {
        case .conv(let c): connection = .conv(kernel: c.kernel, stride: c.stride, pad: c.pad)
        case .pool(let p): connection = .pool(window: p.window, stride: p.stride, pad: p.pad)
        }
        network.append(NetworkLayer(name: l.spec.name, width: s.width, height: s.height, channels: s.channels,
                                    connection: connection, mask: masks[l.spec.name]))
    }
    return network
}

/// Maps the network onto the machine with the config's placer and NER radius.
func mapForRun(_ config: ExperimentConfig, shapes: [Shape], machine: Machine,
               masks: [String: [UInt8]] = [:]) throws -> NetworkMapping {
    try mapNetwork(spinnakerNetwork(config, shapes: shapes, masks: masks), onto: machine,
                   maxNeuronsPerCore: config.spinnaker.neuronsPerCore,
                   placer: Placer(rawValue: config.spinnaker.placer) ?? .best, nerRadius: config.spinnaker.nerRadius)
}

/// One trained conv layer, whole, as the coordinator holds it after the gather.
struct TrainedConv {
    var slice: ConvSlice
    var pools: [PoolSpec]
}

/// Runs `input` (the first test images, encoded) through the trained layers on this process alone
/// and feeds every layer's spikes, image by image, to a traffic counter of `mapping`.
func emulateTraffic(_ mapping: NetworkMapping, machine: Machine, layers: [TrainedConv], input: SpikeDataset,
                    timesteps: Int, batchSize: Int) -> TrafficReport {
    let counter = TrafficCounter(mapping: mapping, timesteps: timesteps, machine: machine)
    // Every network layer's spike times for every image: input, then conv, then its pools.
    var perLayer: [SpikeDataset] = [input]
    var current = input
    var stats = ForwardStats()
    for trained in layers {
        let out = runStage(Stage(conv: trained.slice, pools: []), on: current, timesteps: timesteps, batchSize: batchSize,
                           exchange: true, comm: LocalCommunicator(), stats: &stats)!
        perLayer.append(out)
        current = out
        for p in trained.pools {
            current = maxPool(current, p)
            perLayer.append(current)
        }
    }
    for image in 0..<input.count {
        for (l, data) in perLayer.enumerated() where l < mapping.layers.count {
            let n = data.shape.count
            data.times.withUnsafeBufferPointer { all in
                counter.add(layer: l, times: UnsafeBufferPointer(rebasing: all[(image * n)..<((image + 1) * n)]))
            }
        }
        counter.endImage()
    }
    return counter.report
}

/// Spiking max pooling of spike times: a pooled neuron fires at the first spike in its window.
func maxPool(_ data: SpikeDataset, _ p: PoolSpec) -> SpikeDataset {
    let i = data.shape, o = p.outputShape(i)
    var out = [UInt8](repeating: noSpike, count: data.count * o.count)
    for image in 0..<data.count {
        let src = image * i.count, dst = image * o.count
        for oy in 0..<o.height {
            for ox in 0..<o.width {
                for c in 0..<o.channels {
                    var t = noSpike
                    for ky in 0..<p.window {
                        let y = oy * p.stride - p.pad + ky
                        guard y >= 0, y < i.height else { continue }
                        for kx in 0..<p.window {
                            let x = ox * p.stride - p.pad + kx
                            guard x >= 0, x < i.width else { continue }
                            t = min(t, data.times[src + (y * i.width + x) * i.channels + c])
                        }
                    }
                    out[dst + (oy * o.width + ox) * o.channels + c] = t
                }
            }
        }
    }
    return SpikeDataset(shape: o, count: data.count, times: out)
}
