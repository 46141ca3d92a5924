import CKernels
import Foundation
import TandemTensor

/// Multinomial logistic regression with an L2 penalty on the weights (not the intercepts),
/// trained to convergence with L-BFGS. The penalty follows scikit-learn's convention,
/// `C·Σᵢ lossᵢ + ½‖W‖²`, so `C` values mean the same as there.
public struct SoftmaxRegression: Codable, Sendable, Equatable {
    public let features: Int
    public let classes: Int
    /// `[features × classes]`.
    public var weights: [Float]
    public var bias: [Float]

    public init(features: Int, classes: Int, weights: [Float]? = nil, bias: [Float]? = nil) {
        self.features = features
        self.classes = classes
        self.weights = weights ?? [Float](repeating: 0, count: features * classes)
        self.bias = bias ?? [Float](repeating: 0, count: classes)
    }

    public struct Fit: Sendable {
        public var model: SoftmaxRegression
        public var iterations: Int
        public var converged: Bool
        public var loss: Double
    }

    /// Trains on `x` with integer labels in `0..<classes`. `start` warm-starts the optimiser
    /// (e.g. from the solution for a neighbouring C).
    public static func train<F: FeatureMatrix>(
        _ x: F, labels: [Int], classes: Int, c: Double,
        start: SoftmaxRegression? = nil, optimizer: LBFGS = LBFGS()
    ) -> Fit {
        let d = x.columns, k = classes
        let initial = start ?? SoftmaxRegression(features: d, classes: k)
        let result = optimizer.minimize(start: initial.weights.map(Double.init) + initial.bias.map(Double.init),
                                        objective: objective(x, labels: labels, classes: k, c: c))
        let model = SoftmaxRegression(features: d, classes: k, weights: result.x[0..<(d * k)].map(Float.init), bias: result.x[(d * k)...].map(Float.init))
        return Fit(model: model, iterations: result.iterations, converged: result.converged, loss: result.value)
    }

    /// The penalised mean cross-entropy and its gradient, over parameters laid out as the
    /// weights `[features × classes]` followed by the biases.
    static func objective<F: FeatureMatrix>(_ x: F, labels: [Int], classes k: Int, c: Double) -> (_ theta: [Double], _ gradient: inout [Double]) -> Double {
        precondition(x.rows == labels.count, "one label per row")
        let n = x.rows, d = x.columns
        let lambda = 1 / (c * Double(max(n, 1)))
        let labels32 = labels.map(Int32.init)
        var logits = [Float](repeating: 0, count: n * k)
        var weights = [Float](repeating: 0, count: d * k)
        var weightGradient = [Float](repeating: 0, count: d * k)
        var bias = [Float](repeating: 0, count: k)
        var biasGradient = [Float](repeating: 0, count: k)
        return { theta, gradient in
            for i in 0..<(d * k) { weights[i] = Float(theta[i]) }
            for j in 0..<k { bias[j] = Float(theta[d * k + j]) }
            weights.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { x.multiply(w.baseAddress!, classes: k, into: $0.baseAddress!) }
            }
            // Logits become the scaled residual (softmax − one-hot)/n in place.
            let loss = logits.withUnsafeMutableBufferPointer { z in
                tk_softmax_loss(Int32(n), Int32(k), z.baseAddress, bias, labels32, Float(1 / Double(max(n, 1))), &biasGradient)
            }
            logits.withUnsafeBufferPointer { g in
                weightGradient.withUnsafeMutableBufferPointer { x.transposeMultiply(g.baseAddress!, classes: k, into: $0.baseAddress!) }
            }
            var penalty = 0.0
            for i in 0..<(d * k) {
                penalty += theta[i] * theta[i]
                gradient[i] = Double(weightGradient[i]) + lambda * theta[i]
            }
            for j in 0..<k { gradient[d * k + j] = Double(biasGradient[j]) }
            return loss / Double(max(n, 1)) + lambda / 2 * penalty
        }
    }

    /// Logits `[rows × classes]`.
    public func logits<F: FeatureMatrix>(_ x: F) -> Matrix {
        var out = Matrix(rows: x.rows, columns: classes)
        weights.withUnsafeBufferPointer { w in
            out.values.withUnsafeMutableBufferPointer { x.multiply(w.baseAddress!, classes: classes, into: $0.baseAddress!) }
        }
        for r in 0..<x.rows { for j in 0..<classes { out.values[r * classes + j] += bias[j] } }
        return out
    }
}

/// Row-wise log-softmax of logits, in Double.
public func logSoftmax(_ logits: Matrix, temperature: Double = 1) -> [[Double]] {
    (0..<logits.rows).map { r in
        let row = logits.row(r).map { Double($0) / temperature }
        let maximum = row.max() ?? 0
        let logSum = maximum + log(row.reduce(0) { $0 + exp($1 - maximum) })
        return row.map { $0 - logSum }
    }
}
