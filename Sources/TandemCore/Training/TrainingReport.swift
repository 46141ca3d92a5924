/// What training measured and decided, stored with the model artifact.
public struct TrainingReport: Codable, Sendable {
    public var examples: Int
    public var intents: [String]
    public var examplesPerIntent: [Int]
    public var options: TrainingOptions
    public var hyperparameters: Hyperparameters
    /// Accuracy of out-of-fold predictions.
    public var crossValidatedAccuracy: Double
    public var crossValidatedLogLoss: Double
    /// Expected calibration error of the top probability before and after temperature scaling.
    public var calibrationErrorBefore: Double
    public var calibrationErrorAfter: Double
    public var certificate: RiskControl.Certificate
    public var thresholds: Thresholds
    public var unknown: UnknownCalibration.Report
    public var seconds: Double


    /// What the guarantee covers, in words, for reports and the console.
    public var guarantee: String {
        let level = String(format: "%.0f%%", (1 - options.delta) * 100)
        let risk = String(format: "%.1f%%", options.targetRisk * 100)
        guard let threshold = certificate.threshold else {
            return "No threshold could be certified at \(risk) risk with \(level) confidence from \(certificate.calibrationSize) calibration messages: every message goes to a person until more labelled examples exist."
        }
        let mode: String
        switch options.calibration {
        case .split(let share):
            mode = "The calibration messages (\(Int(share * 100))% of the data, never used for training) were scored by the deployed model, so the guarantee is exact for messages drawn like them."
        case .crossFit:
            mode = "Calibration used cross-fitting: each message was scored by a model trained without it (\(options.folds) folds), and hyperparameters were chosen on the same out-of-fold scores. The deployed model is trained on all the data; the guarantee treats it like the fold models, which is the usual cross-fitting approximation."
        }
        return "With probability at least \(level), the error rate among messages the AI answers (confidence ≥ \(String(format: "%.3f", threshold))) is at most \(risk), for messages like those in the labelled data (same mix of intents). \(mode) It does not cover requests unlike the training data: those are caught, separately, by the unknown-request threshold, which is estimated, not guaranteed."
    }
}
