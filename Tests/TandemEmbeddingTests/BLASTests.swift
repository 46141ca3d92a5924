import CKernels
import Testing
@testable import TandemEmbedding

@Suite("BLAS against the reference matmul")
struct BLASTests {
    struct Shape: CustomStringConvertible, Sendable {
        let m, n, k: Int
        let ta, tb: Bool
        var description: String { "\(m)×\(k)·\(k)×\(n) ta:\(ta) tb:\(tb)" }
    }

    static let shapes: [Shape] = [
        Shape(m: 1, n: 1, k: 1, ta: false, tb: false),
        Shape(m: 7, n: 13, k: 5, ta: false, tb: true),
        Shape(m: 15, n: 384, k: 384, ta: false, tb: true),
        Shape(m: 33, n: 1536, k: 384, ta: false, tb: true),
        Shape(m: 17, n: 31, k: 129, ta: true, tb: false),
        Shape(m: 64, n: 65, k: 63, ta: true, tb: true),
        Shape(m: 3, n: 1, k: 1000, ta: false, tb: false),
    ]

    @Test("sgemm equals the triple loop within 1e-4 relative", arguments: shapes)
    func matchesReference(_ s: Shape) {
        var rng = SplitMix(seed: UInt64(s.m * 1000 + s.n * 10 + s.k))
        let a = (0..<(s.m * s.k)).map { _ in rng.nextFloat() }
        let b = (0..<(s.k * s.n)).map { _ in rng.nextFloat() }
        let c0 = (0..<(s.m * s.n)).map { _ in rng.nextFloat() }
        var fast = c0, slow = c0
        let lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n
        BLAS.gemm(transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2, c: &fast, ldc: s.n)
        referenceGemm(transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2, c: &slow, ldc: s.n)
        let scale = Float(s.k).squareRoot()
        let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * scale + 1e-6, "\(s): max abs diff \(worst)")
    }

    @Test("the small-batch kernel equals the reference product for 1 to 48 rows and any panel range")
    func smallKernel() throws {
        let (k, n) = (40, 64)
        var rng = SplitMix(seed: 11)
        let weight = Tensor(shape: [n, k], values: (0..<(n * k)).map { _ in rng.nextFloat() })
        let bias = Tensor(shape: [n], values: (0..<n).map { _ in rng.nextFloat() })
        let projection = Projection(Linear(weight: weight, bias: bias))
        for rows in [1, 2, 5, 6, 7, 13, 48, 49] {
            let x = (0..<(rows * k)).map { _ in rng.nextFloat() }
            var expected = (0..<rows).flatMap { _ in Array(bias.buffer) }
            referenceGemm(transposeB: true, m: rows, n: n, k: k, a: x, lda: k, b: weight.pointer, ldb: k, beta: 1, c: &expected, ldc: n)
            var whole = [Float](repeating: .nan, count: rows * n)
            projection.forward(x, rows: rows, into: &whole)
            #expect(maxAbsDifference(whole, expected) < 1e-4, "rows \(rows)")
            // Two members computing their column shares fill the whole result between them.
            var split = [Float](repeating: .nan, count: rows * n)
            let team = Team(size: 2)
            for member in 0..<2 { projection.forward(x, rows: rows, into: &split, share: WorkShare(index: member, team: team)) }
            #expect(maxAbsDifference(split, whole) < 1e-5, "rows \(rows), split by columns")
        }
        #expect(Projection.smallKernelAvailable == (tk_small_gemm_available() != 0))
    }

    @Test("vectorised GELU's erf stays within 5e-7 of erf in double precision")
    func erfAccuracy() {
        var worst: Double = 0
        var x: Float = -6
        while x <= 6 {
            let v = tk_erf(x)
            worst = max(worst, abs(Double(v) - erfDouble(Double(x))))
            x += 0.001
        }
        #expect(worst < 5e-7, "max erf error \(worst)")
    }

    @Test("LayerNorm and softmax kernels match straightforward double-precision versions")
    func rowKernels() {
        var rng = SplitMix(seed: 7)
        let width = 389
        var row = (0..<width).map { _ in rng.nextFloat() * 10 }
        let weight = (0..<width).map { _ in rng.nextFloat() }, bias = (0..<width).map { _ in rng.nextFloat() }
        let mean = row.reduce(0.0) { $0 + Double($1) } / Double(width)
        let variance = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(width)
        let expected = (0..<width).map { (Double(row[$0]) - mean) / (variance + 1e-12).squareRoot() * Double(weight[$0]) + Double(bias[$0]) }
        let input = row
        Kernels.addLayerNorm(input, residual: nil, into: &row, rows: 1, width: width, weight: weight, bias: bias, eps: 1e-12)
        #expect(zip(row, expected).map { abs(Double($0) - $1) }.max()! < 1e-5)

        var logits: [Float] = [1000, 999, -1000, 0]
        Kernels.softmax(&logits, count: 4)
        #expect(abs(logits.reduce(0, +) - 1) < 1e-6 && logits[0] > logits[1] && logits[2] == 0)
    }
}

/// Deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

#if canImport(Glibc)
import Glibc
func erfDouble(_ x: Double) -> Double { Glibc.erf(x) }
#else
import Darwin
func erfDouble(_ x: Double) -> Double { Darwin.erf(x) }
#endif
