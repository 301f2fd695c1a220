import Foundation

/// One training epoch of one layer, as the coordinator logged it.
struct EpochRecord {
    var layer: String
    var epoch: Int
    var winnersFraction: Double
    var activeMaps: Int
    var meanThreshold: Double
    var pruned: Double
    var seconds: Double
}

/// `epochs.csv`: every layer's per-epoch training record.
func epochsCSV(_ records: [EpochRecord]) -> String {
    var s = "layer,epoch,winners_fraction,active_maps,mean_threshold,pruned_fraction,seconds\n"
    for r in records {
        s += "\(r.layer),\(r.epoch + 1),\(r.winnersFraction),\(r.activeMaps),\(r.meanThreshold),\(r.pruned),\(r.seconds)\n"
    }
    return s
}

/// `training.svg`: per layer, three panels against the epoch: fraction of samples with a winner,
/// mean threshold, pruned fraction. Plain SVG, no dependency; any browser shows it.
func trainingSVG(_ records: [EpochRecord]) -> String {
    let layers = records.reduce(into: [String]()) { if !$0.contains($1.layer) { $0.append($1.layer) } }
    let panelW = 300.0, panelH = 160.0, pad = 40.0
    let series: [(String, (EpochRecord) -> Double)] = [("samples with a winner", { $0.winnersFraction }),
                                                       ("mean threshold", { $0.meanThreshold }),
                                                       ("pruned fraction", { $0.pruned })]
    let width = pad + Double(series.count) * (panelW + pad), height = pad + Double(layers.count) * (panelH + pad)
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    for (li, layer) in layers.enumerated() {
        let rs = records.filter { $0.layer == layer }
        for (si, (title, value)) in series.enumerated() {
            let x0 = pad + Double(si) * (panelW + pad), y0 = pad + Double(li) * (panelH + pad)
            let vs = rs.map(value)
            let lo = min(vs.min() ?? 0, 0), hi = max(vs.max() ?? 1, lo + 1e-9)
            let n = max(rs.count - 1, 1)
            svg += "<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelW)\" height=\"\(panelH)\" fill=\"none\" stroke=\"#999\"/>\n"
            svg += "<text x=\"\(x0)\" y=\"\(y0 - 6)\">\(layer): \(title)</text>\n"
            svg += "<text x=\"\(x0 - 4)\" y=\"\(y0 + 10)\" text-anchor=\"end\">\(String(format: "%.3g", hi))</text>\n"
            svg += "<text x=\"\(x0 - 4)\" y=\"\(y0 + panelH)\" text-anchor=\"end\">\(String(format: "%.3g", lo))</text>\n"
            svg += "<text x=\"\(x0 + panelW)\" y=\"\(y0 + panelH + 14)\" text-anchor=\"end\">epoch \(rs.count)</text>\n"
            let points = vs.enumerated().map { i, v in
                String(format: "%.1f,%.1f", x0 + panelW * Double(i) / Double(n), y0 + panelH - panelH * (v - lo) / (hi - lo))
            }
            svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
    }
    return svg + "</svg>\n"
}
