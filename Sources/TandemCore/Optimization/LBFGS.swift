/// Limited-memory BFGS (Nocedal & Wright, Algorithms 7.4 and 7.5) with a backtracking line
/// search satisfying the Armijo condition. Deterministic: the same problem gives the same
/// iterates. The correction pairs live in one ring buffer, so an iteration allocates nothing
/// for models with hundreds of thousands of parameters.
public struct LBFGS: Sendable {
    public var memory = 10
    public var maxIterations = 500
    /// Stop when the gradient's largest component falls below this.
    public var gradientTolerance = 1e-5
    /// Stop when the objective improves by less than this relative amount over `patience` iterations.
    public var relativeTolerance = 1e-9
    public var patience = 5

    public init(maxIterations: Int = 500, gradientTolerance: Double = 1e-5) {
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
    }

    public struct Result: Sendable {
        public var x: [Double]
        public var value: Double
        public var iterations: Int
        public var evaluations: Int
        public var converged: Bool
    }

    /// Minimises `objective`, which returns the value and writes the gradient into its second argument.
    public func minimize(start: [Double], objective: (_ x: [Double], _ gradient: inout [Double]) -> Double) -> Result {
        let n = start.count
        var x = start
        var gradient = [Double](repeating: 0, count: n)
        var value = objective(x, &gradient)
        var evaluations = 1
        // Ring buffer of the last `memory` pairs sᵢ = xᵢ₊₁ − xᵢ, yᵢ = gᵢ₊₁ − gᵢ.
        var s = [Double](repeating: 0, count: memory * n), y = [Double](repeating: 0, count: memory * n)
        var rho = [Double](repeating: 0, count: memory), alpha = [Double](repeating: 0, count: memory)
        var stored = 0, newest = -1
        var direction = [Double](repeating: 0, count: n)
        var candidate = [Double](repeating: 0, count: n), candidateGradient = [Double](repeating: 0, count: n)
        var history: [Double] = [value]
        var iteration = 0
        var converged = false

        while iteration < maxIterations {
            if maxAbs(gradient) < gradientTolerance { converged = true; break }
            // Two-loop recursion: direction = −H·g.
            for i in 0..<n { direction[i] = gradient[i] }
            for back in 0..<stored {
                let j = (newest - back + memory) % memory
                alpha[j] = rho[j] * dot(s, j * n, direction, n)
                axpy(-alpha[j], y, j * n, &direction, n)
            }
            if stored > 0 {
                let gamma = dot(s, newest * n, y, newest * n, n) / max(dot(y, newest * n, y, newest * n, n), 1e-300)
                for i in 0..<n { direction[i] *= gamma }
            } else {
                // First step: unit length along the gradient.
                let norm = dot(gradient, 0, gradient, 0, n).squareRoot()
                for i in 0..<n { direction[i] /= max(norm, 1e-300) }
            }
            for forward in stride(from: stored - 1, through: 0, by: -1) {
                let j = (newest - forward + memory) % memory
                let beta = rho[j] * dot(y, j * n, direction, n)
                axpy(alpha[j] - beta, s, j * n, &direction, n)
            }
            for i in 0..<n { direction[i] = -direction[i] }
            var slope = dot(direction, 0, gradient, 0, n)
            if slope >= 0 {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                stored = 0
                for i in 0..<n { direction[i] = -gradient[i] }
                slope = -dot(gradient, 0, gradient, 0, n)
            }
            // Backtracking line search (Armijo, c₁ = 10⁻⁴).
            var step = 1.0
            var candidateValue = value
            var accepted = false
            for _ in 0..<40 {
                for i in 0..<n { candidate[i] = x[i] + step * direction[i] }
                candidateValue = objective(candidate, &candidateGradient)
                evaluations += 1
                if candidateValue <= value + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            guard accepted else { break }
            let slot = (newest + 1) % memory
            var sy = 0.0
            for i in 0..<n {
                let si = candidate[i] - x[i], yi = candidateGradient[i] - gradient[i]
                s[slot * n + i] = si
                y[slot * n + i] = yi
                sy += si * yi
            }
            if sy > 1e-12 {
                rho[slot] = 1 / sy
                newest = slot
                stored = min(stored + 1, memory)
            }
            swap(&x, &candidate)
            swap(&gradient, &candidateGradient)
            value = candidateValue
            iteration += 1
            history.append(value)
            if history.count > patience {
                let old = history[history.count - 1 - patience]
                if (old - value) <= relativeTolerance * max(abs(old), 1) { converged = true; break }
            }
        }
        return Result(x: x, value: value, iterations: iteration, evaluations: evaluations, converged: converged)
    }
}

@inline(__always)
private func dot(_ a: [Double], _ aOffset: Int, _ b: [Double], _ bOffset: Int, _ n: Int) -> Double {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            while i + 4 <= n {
                s0 += pa[aOffset + i] * pb[bOffset + i]; s1 += pa[aOffset + i + 1] * pb[bOffset + i + 1]
                s2 += pa[aOffset + i + 2] * pb[bOffset + i + 2]; s3 += pa[aOffset + i + 3] * pb[bOffset + i + 3]
                i += 4
            }
            while i < n { s0 += pa[aOffset + i] * pb[bOffset + i]; i += 1 }
            return (s0 + s1) + (s2 + s3)
        }
    }
}

@inline(__always)
private func dot(_ a: [Double], _ aOffset: Int, _ b: [Double], _ n: Int) -> Double { dot(a, aOffset, b, 0, n) }

@inline(__always)
private func axpy(_ alpha: Double, _ x: [Double], _ offset: Int, _ y: inout [Double], _ n: Int) {
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            for i in 0..<n { py[i] += alpha * px[offset + i] }
        }
    }
}

@inline(__always)
private func maxAbs(_ v: [Double]) -> Double {
    var m = 0.0
    for value in v where abs(value) > m { m = abs(value) }
    return m
}
