import Foundation

/// Temperature scaling (Guo et al., 2017) and the expected calibration error.
public enum Calibration {
    /// The temperature minimising the negative log-likelihood of the true labels, by golden-
    /// section search on log T in [1/20, 20].
    public static func fitTemperature(_ nll: (Double) -> Double) -> Double {
        var a = log(0.05), b = log(20.0)
        let ratio = (5.0.squareRoot() - 1) / 2
        var c = b - ratio * (b - a), d = a + ratio * (b - a)
        var fc = nll(exp(c)), fd = nll(exp(d))
        for _ in 0..<60 {
            if fc < fd { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = nll(exp(c)) }
            else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = nll(exp(d)) }
        }
        return exp((a + b) / 2)
    }

    /// Expected calibration error over equal-width confidence bins: Σ_b |B|/n · |acc(B) − conf(B)|.
    public static func expectedError(confidences: [Double], correct: [Bool], bins: Int = 15) -> Double {
        guard !confidences.isEmpty else { return 0 }
        var count = [Int](repeating: 0, count: bins), hits = [Double](repeating: 0, count: bins), mass = [Double](repeating: 0, count: bins)
        for (c, ok) in zip(confidences, correct) {
            let b = min(bins - 1, max(0, Int(c * Double(bins))))
            count[b] += 1; mass[b] += c; hits[b] += ok ? 1 : 0
        }
        let n = Double(confidences.count)
        return (0..<bins).reduce(0) { total, b in
            count[b] == 0 ? total : total + Double(count[b]) / n * abs(hits[b] / Double(count[b]) - mass[b] / Double(count[b]))
        }
    }
}
