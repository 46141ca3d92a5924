import Foundation
import TandemTensor

/// Labelled messages with their sentence embeddings (computed by the caller's encoder).
public struct TrainingData: Sendable {
    public var texts: [String]
    public var labels: [String]
    /// One unit-length embedding per text.
    public var embeddings: Matrix

    public init(texts: [String], labels: [String], embeddings: Matrix) {
        self.texts = texts
        self.labels = labels
        self.embeddings = embeddings
    }
}

/// How calibration data is obtained.
public enum CalibrationMode: Codable, Sendable, Equatable {
    /// Every example is scored by a model trained without its fold (K-fold cross-fitting); all
    /// data serves both training and calibration, and the final model is trained on all of it.
    case crossFit
    /// A stratified share of the examples is held out: the model never sees it and it only
    /// calibrates. The guarantee is then exact (conditional on the training part), at the cost
    /// of training on less data.
    case split(Double)
}

public struct TrainingOptions: Codable, Sendable, Equatable {
    public var targetRisk = 0.01
    public var confidenceLevel = 0.95
    public var calibration = CalibrationMode.crossFit
    public var folds = 5
    public var seed: UInt64 = 0
    public var semanticCs: [Double] = [10, 30]
    public var lexicalCs: [Double] = [10, 30]
    public var lexicalWeights: [Double] = stride(from: 0.0, through: 0.7, by: 0.05).map { ($0 * 100).rounded() / 100 }
    /// Weight of relative familiarity in the known-score. Fixed rather than tuned: tuning it on
    /// the calibration data would cost a multiple-testing correction of the guarantee, and
    /// familiarity is standardised per intent, so one value carries across knowledge bases.
    public var familiarityWeight = 0.1
    /// Leave-intents-out rounds that simulate requests the knowledge base does not cover.
    public var unknownRounds = 2
    public var unknownShare = 0.25
    /// Share of simulated unknown requests that must fall below the unknown threshold. The
    /// simulation is harder than real unseen intents (on Banking77, 0.9 here kept 97% of
    /// the messages of 19 truly unseen intents away), so this need not be set to the target.
    public var unknownKeepAway = 0.9
    /// Share of δ spent on per-intent overrides (the rest certifies the global threshold).
    public var overrideShare = 0.2
    public var neighbours = 5
    public var buckets = 2048
    public var maxIterations = 300
    /// Threads for cross-fitting; the caller says how many cores it may use.
    public var threads = 1

    public init() {}

    public var delta: Double { 1 - confidenceLevel }
}

public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case tooFewIntents(Int)
    case mismatchedInputs(texts: Int, labels: Int, embeddings: Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .tooFewIntents(let n): return "training needs at least 2 intents with examples, got \(n)"
        case .mismatchedInputs(let t, let l, let e): return "\(t) texts, \(l) labels and \(e) embeddings: they must match"
        case .invalidOption(let why): return "invalid training option: \(why)"
        }
    }
}

/// What training produced.
public struct TrainedModel: Sendable {
    public var model: IntentModel
    public var thresholds: Thresholds
    public var report: TrainingReport
    /// Rows of the training data the model was fitted on (its memory of examples).
    public var memoryRows: [Int]
    /// The calibration messages' scores and outcomes, to re-certify at other targets (the
    /// evaluation's cost table). Not part of the artifact.
    public var calibration: [CalibrationPoint]
}

/// One calibration message: its confidence under the deployed rule, and whether the
/// predicted intent was right.
public struct CalibrationPoint: Sendable {
    public var confidence: Double
    public var correct: Bool
}

/// Trains the classifier, calibrates it and certifies its thresholds. Pure computation:
/// deterministic for a seed, no I/O.
public struct Trainer: Sendable {
    public var options: TrainingOptions
    /// Times the training for its report.
    public var clock: any WallClock
    public var progress: @Sendable (String) -> Void

    public init(options: TrainingOptions = TrainingOptions(), clock: any WallClock,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.clock = clock
        self.progress = progress
    }

    public func train(_ data: TrainingData) throws -> TrainedModel {
        let started = clock.now
        guard data.texts.count == data.labels.count, data.texts.count == data.embeddings.rows else {
            throw TrainingError.mismatchedInputs(texts: data.texts.count, labels: data.labels.count, embeddings: data.embeddings.rows)
        }
        try validate()
        let intents = Array(Set(data.labels)).sorted()
        guard intents.count >= 2 else { throw TrainingError.tooFewIntents(intents.count) }
        let index = Dictionary(uniqueKeysWithValues: intents.enumerated().map { ($1, $0) })
        let labels = data.labels.map { index[$0]! }
        BLAS.setThreads(1)

        let base = LexicalFeaturizer(buckets: options.buckets)
        let counts = data.texts.map(base.counts)
        let all = Array(0..<labels.count)

        // Which examples train the model and which calibrate it.
        let (trainRows, calibrationRows): ([Int], [Int])
        switch options.calibration {
        case .crossFit:
            (trainRows, calibrationRows) = (all, all)
        case .split(let share):
            let held = stratifiedSample(labels: labels, share: share, seed: options.seed ^ 0x5EED)
            (trainRows, calibrationRows) = (all.filter { !held[$0] }, all.filter { held[$0] })
        }

        // 1-2. Cross-fitting, regularisation chosen on the first folds, simulated unknown
        //      requests and the final heads: independent fits run as parallel jobs.
        progress("cross-fitting \(options.folds) folds over \(trainRows.count) examples, \(intents.count) intents …")
        let fits = fitAll(Problem(rows: trainRows, labels: labels, counts: counts, embeddings: data.embeddings, classes: intents.count, base: base))
        let trainLabels = trainRows.map { labels[$0] }
        let semanticOOF = fits.semanticOOF, lexicalOOF = fits.lexicalOOF
        let weight = options.lexicalWeights[bestIndex(options.lexicalWeights.map { w in
            nll(zip(semanticOOF, lexicalOOF).map { mix($0, $1, w) }, trainLabels)
        })]
        let mixedOOF = zip(semanticOOF, lexicalOOF).map { mix($0, $1, weight) }
        let temperature = Calibration.fitTemperature { t in nll(mixedOOF.map { scaled($0, t) }, trainLabels) }
        let hyper = Hyperparameters(semanticC: fits.semanticC, lexicalC: fits.lexicalC,
                                    lexicalWeight: weight, temperature: temperature, familiarityWeight: options.familiarityWeight, neighbours: options.neighbours)
        let unknown = fits.unknown.map { IntentModel.combine(semantic: $0.semantic, lexical: $0.lexical, evidence: $0.evidence, memory: $0.memory, hyper) }

        // 3. The deployed model.
        let oofScores = (0..<trainRows.count).map { i in
            IntentModel.combine(semantic: semanticOOF[i], lexical: lexicalOOF[i], evidence: fits.evidence[i], memory: fits.memories[fits.fold[i]], hyper)
        }
        let oofCorrect = zip(oofScores, trainLabels).map { $0.intent == $1 }
        let memory = NearestNeighbors(embeddings: data.embeddings.selecting(rows: trainRows), labels: trainLabels, classes: intents.count, neighbours: hyper.neighbours)
        func deployed(_ h: Hyperparameters) -> IntentModel {
            IntentModel(intents: intents, semantic: fits.final.semantic, lexical: fits.final.lexical, featurizer: fits.final.featurizer,
                        memory: memory, hyperparameters: h)
        }

        // 4. Calibration scores: out-of-fold (cross-fit) or from the final model (split).
        let calibrationScores: [IntentScores]
        switch options.calibration {
        case .crossFit: calibrationScores = oofScores
        case .split: calibrationScores = deployed(hyper).score(embeddings: data.embeddings.selecting(rows: calibrationRows), texts: calibrationRows.map { data.texts[$0] })
        }
        let calibrationLabels = calibrationRows.map { labels[$0] }
        let correct = zip(calibrationScores, calibrationLabels).map { $0.intent == $1 }

        // 5. Thresholds. A message is answered only if it passes two gates: its known-score
        //    (ln probability + γ·relative familiarity) is above the unknown threshold, set from
        //    the simulated unknown requests, and its probability is above the certified
        //    threshold, certified on the calibration messages that pass the first gate.
        progress("certifying thresholds (target risk \(options.targetRisk), confidence \(options.confidenceLevel)) …")
        let mainDelta = options.delta * (1 - options.overrideShare)
        func knownScores(_ scores: [IntentScores]) -> [Double] {
            scores.map { IntentModel.knownScore(probability: $0.probability, familiarity: $0.familiarity, weight: hyper.familiarityWeight) }
        }
        let unknownScores = knownScores(unknown)
        let unknownThreshold = UnknownCalibration.threshold(confidences: unknownScores, keepAway: options.unknownKeepAway)
        /// Probabilities of messages passing the unknown gate; −1 (never answered) for the rest.
        func gated(_ scores: [IntentScores]) -> [Double] {
            zip(scores, knownScores(scores)).map { $1 >= unknownThreshold ? $0.probability : -1 }
        }
        let gatedCalibration = gated(calibrationScores)
        let certificate = RiskControl(targetRisk: options.targetRisk, delta: mainDelta).certify(confidences: gatedCalibration, correct: correct)
        let model = deployed(hyper)

        // 6. Per-intent overrides, with the rest of δ.
        var thresholds = Thresholds(certified: certificate.threshold, unknown: unknownThreshold)
        if let certified = certificate.threshold {
            thresholds.perIntent = IntentOverrides.find(
                predicted: calibrationScores.map(\.intent), confidences: gatedCalibration, correct: correct, intents: intents, certified: certified,
                targetRisk: options.targetRisk, delta: options.delta * options.overrideShare, grid: RiskControl.defaultGrid)
        }

        let rawCorrect = zip(mixedOOF, trainLabels).map { argmax($0) == $1 }
        let report = TrainingReport(
            examples: data.texts.count, intents: intents, examplesPerIntent: intents.indices.map { i in labels.filter { $0 == i }.count },
            options: options, hyperparameters: hyper,
            crossValidatedAccuracy: Double(rawCorrect.filter { $0 }.count) / Double(max(rawCorrect.count, 1)),
            crossValidatedLogLoss: nll(mixedOOF.map { scaled($0, temperature) }, trainLabels),
            calibrationErrorBefore: Calibration.expectedError(confidences: mixedOOF.map { exp($0.max() ?? 0) }, correct: rawCorrect),
            calibrationErrorAfter: Calibration.expectedError(confidences: oofScores.map(\.probability), correct: oofCorrect),
            certificate: certificate, thresholds: thresholds,
            unknown: UnknownCalibration.Report(rounds: options.unknownRounds, share: options.unknownShare, examples: unknownScores.count,
                                               keepAwayTarget: options.unknownKeepAway, threshold: unknownThreshold,
                                               keptAway: Double(unknownScores.filter { $0 < unknownThreshold }.count) / Double(max(unknownScores.count, 1))),
            seconds: clock.now.timeIntervalSince(started))
        progress(String(format: "trained in %.1f s: cross-validated accuracy %.2f%%, certified threshold %@", report.seconds,
                        report.crossValidatedAccuracy * 100, certificate.threshold.map { String(format: "%.3f", $0) } ?? "none"))
        return TrainedModel(model: model, thresholds: thresholds, report: report, memoryRows: trainRows,
                            calibration: zip(gatedCalibration, correct).map { CalibrationPoint(confidence: $0, correct: $1) })
    }

    private func validate() throws {
        guard options.targetRisk > 0, options.targetRisk < 1 else { throw TrainingError.invalidOption("target risk must be in (0, 1)") }
        guard options.confidenceLevel > 0, options.confidenceLevel < 1 else { throw TrainingError.invalidOption("confidence level must be in (0, 1)") }
        guard options.folds >= 2 else { throw TrainingError.invalidOption("at least 2 folds") }
        guard !options.semanticCs.isEmpty, !options.lexicalCs.isEmpty, !options.lexicalWeights.isEmpty else {
            throw TrainingError.invalidOption("empty hyperparameter grid")
        }
        if case .split(let share) = options.calibration, !(share > 0 && share < 1) {
            throw TrainingError.invalidOption("calibration share must be in (0, 1)")
        }
    }

    // MARK: - Fitting

    /// The data every fit draws from.
    struct Problem: Sendable {
        /// The rows used for training (positions below index into this array).
        var rows: [Int]
        var labels: [Int]
        var counts: [[Int32: Float]]
        var embeddings: Matrix
        var classes: Int
        var base: LexicalFeaturizer
    }

    enum Head: Int, CaseIterable { case semantic, lexical }

    struct Heads {
        var semantic: SoftmaxRegression
        var lexical: SoftmaxRegression
        var featurizer: LexicalFeaturizer
    }

    /// Log-probabilities of the two heads and nearest-example evidence for one message.
    struct RawScores {
        var semantic: [Double]
        var lexical: [Double]
        var evidence: NearestNeighbors.Evidence
        /// The examples the evidence was measured against.
        var memory: NearestNeighbors
    }

    struct Fits {
        var semanticC: Double
        var lexicalC: Double
        /// Out-of-fold log-probabilities, in the order of `Problem.rows`.
        var semanticOOF: [[Double]]
        var lexicalOOF: [[Double]]
        var evidence: [NearestNeighbors.Evidence]
        /// Fold of each row, and each fold's memory of training examples.
        var fold: [Int]
        var memories: [NearestNeighbors]
        var unknown: [RawScores]
        var final: Heads
    }

    private var optimizer: LBFGS {
        var o = LBFGS(maxIterations: options.maxIterations, gradientTolerance: 1e-4)
        o.relativeTolerance = 1e-7
        return o
    }

    /// Fits one head on `rows` at each C (ascending, each warm-starting the next) and returns
    /// the models and the log-probabilities they give `held`.
    func fitPath(_ head: Head, _ p: Problem, rows: [Int], held: [Int], cs: [Double], start: SoftmaxRegression?,
                 mask: Set<Int> = []) -> (models: [SoftmaxRegression], held: [[[Double]]], featurizer: LexicalFeaturizer) {
        let y = rows.map { p.labels[$0] }
        var models: [SoftmaxRegression] = [], scores: [[[Double]]] = []
        var warm = start
        switch head {
        case .semantic:
            let x = p.embeddings.selecting(rows: rows), heldX = p.embeddings.selecting(rows: held)
            for c in cs {
                let model = SoftmaxRegression.train(x, labels: y, classes: p.classes, c: c, start: warm, optimizer: optimizer).model
                warm = model
                models.append(model)
                scores.append(logSoftmax(model.logits(heldX)).map { masked($0, mask) })
            }
            return (models, scores, p.base)
        case .lexical:
            let featurizer = p.base.fitting(counts: rows.map { p.counts[$0] })
            let x = featurizer.transform(counts: rows.map { p.counts[$0] }), heldX = featurizer.transform(counts: held.map { p.counts[$0] })
            for c in cs {
                let model = SoftmaxRegression.train(x, labels: y, classes: p.classes, c: c, start: warm, optimizer: optimizer).model
                warm = model
                models.append(model)
                scores.append(logSoftmax(model.logits(heldX)).map { masked($0, mask) })
            }
            return (models, scores, featurizer)
        }
    }

    /// All fits of a training run, as parallel jobs in two stages:
    /// A. each head's regularisation path on the first folds (C chosen by their held-out
    ///    log-likelihood);
    /// B. at the chosen C, warm-started from stage A: the remaining folds, the leave-intents-out
    ///    rounds that simulate unknown requests, and the final heads on all rows.
    func fitAll(_ p: Problem) -> Fits {
        let n = p.rows.count
        let fold = stratifiedFolds(labels: p.rows.map { p.labels[$0] }, folds: options.folds, seed: options.seed)
        let positions = (0..<options.folds).map { k in (train: (0..<n).filter { fold[$0] != k }, held: (0..<n).filter { fold[$0] == k }) }
        let rowsOf: @Sendable ([Int]) -> [Int] = { $0.map { p.rows[$0] } }
        let selectionFolds = min(2, options.folds)
        let grids: [Head: [Double]] = [.semantic: options.semanticCs.sorted(), .lexical: options.lexicalCs.sorted()]

        // Stage A.
        let pathSlots = ResultSlots<(models: [SoftmaxRegression], held: [[[Double]]], featurizer: LexicalFeaturizer)>(count: selectionFolds * 2)
        var pathJobs: [@Sendable () -> Void] = []
        for k in 0..<selectionFolds {
            for head in Head.allCases {
                let cs = grids[head]!
                pathJobs.append { pathSlots.set(k * 2 + head.rawValue, fitPath(head, p, rows: rowsOf(positions[k].train), held: rowsOf(positions[k].held), cs: cs, start: nil)) }
            }
        }
        runJobs(pathJobs)
        var chosen: [Head: Int] = [:]
        for head in Head.allCases {
            let losses = grids[head]!.indices.map { c in
                (0..<selectionFolds).reduce(0.0) { total, k in
                    total + nll(pathSlots.get(k * 2 + head.rawValue).held[c], positions[k].held.map { p.labels[p.rows[$0]] })
                }
            }
            chosen[head] = bestIndex(losses)
        }
        let chosenC = Dictionary(uniqueKeysWithValues: Head.allCases.map { ($0, grids[$0]![chosen[$0]!]) })
        let warm = Dictionary(uniqueKeysWithValues: Head.allCases.map { ($0, pathSlots.get($0.rawValue).models[chosen[$0]!]) })
        let cOf: @Sendable (Head) -> Double = { chosenC[$0]! }
        let warmOf: @Sendable (Head) -> SoftmaxRegression = { warm[$0]! }
        progress(String(format: "regularisation chosen on %d folds: C = %g (embeddings), %g (n-grams); fitting the rest …", selectionFolds, cOf(.semantic), cOf(.lexical)))

        // Stage B.
        let present = Array(Set(p.rows.map { p.labels[$0] })).sorted()
        let leave = max(1, Int((Double(present.count) * options.unknownShare).rounded()))
        var generator = SeededGenerator(seed: options.seed ^ 0xABCDEF)
        let rounds: [Set<Int>] = present.count - leave >= 2
            ? (0..<options.unknownRounds).map { _ in Set(present.shuffled(using: &generator).prefix(leave)) } : []
        let foldSlots = ResultSlots<[[Double]]>(count: options.folds * 2)
        let roundSlots = ResultSlots<[[Double]]>(count: rounds.count * 2)
        let finalSlots = ResultSlots<(model: SoftmaxRegression, featurizer: LexicalFeaturizer)>(count: 2)
        var jobs: [@Sendable () -> Void] = []
        for k in selectionFolds..<options.folds {
            for head in Head.allCases {
                jobs.append { foldSlots.set(k * 2 + head.rawValue, fitPath(head, p, rows: rowsOf(positions[k].train), held: rowsOf(positions[k].held), cs: [cOf(head)], start: warmOf(head)).held[0]) }
            }
        }
        for (r, left) in rounds.enumerated() {
            let train = p.rows.filter { !left.contains(p.labels[$0]) }, held = p.rows.filter { left.contains(p.labels[$0]) }
            for head in Head.allCases {
                // Intents never trained on still get (bias-only) logits; they must not count as
                // answers, so they are masked out.
                jobs.append { roundSlots.set(r * 2 + head.rawValue, fitPath(head, p, rows: train, held: held, cs: [cOf(head)], start: warmOf(head), mask: left).held[0]) }
            }
        }
        for head in Head.allCases {
            jobs.append {
                let path = fitPath(head, p, rows: p.rows, held: [], cs: [cOf(head)], start: warmOf(head))
                finalSlots.set(head.rawValue, (path.models[0], path.featurizer))
            }
        }
        progress("\(jobs.count) more fits (\(options.folds - selectionFolds) folds, \(rounds.count) unknown-request rounds, final model) …")
        runJobs(jobs)

        // Assemble out-of-fold scores in row order, and the nearest-example evidence.
        var semantic = [[Double]](repeating: [], count: n), lexical = [[Double]](repeating: [], count: n)
        var evidence = [NearestNeighbors.Evidence](repeating: .empty, count: n)
        var memories: [NearestNeighbors] = []
        for k in 0..<options.folds {
            let held = positions[k].held
            let s = k < selectionFolds ? pathSlots.get(k * 2).held[chosen[.semantic]!] : foldSlots.get(k * 2)
            let l = k < selectionFolds ? pathSlots.get(k * 2 + 1).held[chosen[.lexical]!] : foldSlots.get(k * 2 + 1)
            let memory = NearestNeighbors(embeddings: p.embeddings.selecting(rows: rowsOf(positions[k].train)),
                                          labels: rowsOf(positions[k].train).map { p.labels[$0] }, classes: p.classes, neighbours: options.neighbours)
            memories.append(memory)
            let e = memory.evidence(p.embeddings.selecting(rows: rowsOf(held)))
            for (j, position) in held.enumerated() { semantic[position] = s[j]; lexical[position] = l[j]; evidence[position] = e[j] }
        }
        var unknown: [RawScores] = []
        for (r, left) in rounds.enumerated() {
            let train = p.rows.filter { !left.contains(p.labels[$0]) }, held = p.rows.filter { left.contains(p.labels[$0]) }
            let memory = NearestNeighbors(embeddings: p.embeddings.selecting(rows: train), labels: train.map { p.labels[$0] }, classes: p.classes, neighbours: options.neighbours)
            let e = memory.evidence(p.embeddings.selecting(rows: held))
            let s = roundSlots.get(r * 2), l = roundSlots.get(r * 2 + 1)
            unknown += held.indices.map { RawScores(semantic: s[$0], lexical: l[$0], evidence: e[$0], memory: memory) }
        }
        return Fits(semanticC: cOf(.semantic), lexicalC: cOf(.lexical), semanticOOF: semantic, lexicalOOF: lexical,
                    evidence: evidence, fold: fold, memories: memories, unknown: unknown,
                    final: Heads(semantic: finalSlots.get(0).model, lexical: finalSlots.get(1).model, featurizer: finalSlots.get(1).featurizer))
    }

    /// Runs independent jobs on `options.threads` workers, in the order given.
    func runJobs(_ jobs: [@Sendable () -> Void]) {
        let next = WorkCounter()
        let workers = max(1, min(options.threads, jobs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let j = next.take(below: jobs.count) { jobs[j]() }
        }
    }
}

/// Out-of-fold results written by concurrent jobs, one slot each.
final class ResultSlots<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.lock(); slots[i] = value; lock.unlock() }
    func get(_ i: Int) -> T { lock.lock(); defer { lock.unlock() }; return slots[i]! }
}

// MARK: - Small numeric helpers

func mix(_ semantic: [Double], _ lexical: [Double], _ w: Double) -> [Double] {
    let z = zip(semantic, lexical).map { (1 - w) * $0 + w * $1 }
    return normalizedLog(z)
}

func scaled(_ logProbabilities: [Double], _ temperature: Double) -> [Double] {
    normalizedLog(logProbabilities.map { $0 / temperature })
}

func normalizedLog(_ z: [Double]) -> [Double] {
    let maximum = z.max() ?? 0
    let logSum = maximum + log(z.reduce(0) { $0 + exp($1 - maximum) })
    return z.map { $0 - logSum }
}

func masked(_ logProbabilities: [Double], _ excluded: Set<Int>) -> [Double] {
    normalizedLog(logProbabilities.enumerated().map { excluded.contains($0.offset) ? -1e9 : $0.element })
}

/// Mean negative log-likelihood of the true labels.
func nll(_ logProbabilities: [[Double]], _ labels: [Int]) -> Double {
    guard !labels.isEmpty else { return 0 }
    return -zip(logProbabilities, labels).reduce(0) { $0 + max($1.0[$1.1], -50) } / Double(labels.count)
}

func argmax(_ values: [Double]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}

func bestIndex(_ losses: [Double]) -> Int {
    var best = 0
    for i in losses.indices where losses[i] < losses[best] { best = i }
    return best
}
