import Fluent
import Foundation
import SQLKit
import TandemTensor
import TandemCore
import TandemEmbedding
import Vapor

/// Model versions live in the database (artifact files as blobs), so every node serves the
/// same one: training runs as a job on whichever node takes it, stores a new version and
/// activates it; every node notices the active version change and loads it, while requests
/// keep being answered with the version they started with.
enum ModelLifecycle {
    struct TrainRequest: Codable {
        var reason: String
    }

    /// Queues a training run unless one is already waiting (the database holds at most one:
    /// migration 017). A run in progress may have started before the latest edits, so they
    /// queue the next one.
    static func requestTraining(reason: String, at now: Date, on db: Database) async throws -> Bool {
        // Not for use inside a transaction: on PostgreSQL the refused insert would abort it.
        precondition(!db.inTransaction, "requestTraining runs outside transactions")
        do {
            try await JobQueue.enqueue(.train, payload: TrainRequest(reason: reason), runAt: now, on: db)
            return true
        } catch let error as any DatabaseError where error.isConstraintFailure {
            return false
        }
    }

    /// At start without an active model: queues the first training unless one is already waiting
    /// or running (another node started first and asked). Called under the start-up lock
    /// (`withStartupLock`), which makes the check and the insert one step across nodes; without
    /// it a node starting while another's first training runs would queue a second one.
    static func requestInitialTraining(at now: Date, on db: Database) async throws -> Bool {
        guard try await ModelVersionRecord.query(on: db).filter(\.$status == .active).count() == 0,
              try await JobRecord.query(on: db).filter(\.$kind == .train).filter(\.$status ~~ [.pending, .running]).count() == 0 else {
            return false
        }
        return try await requestTraining(reason: "no active model", at: now, on: db)
    }

    /// The `train` job: knowledge-base examples plus agents' labels in, an active version out.
    static func train(_ job: JobRecord, app: Application) async throws {
        let db = app.db
        let services = app.tandem
        let settings = try await services.settings(on: db)
        let (texts, labels, holdout) = try await trainingSet(on: db)
        let record = ModelVersionRecord()
        record.version = "training"
        record.status = .training
        record.examples = texts.count
        try await record.create(on: db)
        do {
            guard Set(labels).count >= 2 else { throw TrainingError.tooFewIntents(Set(labels).count) }
            app.logger.info("training a model on \(texts.count) examples of \(Set(labels).count) intents …")
            let logger = app.logger
            let held = (texts: holdout.map(\.message.text), labels: holdout.map(\.intent))
            // Seconds of computation: on a thread of its own, not the cooperative pool (which
            // serves every request) nor the inference thread (which answers customers meanwhile).
            let (artifact, files, promotion) = try await InferenceExecutor.onThreadOfItsOwn(name: "tandem-training") {
                [texts, labels] in
                let (artifact, files) = try fit(texts: texts, labels: labels, settings: settings, encoder: services.intelligence.encoder,
                                                 threads: services.environment.threads, clock: services.clock) {
                    logger.debug("training: \($0)")
                }
                return (artifact, files, promotionCheck(candidate: artifact, holdout: held, settings: settings, services: services))
            }
            record.manifest = files.manifest
            record.weights = files.weights
            record.version = artifact.version
            record.summary = artifact.summary
            record.status = .ready
            if let promotion {
                record.summary = artifact.summary + "\npromotion check on \(holdout.count) recent labelled messages:\n"
                    + promotion.reasons.joined(separator: "\n")
            }
            if let promotion, !promotion.promote {
                // Kept for inspection (and a supervisor may still activate it), but not served.
                record.status = .rejected
                record.error = "not promoted: failed " + promotion.failed.map(\.rawValue).joined(separator: ", ")
                try await record.save(on: db)
                app.logger.warning("model \(artifact.version) not promoted: \(promotion.reasons.joined(separator: "; "))")
                return
            }
            try await record.save(on: db)
            try await activate(try record.requireID(), at: services.clock.now, on: db)
            app.logger.info("model \(artifact.version) trained and activated:\n\(record.summary ?? "")")
            if promotion != nil {
                // A model that passed the check on recent traffic lifts guardrail holds.
                for intent in try await IntentRecord.query(on: db).filter(\.$guarded == true).all() {
                    try await QualityService.evaluate(intent: intent.key, settings: settings, actor: "model \(artifact.version)", promoted: true, on: db)
                }
            }
        } catch {
            record.status = .failed
            record.error = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            try? await record.save(on: db)
            throw error
        }
    }

    /// What the next training run learns from: knowledge-base examples plus people's labels
    /// (agent replies, audits) on real customer messages, and the most recent labels held out,
    /// since the candidate must do well on traffic it did not learn from. Erased and
    /// anonymised conversations have no labels, so their texts are never in it.
    static func trainingSet(on db: Database) async throws -> (texts: [String], labels: [String], holdout: [LabelRecord]) {
        let intents = try await IntentRecord.query(on: db).with(\.$examples).all()
        var texts: [String] = [], labels: [String] = []
        let known = Set(intents.map(\.key))
        for intent in intents {
            for example in intent.examples { texts.append(example.text); labels.append(intent.key) }
        }
        let labelled = try await LabelRecord.query(on: db).with(\.$message).sort(\.$createdAt).all().filter { known.contains($0.intent) }
        let holdoutCount = labelled.count >= minimumHoldout * 2 ? max(minimumHoldout, labelled.count / 5) : 0
        for label in labelled.dropLast(holdoutCount) {
            texts.append(label.message.text)
            labels.append(label.intent)
        }
        return (texts, labels, Array(labelled.suffix(holdoutCount)))
    }

    /// Labels held out for the promotion check, at least (when there are twice as many).
    static let minimumHoldout = 10

    /// The promotion check against the serving model on held-out recent labelled traffic; nil
    /// when there is nothing to compare (no serving model, no labels, another encoder).
    static func promotionCheck(candidate: ModelArtifact, holdout: (texts: [String], labels: [String]), settings: WorkspaceSettings,
                               services: TandemServices) -> PromotionDecision? {
        guard let current = services.intelligence.active?.artifact, current.encoder == candidate.encoder, !holdout.texts.isEmpty else { return nil }
        let (texts, labels) = holdout
        let embeddings = services.intelligence.encoder.encodeMatrix(texts)
        let traffic = zip(current.outcomes(embeddings: embeddings, texts: texts, labels: labels),
                          candidate.outcomes(embeddings: embeddings, texts: texts, labels: labels)).map(PromotionSample.init)
        return PromotionCheck(targetRisk: settings.targetRisk, delta: 1 - settings.confidenceLevel)
            .evaluate(traffic: traffic, current: current.certifiedFigures, candidate: candidate.certifiedFigures)
    }

    /// Trains and serialises a model: the artifact plus its two files' bytes, as stored in
    /// `model_versions` (so every node can load the same version).
    static func fit(texts: [String], labels: [String], settings: WorkspaceSettings, encoder: any SentenceEncoder, threads: Int,
                    clock: any WallClock, progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> (ModelArtifact, ModelArtifact.Files) {
        let embeddings = encoder.encodeMatrix(texts)
        var options = TrainingOptions()
        options.targetRisk = settings.targetRisk
        options.confidenceLevel = settings.confidenceLevel
        options.unknownKeepAway = settings.unknownKeepAway
        options.threads = threads
        let data = TrainingData(texts: texts, labels: labels, embeddings: embeddings)
        let trained = try Trainer(options: options, clock: clock, progress: progress).train(data)
        let artifact = ModelArtifact(trained: trained, encoder: encoder.identifier, data: data, createdAt: clock.now)
        return (artifact, try artifact.files())
    }

    /// Stores a trained model as a new version, activates it and serves it on this node
    /// (for workspaces seeded outside the job queue: replays and tests).
    static func install(version: String, summary: String?, files: ModelArtifact.Files, examples: Int,
                        app: Application) async throws {
        let record = ModelVersionRecord()
        record.version = version
        record.status = .ready
        record.manifest = files.manifest
        record.weights = files.weights
        record.examples = examples
        record.summary = summary
        try await record.create(on: app.db)
        try await activate(try record.requireID(), at: app.tandem.clock.now, on: app.db)
        _ = try await sync(app: app)
    }

    /// Makes `id` the active version (the previous one is retired, kept for rollback).
    /// Activations take turns (on PostgreSQL under an advisory lock for the transaction; SQLite
    /// has one writer): two at once, say two nodes finishing trainings together, would each
    /// retire only what was active in their own snapshot and leave both active. The database
    /// refuses a second active version anyway (migration 021). A person's activation (`actor`)
    /// is recorded in the audit log in the same transaction.
    static func activate(_ id: UUID, at now: Date, by actor: AgentRecord? = nil, on db: Database) async throws {
        try await db.writeTransaction { db in
            if let sql = db as? SQLDatabase, sql.dialect.name == "postgresql" {
                try await sql.raw("SELECT pg_advisory_xact_lock(hashtext('tandem-model-activation:' || current_schema()))").run()
            }
            guard let target = try await ModelVersionRecord.find(id, on: db), target.manifest != nil else {
                throw AppError.notFound("Model version \(id)")
            }
            let previous = try await ModelVersionRecord.query(on: db).filter(\.$status == .active).all()
            for active in previous where active.id != id {
                active.status = .retired
                try await active.save(on: db)
            }
            target.status = .active
            target.activatedAt = now
            try await target.save(on: db)
            try await EventBus.record(.modelActivated, conversationID: nil, payload: ["version": target.version], on: db)
            if let actor {
                struct Serving: Encodable { var id: UUID?; var version: String? }
                try await AuditLog.record(.modelActivate, by: actor, target: "model:\(id)",
                                          before: Serving(id: previous.first?.id, version: previous.first?.version),
                                          after: Serving(id: id, version: target.version), on: db)
            }
        }
    }

    /// Loads the active version if this node does not serve it yet. Returns true when a
    /// version is being served afterwards.
    @discardableResult
    static func sync(app: Application) async throws -> Bool {
        // One load at a time: two overlapping ones (the watcher's and an erasure's, say) could
        // finish out of order and leave the older read serving.
        await syncLock.acquire()
        do {
            let serving = try await loadActive(app: app)
            syncLock.release()
            return serving
        } catch {
            syncLock.release()
            throw error
        }
    }

    private static let syncLock = AsyncMutex()

    private static func loadActive(app: Application) async throws -> Bool {
        guard let active = try await ModelVersionRecord.query(on: app.db).filter(\.$status == .active)
            .field(\.$id).field(\.$version).field(\.$revision).first() else {
            app.tandem.intelligence.activate(nil)
            return false
        }
        let intelligence = app.tandem.intelligence
        // A redacted manifest (erasure, retention) is the same version with a higher revision.
        if let serving = intelligence.active, serving.recordID == active.id, serving.revision == active.revision ?? 0 { return true }
        guard let full = try await ModelVersionRecord.find(active.id, on: app.db), let manifest = full.manifest, let weights = full.weights else {
            return false
        }
        do {
            let artifact = try ModelArtifact(files: .init(manifest: manifest, weights: weights), expectedEncoder: intelligence.encoder.identifier,
                                             names: ("model \(full.version) manifest", "model \(full.version) weights"))
            intelligence.activate(.init(recordID: try full.requireID(), artifact: artifact, revision: full.revision ?? 0))
            app.logger.info("serving model \(artifact.version)")
            return true
        } catch let error as ModelArtifact.LoadError {
            // A model trained on another encoder's embeddings (e.g. before the model was
            // installed): retrain rather than answer with it.
            app.logger.warning("active model \(full.version) cannot be used: \(error.localizedDescription); retraining")
            _ = try await requestTraining(reason: "active model unusable: \(error.localizedDescription)", at: app.tandem.clock.now, on: app.db)
            return false
        }
    }

    /// Keeps this node on the active version: loads it as soon as the `model.activated` event of
    /// an activation on any node arrives, and checks every few seconds anyway.
    static func watch(app: Application) async {
        let wake = WakeSignal()
        let activations = Task {
            do {
                let subscription = try await app.tandem.events.subscribe(from: nil, scope: .init(kinds: [.modelActivated]), on: app.db)
                for await _ in subscription.stream { wake.signal() }
            } catch {
                app.logger.warning("model activations: \(error); checking every few seconds only")
            }
        }
        defer { activations.cancel() }
        var lastScheduleCheck = Date.distantPast
        while !Task.isCancelled {
            do { try await sync(app: app) } catch { app.logger.warning("model sync: \(error)") }
            if app.tandem.clock.now.timeIntervalSince(lastScheduleCheck) > scheduleCheckInterval {
                lastScheduleCheck = app.tandem.clock.now
                do { try await scheduleRetraining(app: app) } catch { app.logger.warning("retraining schedule: \(error)") }
            }
            await wake.wait(timeout: .seconds(3))
        }
    }

    /// How often nodes look for enough new labels to retrain on.
    static let scheduleCheckInterval: TimeInterval = 600
    /// New labels (agent replies, audits) since the newest model that make a retrain worthwhile.
    static let labelsPerRetrain = 50

    /// The scheduled retrain: when people have given enough new labels since the newest model,
    /// queue a training run (any node may; the job queue keeps it to one). The promotion check
    /// decides whether the result is served.
    static func scheduleRetraining(app: Application) async throws {
        guard let newest = try await ModelVersionRecord.query(on: app.db).sort(\.$createdAt, .descending).first()?.createdAt else { return }
        let fresh = try await LabelRecord.query(on: app.db).filter(\.$createdAt > newest).count()
        guard fresh >= labelsPerRetrain else { return }
        if try await requestTraining(reason: "\(fresh) new labels since the last model", at: app.tandem.clock.now, on: app.db) {
            app.logger.info("scheduled retraining: \(fresh) new labels since the last model")
            app.jobs?.poke()
        }
    }
}
