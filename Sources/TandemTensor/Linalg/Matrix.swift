/// A dense row-major float matrix: n sentence embeddings, classifier weights, etc.
public struct Matrix: Equatable, Sendable, Codable {
    public private(set) var rows: Int
    public let columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "matrix \(rows)×\(columns) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    /// Stacks equal-length rows.
    public init(stacking rows: [[Float]], columns: Int) {
        var values: [Float] = []
        values.reserveCapacity(rows.count * columns)
        for row in rows {
            precondition(row.count == columns, "row has \(row.count) values, expected \(columns)")
            values.append(contentsOf: row)
        }
        self.init(rows: rows.count, columns: columns, values: values)
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * columns)..<((index + 1) * columns)]
    }

    public var rowArrays: [[Float]] { (0..<rows).map { Array(row($0)) } }

    /// The rows at `indices`, in that order.
    public func selecting(rows indices: [Int]) -> Matrix {
        var out: [Float] = []
        out.reserveCapacity(indices.count * columns)
        for i in indices { out.append(contentsOf: row(i)) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }

    public mutating func appendRow<C: Collection>(_ row: C) where C.Element == Float {
        precondition(row.count == columns, "row has \(row.count) values, expected \(columns)")
        values.append(contentsOf: row)
        rows += 1
    }

    /// `self · otherᵀ` through BLAS: `[rows × columns] · [other.rows × columns]ᵀ`.
    public func multiplied(byTransposeOf other: Matrix) -> Matrix {
        precondition(columns == other.columns, "inner dimensions differ: \(columns) vs \(other.columns)")
        var out = Matrix(rows: rows, columns: other.rows)
        guard rows > 0, other.rows > 0 else { return out }
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeB: true, m: rows, n: other.rows, k: columns,
                              a: a.baseAddress!, lda: columns, b: b.baseAddress!, ldb: columns,
                              c: c.baseAddress!, ldc: other.rows)
                }
            }
        }
        return out
    }
}
