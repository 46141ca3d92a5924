import CKernels
import Testing
@testable import TandemTensor

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
        var rng = SeededGenerator(seed: UInt64(s.m * 1000 + s.n * 10 + s.k))
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
        var rng = SeededGenerator(seed: 7)
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

#if canImport(Glibc)
import Glibc
func erfDouble(_ x: Double) -> Double { Glibc.erf(x) }
#else
import Darwin
func erfDouble(_ x: Double) -> Double { Darwin.erf(x) }
#endif
