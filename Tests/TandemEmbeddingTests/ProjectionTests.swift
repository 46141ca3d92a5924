import CKernels
import Testing
import TandemTensor
@testable import TandemEmbedding

@Suite("Projection: the small-batch kernel against the reference product")
struct ProjectionTests {
    @Test("the small-batch kernel equals the reference product for 1 to 48 rows and any panel range")
    func smallKernel() throws {
        let (k, n) = (40, 64)
        var rng = SeededGenerator(seed: 11)
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
}
