import Foundation

/// Exact binomial confidence bounds. The guarantees Tandem gives ("with probability at least
/// 1−δ the error rate is at most α") rest on these, so they are computed exactly (through
/// the regularised incomplete beta function) rather than by a normal approximation.
public enum Binomial {
    /// Clopper–Pearson one-sided upper bound on p after `errors` successes in `trials`:
    /// the largest p with P(X ≤ errors | p) ≥ δ. With confidence 1−δ, p ≤ the bound.
    public static func upperBound(errors: Int, trials: Int, delta: Double) -> Double {
        precondition(errors >= 0 && trials >= 0 && errors <= trials, "need 0 ≤ errors ≤ trials")
        guard trials > 0, errors < trials else { return 1 }
        // P(X ≤ k | p) = I_{1−p}(n−k, k+1), decreasing in p: solve I_{1−p}(n−k, k+1) = δ.
        return solve(decreasingIn: { p in Beta.regularized(1 - p, a: Double(trials - errors), b: Double(errors + 1)) }, equals: delta)
    }

    /// Clopper–Pearson one-sided lower bound: the smallest p with P(X ≥ errors | p) ≥ δ.
    public static func lowerBound(errors: Int, trials: Int, delta: Double) -> Double {
        precondition(errors >= 0 && trials >= 0 && errors <= trials, "need 0 ≤ errors ≤ trials")
        guard trials > 0, errors > 0 else { return 0 }
        // P(X ≥ k | p) = I_p(k, n−k+1), increasing in p: solve I_p(k, n−k+1) = δ.
        return solve(increasingIn: { p in Beta.regularized(p, a: Double(errors), b: Double(trials - errors + 1)) }, equals: delta)
    }

    /// Wilson score interval at the two-sided confidence `level` (e.g. 0.95).
    public static func wilson(successes: Int, trials: Int, level: Double = 0.95) -> ClosedRange<Double> {
        guard trials > 0 else { return 0...1 }
        let z = Normal.quantile(1 - (1 - level) / 2)
        let n = Double(trials), p = Double(successes) / n
        let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        let half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        return max(0, centre - half)...min(1, centre + half)
    }

    /// Two-sided Clopper–Pearson interval at confidence `level`.
    public static func clopperPearson(successes: Int, trials: Int, level: Double = 0.95) -> ClosedRange<Double> {
        guard trials > 0 else { return 0...1 }
        let tail = (1 - level) / 2
        return lowerBound(errors: successes, trials: trials, delta: tail)...upperBound(errors: successes, trials: trials, delta: tail)
    }

    private static func solve(decreasingIn f: (Double) -> Double, equals target: Double) -> Double {
        var low = 0.0, high = 1.0
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if f(mid) > target { low = mid } else { high = mid }
        }
        return high
    }

    private static func solve(increasingIn f: (Double) -> Double, equals target: Double) -> Double {
        var low = 0.0, high = 1.0
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if f(mid) < target { low = mid } else { high = mid }
        }
        return low
    }
}

/// The regularised incomplete beta function I_x(a, b), by Lentz's continued fraction
/// (Numerical Recipes §6.4), accurate to ~1e-14 for the arguments Tandem uses.
public enum Beta {
    public static func regularized(_ x: Double, a: Double, b: Double) -> Double {
        precondition(a > 0 && b > 0, "beta parameters must be positive")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        // The continued fraction converges quickly for x < (a+1)/(a+b+2); use symmetry otherwise.
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return h
    }
}

/// The standard normal distribution.
public enum Normal {
    public static func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Inverse CDF (Acklam's rational approximation refined by one Newton step; |error| < 1e-12).
    public static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile needs 0 < p < 1")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = cdf(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }
}
