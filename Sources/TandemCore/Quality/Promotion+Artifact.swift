import TandemTensor

extension ModelArtifact {
    /// What this model does with labelled messages: whether it would answer (both gates, as
    /// routing applies them) and whether its predicted intent matches the label.
    public func outcomes(embeddings: Matrix, texts: [String], labels: [String]) -> [ModelOutcome] {
        guard !texts.isEmpty else { return [] }
        return zip(model.score(embeddings: embeddings, texts: texts), labels).map { scores, label in
            let intent = model.intents[scores.intent]
            return ModelOutcome(answered: thresholds.answers(scores, intent: intent), correct: intent == label)
        }
    }

    /// The training certificate in the promotion check's terms.
    public var certifiedFigures: CertifiedFigures {
        let certificate = report.certificate
        return CertifiedFigures(coverage: certificate.threshold == nil ? 0 : certificate.coverage,
                                errorUpperBound: certificate.threshold == nil ? 1 : certificate.upperBound)
    }
}
