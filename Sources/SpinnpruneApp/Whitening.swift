#if canImport(Glibc)
import Glibc
#endif
import SpikeCluster
import SpikeData

/// Patch whitening (ZCA on image patches with a PCA cut), as the reference simulator's
/// `process::WhiteningPatches(patch_size, eps, pca_compress, stride, max_sample)` does it
/// (`src/process/WhitenPatches.cpp`), the CIFAR-10 pre-processing:
///
/// 1. Fit on the training set, in file order: every `p x p x C` patch at positions `0, s, 2s, ...` in
///    both directions, whole images at a time until at least `maxPatches` patches are taken. Pixels
///    are bytes scaled to [0, 1].
/// 2. Covariance of the patch vectors (divided by the patch count), eigen-decomposed; only the
///    `floor(n keep)` components of largest eigenvalue are kept (n = p p C), and
///    `W = sum_k e_k e_k^T / sqrt(lambda_k + eps)`.
/// 3. One filter per channel z: the row of W at the patch centre of channel z (the response to an
///    impulse there), a `p x p x C` kernel, minus its own mean.
/// 4. Applying: each output pixel and channel is the filter correlated with the image around it
///    (borders clamped); no mean is subtracted from the image (the filters have zero sum instead).
///
/// Rank invariance: the patch moments are sums of products of byte values, so they are computed
/// exactly (integers, held exactly by Double below 2^53) and their sum over ranks does not depend
/// on how the images were split. Everything after them is computed identically on every rank.
struct PatchWhitening: Sendable {
    let patch: Int
    let channels: Int
    /// `[z][dy][dx][c]`: the filter producing channel z.
    let filters: [Float]
    /// Components kept, of `patch * patch * channels`.
    let kept: Int
    /// Patches and images the fit used.
    let patches: Int
    let images: Int

    var dimension: Int { patch * patch * channels }

    /// Patch positions along one axis of length `n`: 0, stride, ... up to n - patch.
    static func positions(_ n: Int, patch: Int, stride: Int) -> Int { n >= patch ? (n - patch) / stride + 1 : 0 }

    /// How many leading images of a set the fit uses: whole images until `maxPatches` is reached.
    static func imagesUsed(count: Int, height: Int, width: Int, patch: Int, stride: Int, maxPatches: Int) -> Int {
        let per = positions(height, patch: patch, stride: stride) * positions(width, patch: patch, stride: stride)
        guard per > 0 else { return 0 }
        return min(count, (maxPatches + per - 1) / per)
    }

    /// Sums over the patches of the images `range` of `x_i` and of `x_i x_j` (the full symmetric
    /// matrix, row-major), with x the byte values of a patch in `(dy, dx, c)` order. Exact.
    static func moments(_ images: ImageSet, range: Range<Int>, patch: Int, stride: Int) -> (sums: [Double], products: [Double], patches: Int) {
        let c = images.channels, n = patch * patch * c
        let py = positions(images.height, patch: patch, stride: stride), px = positions(images.width, patch: patch, stride: stride)
        var sums = [Double](repeating: 0, count: n)
        var products = [Double](repeating: 0, count: n * n)
        guard py > 0 && px > 0 && !range.isEmpty else { return (sums, products, 0) }
        // Per block of patches the products are summed in Int32 (at most 32768 * 255^2 < 2^31).
        let block = 32768
        var acc = [Int32](repeating: 0, count: n * n)
        var sumAcc = [Int64](repeating: 0, count: n)
        var inBlock = 0
        let perImage = py * px
        var rows = [Int32](repeating: 0, count: perImage * n)
        func flush() {
            for i in 0..<n { for j in i..<n { products[i * n + j] += Double(acc[i * n + j]) } }
            for i in 0..<(n * n) { acc[i] = 0 }
            inBlock = 0
        }
        images.pixels.withUnsafeBufferPointer { pix in
            for img in range {
                let base = img * images.imageSize
                // The image's patches, one row each.
                var r = 0
                for y0 in 0..<py {
                    for x0 in 0..<px {
                        var k = r * n
                        for dy in 0..<patch {
                            let rowStart = base + ((y0 * stride + dy) * images.width + x0 * stride) * c
                            for e in 0..<(patch * c) { rows[k] = Int32(pix[rowStart + e]); k += 1 }
                        }
                        r += 1
                    }
                }
                var p = 0
                while p < perImage {
                    if inBlock + 4 > block { flush() }
                    let take = min(4, perImage - p)
                    rows.withUnsafeBufferPointer { rw in
                        acc.withUnsafeMutableBufferPointer { a in
                            accumulate(rows: rw.baseAddress! + p * n, count: take, n: n, into: a.baseAddress!)
                        }
                    }
                    for q in p..<(p + take) { for i in 0..<n { sumAcc[i] += Int64(rows[q * n + i]) } }
                    inBlock += take
                    p += take
                }
            }
        }
        flush()
        for i in 0..<n {
            sums[i] = Double(sumAcc[i])
            for j in 0..<i { products[i * n + j] = products[j * n + i] }
        }
        return (sums, products, range.count * perImage)
    }

    /// `acc[i][j] += sum over the count (1-4) rows r of r[i] r[j]`, upper triangle.
    @inline(__always)
    static func accumulate(rows: UnsafePointer<Int32>, count: Int, n: Int, into acc: UnsafeMutablePointer<Int32>) {
        let a = rows, b = rows + n, c = rows + 2 * n, d = rows + 3 * n
        switch count {
        case 4:
            for i in 0..<n {
                let ai = a[i], bi = b[i], ci = c[i], di = d[i]
                let row = acc + i * n
                for j in i..<n { row[j] = row[j] &+ ai &* a[j] &+ bi &* b[j] &+ ci &* c[j] &+ di &* d[j] }
            }
        default:
            for r in 0..<count {
                let v = rows + r * n
                for i in 0..<n {
                    let vi = v[i]
                    let row = acc + i * n
                    for j in i..<n { row[j] = row[j] &+ vi &* v[j] }
                }
            }
        }
    }

    /// Covariance (population) of patches of values `byte / 255`, from the exact moments.
    static func covariance(sums: [Double], products: [Double], patches: Int) -> [Double] {
        let n = sums.count, count = Double(patches)
        var cov = [Double](repeating: 0, count: n * n)
        let mean = sums.map { $0 / count }
        for i in 0..<n {
            for j in 0..<n {
                cov[i * n + j] = (products[i * n + j] / count - mean[i] * mean[j]) / (255.0 * 255.0)
            }
        }
        return cov
    }

    /// `W = sum over the kept components of e e^T / sqrt(lambda + eps)`: the eigenvectors of the
    /// `kept` largest eigenvalues (by magnitude, as singular values of the covariance).
    static func whiteningMatrix(covariance: [Double], n: Int, epsilon: Double, kept: Int) -> [Double] {
        let (values, vectors) = symmetricEigen(covariance, n: n)
        let order = (0..<n).sorted { abs(values[$0]) != abs(values[$1]) ? abs(values[$0]) > abs(values[$1]) : $0 < $1 }
        var w = [Double](repeating: 0, count: n * n)
        for k in order.prefix(kept) {
            let scale = 1 / (abs(values[k]) + epsilon).squareRoot()
            let e = Array(vectors[(k * n)..<((k + 1) * n)])
            for i in 0..<n { for j in 0..<n { w[i * n + j] += e[i] * e[j] * scale } }
        }
        return w
    }

    /// The reference's component count: `floor(float(n) * float(keep))`.
    static func keptComponents(dimension n: Int, keep: Double) -> Int { Int(Float(n) * Float(keep)) }

    /// The per-channel filters from W: the row at the centre of channel z, minus its mean.
    static func filters(whitening w: [Double], patch: Int, channels: Int) -> [Float] {
        let n = patch * patch * channels, h = patch / 2
        var out = [Float](repeating: 0, count: channels * n)
        for z in 0..<channels {
            let row = (h * patch + h) * channels + z
            let response = Array(w[(row * n)..<((row + 1) * n)])
            let mean = response.reduce(0, +) / Double(n)
            for j in 0..<n { out[z * n + j] = Float(response[j] - mean) }
        }
        return out
    }

    /// Fits the whitening on the leading training images (see the type's description).
    static func fit(_ images: ImageSet, patch: Int, stride: Int, epsilon: Double, keep: Double, maxPatches: Int,
                    comm: Communicator) -> PatchWhitening {
        let used = imagesUsed(count: images.count, height: images.height, width: images.width, patch: patch,
                              stride: stride, maxPatches: maxPatches)
        let mine = MapSlices(count: used, ranks: comm.size).range(of: comm.rank)
        var (sums, products, _) = moments(images, range: mine, patch: patch, stride: stride)
        sums.withUnsafeMutableBufferPointer { comm.allreduceSum($0) }
        products.withUnsafeMutableBufferPointer { comm.allreduceSum($0) }
        let per = positions(images.height, patch: patch, stride: stride) * positions(images.width, patch: patch, stride: stride)
        let n = patch * patch * images.channels
        let kept = keptComponents(dimension: n, keep: keep)
        let cov = covariance(sums: sums, products: products, patches: max(used * per, 1))
        let w = whiteningMatrix(covariance: cov, n: n, epsilon: epsilon, kept: kept)
        return PatchWhitening(patch: patch, channels: images.channels, filters: filters(whitening: w, patch: patch, channels: images.channels),
                              kept: kept, patches: used * per, images: used)
    }

    /// Whitens one image (bytes, HWC) and splits the result by sign: output HWC with channels
    /// `(2z: max(0, v), 2z + 1: max(0, -v))` for each input channel z, like the DoG's (on, off).
    /// Every output value is summed in (dy, dx, c) order, in Float as in the reference.
    func apply(image: UnsafeBufferPointer<UInt8>, height: Int, width: Int, into out: UnsafeMutableBufferPointer<Float>) {
        let c = channels, h = patch / 2, n = dimension
        let pw = width + 2 * h, ph = height + 2 * h
        // Clamp-padded planes [channel][row][column] of values byte / 255.
        var planes = [Float](repeating: 0, count: c * ph * pw)
        for ch in 0..<c {
            for y in 0..<ph {
                let sy = min(max(y - h, 0), height - 1)
                for x in 0..<pw {
                    let sx = min(max(x - h, 0), width - 1)
                    planes[(ch * ph + y) * pw + x] = Float(image[(sy * width + sx) * c + ch]) / 255
                }
            }
        }
        var acc = [Float](repeating: 0, count: height * width)
        planes.withUnsafeBufferPointer { pl in
            filters.withUnsafeBufferPointer { f in
                acc.withUnsafeMutableBufferPointer { a in
                    for z in 0..<c {
                        for i in 0..<a.count { a[i] = 0 }
                        for dy in 0..<patch {
                            for dx in 0..<patch {
                                for ch in 0..<c {
                                    let weight = f[z * n + (dy * patch + dx) * c + ch]
                                    for y in 0..<height {
                                        let src = pl.baseAddress! + (ch * ph + y + dy) * pw + dx
                                        let dst = a.baseAddress! + y * width
                                        for x in 0..<width { dst[x] += weight * src[x] }
                                    }
                                }
                            }
                        }
                        for p in 0..<(height * width) {
                            let v = a[p]
                            out[(p * c + z) * 2] = max(0, v)
                            out[(p * c + z) * 2 + 1] = max(0, -v)
                        }
                    }
                }
            }
        }
    }
}

/// Eigen-decomposition of a symmetric `n x n` matrix (row-major) by the cyclic Jacobi method, in
/// Double: `values[k]` and `vectors[k * n ..< (k + 1) * n]` (unit length), unsorted. Deterministic:
/// the same input gives the same output bits on every rank.
func symmetricEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
    precondition(matrix.count == n * n, "symmetricEigen: \(matrix.count) entries for \(n)x\(n)")
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)   // columns are the eigenvectors while iterating
    for i in 0..<n { v[i * n + i] = 1 }
    a.withUnsafeMutableBufferPointer { a in
        v.withUnsafeMutableBufferPointer { v in
            for sweep in 0..<50 {
                var off = 0.0
                for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += abs(a[p * n + q]) } }
                if off == 0 { break }
                for p in 0..<n {
                    for q in (p + 1)..<max(p + 1, n) {
                        let apq = a[p * n + q]
                        if apq == 0 { continue }
                        let app = a[p * n + p], aqq = a[q * n + q]
                        // After a few sweeps an element below both diagonals' precision is zeroed
                        // (Numerical Recipes' rule), so the iteration ends with exact zeros.
                        let g = 100 * abs(apq)
                        if sweep > 3 && abs(app) + g == abs(app) && abs(aqq) + g == abs(aqq) {
                            a[p * n + q] = 0; a[q * n + p] = 0
                            continue
                        }
                        let theta = (aqq - app) / (2 * apq)
                        let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                        let cs = 1 / (t * t + 1).squareRoot(), sn = t * cs
                        for k in 0..<n where k != p && k != q {
                            let akp = a[k * n + p], akq = a[k * n + q]
                            let np = cs * akp - sn * akq, nq = sn * akp + cs * akq
                            a[k * n + p] = np; a[p * n + k] = np
                            a[k * n + q] = nq; a[q * n + k] = nq
                        }
                        a[p * n + p] = app - t * apq
                        a[q * n + q] = aqq + t * apq
                        a[p * n + q] = 0; a[q * n + p] = 0
                        for k in 0..<n {
                            let vkp = v[k * n + p], vkq = v[k * n + q]
                            v[k * n + p] = cs * vkp - sn * vkq
                            v[k * n + q] = sn * vkp + cs * vkq
                        }
                    }
                }
            }
        }
    }
    let values = (0..<n).map { a[$0 * n + $0] }
    var vectors = [Double](repeating: 0, count: n * n)
    for k in 0..<n { for i in 0..<n { vectors[k * n + i] = v[i * n + k] } }
    return (values, vectors)
}
