import CKernels
import TandemTensor

/// Rows of features a linear model multiplies: dense sentence embeddings or sparse n-gram
/// weights. Weights are `[columns × classes]`, row-major.
public protocol FeatureMatrix: Sendable {
    var rows: Int { get }
    var columns: Int { get }
    /// out `[rows × classes]` = self · weights.
    func multiply(_ weights: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>)
    /// out `[columns × classes]` = selfᵀ · g, with g `[rows × classes]`.
    func transposeMultiply(_ g: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>)
    func selecting(rows: [Int]) -> Self
}

extension Matrix: FeatureMatrix {
    public func multiply(_ weights: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        values.withUnsafeBufferPointer { a in
            BLAS.gemm(m: rows, n: classes, k: columns, a: a.baseAddress!, lda: columns, b: weights, ldb: classes, c: out, ldc: classes)
        }
    }

    public func transposeMultiply(_ g: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { out.update(repeating: 0, count: columns * classes); return }
        values.withUnsafeBufferPointer { a in
            BLAS.gemm(transposeA: true, m: columns, n: classes, k: rows, a: a.baseAddress!, lda: columns, b: g, ldb: classes, c: out, ldc: classes)
        }
    }
}

/// Compressed sparse rows.
public struct SparseMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// `rowStart[r]..<rowStart[r + 1]` index `indices` and `values` for row r.
    public let rowStart: [Int]
    public let indices: [Int32]
    public let values: [Float]

    public init(columns: Int, rows: [[(Int32, Float)]]) {
        var start = [0], indices: [Int32] = [], values: [Float] = []
        for row in rows {
            for (index, value) in row { indices.append(index); values.append(value) }
            start.append(indices.count)
        }
        self.rows = rows.count
        self.columns = columns
        rowStart = start
        self.indices = indices
        self.values = values
    }

    public func row(_ r: Int) -> [(Int32, Float)] {
        (rowStart[r]..<rowStart[r + 1]).map { (indices[$0], values[$0]) }
    }
}

extension SparseMatrix: FeatureMatrix {
    public func multiply(_ weights: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) {
        rowStart.withUnsafeBufferPointer { start in
            indices.withUnsafeBufferPointer { idx in
                values.withUnsafeBufferPointer { val in
                    tk_sparse_mm(Int32(rows), start.baseAddress, idx.baseAddress, val.baseAddress, weights, Int32(classes), out)
                }
            }
        }
    }

    public func transposeMultiply(_ g: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) {
        rowStart.withUnsafeBufferPointer { start in
            indices.withUnsafeBufferPointer { idx in
                values.withUnsafeBufferPointer { val in
                    tk_sparse_tmm(Int32(rows), Int32(columns), start.baseAddress, idx.baseAddress, val.baseAddress, g, Int32(classes), out)
                }
            }
        }
    }

    public func selecting(rows selected: [Int]) -> SparseMatrix {
        SparseMatrix(columns: columns, rows: selected.map(row))
    }
}
