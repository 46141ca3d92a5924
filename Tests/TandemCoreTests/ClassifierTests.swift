import Foundation
import TandemTensor
import Testing
@testable import TandemCore

@Suite("Optimiser and logistic regression")
struct ClassifierTests {
    @Test("L-BFGS finds the minimum of the Rosenbrock function")
    func rosenbrock() {
        var optimizer = LBFGS(maxIterations: 500, gradientTolerance: 1e-8)
        optimizer.relativeTolerance = 0
        let result = optimizer.minimize(start: [-1.2, 1]) { x, g in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            g[0] = -2 * a - 400 * x[0] * b
            g[1] = 200 * b
            return a * a + 100 * b * b
        }
        #expect(abs(result.x[0] - 1) < 1e-5 && abs(result.x[1] - 1) < 1e-5, "\(result.x)")
        #expect(result.converged)
    }

    /// A small random multi-class problem.
    static func problem(rows: Int = 300, columns: Int = 6, classes: Int = 4, seed: UInt64 = 3) -> (Matrix, [Int]) {
        var generator = SeededGenerator(seed: seed)
        var values: [Float] = [], labels: [Int] = []
        for r in 0..<rows {
            let label = r % classes
            labels.append(label)
            for c in 0..<columns { values.append(Float(Double.random(in: -1...1, using: &generator) + (c == label ? 2 : 0))) }
        }
        return (Matrix(rows: rows, columns: columns, values: values), labels)
    }

    @Test("the gradient matches finite differences (dense and sparse features)")
    func gradientCheck() {
        let (x, labels) = Self.problem(rows: 40)
        let sparse = SparseMatrix(columns: x.columns, rows: (0..<x.rows).map { r in (0..<x.columns).map { (Int32($0), x[r, $0]) } })
        for features in [AnyFeatures(x), AnyFeatures(sparse)] {
            let objective = SoftmaxRegression.objective(features, labels: labels, classes: 4, c: 2)
            let theta = (0..<(x.columns * 4 + 4)).map { Double($0 % 7) * 0.05 - 0.1 }
            var gradient = [Double](repeating: 0, count: theta.count), scratch = gradient
            let value = objective(theta, &gradient)
            let h = 1e-3
            var worst = 0.0
            for i in theta.indices {
                var plus = theta, minus = theta
                plus[i] += h; minus[i] -= h
                let numeric = (objective(plus, &scratch) - objective(minus, &scratch)) / (2 * h)
                worst = max(worst, abs(numeric - gradient[i]))
            }
            #expect(value.isFinite && value > 0)
            #expect(worst < 1e-3, "max gradient error \(worst)")
        }
    }

    @Test("training separates the classes and warm starts converge faster")
    func learns() {
        let (x, labels) = Self.problem()
        let cold = SoftmaxRegression.train(x, labels: labels, classes: 4, c: 10)
        let predictions = logSoftmax(cold.model.logits(x)).map(argmax)
        let accuracy = Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
        #expect(accuracy > 0.9)
        let warm = SoftmaxRegression.train(x, labels: labels, classes: 4, c: 10, start: cold.model)
        #expect(warm.iterations < cold.iterations)
    }
}

/// Type erasure so one test runs over both feature kinds.
struct AnyFeatures: FeatureMatrix {
    let rows: Int, columns: Int
    let multiplyBody: @Sendable (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    let transposeBody: @Sendable (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    init<F: FeatureMatrix>(_ f: F) {
        rows = f.rows; columns = f.columns
        multiplyBody = { f.multiply($0, classes: $1, into: $2) }
        transposeBody = { f.transposeMultiply($0, classes: $1, into: $2) }
    }
    func multiply(_ weights: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) { multiplyBody(weights, classes, out) }
    func transposeMultiply(_ g: UnsafePointer<Float>, classes: Int, into out: UnsafeMutablePointer<Float>) { transposeBody(g, classes, out) }
    func selecting(rows: [Int]) -> AnyFeatures { self }
}
