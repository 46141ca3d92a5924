import Fluent
import Foundation
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

    /// Queues a training run unless one is already waiting. A run in progress may have started
    /// before the latest edits, so they queue the next one.
    static func requestTraining(reason: String, on db: Database) async throws -> Bool {
        let busy = try await JobRecord.query(on: db).filter(\.$kind == "train").filter(\.$status == "pending").count()
        guard busy == 0 else { return false }
        try await JobQueue.enqueue("train", payload: TrainRequest(reason: reason), on: db)
        return true
    }

    /// The `train` job: knowledge-base examples plus agents' labels in, an active version out.
    static func train(_ job: JobRecord, app: Application) async throws {
        let db = app.db
        let services = app.tandem
        let settings = try await services.workspace(on: db).settings
        let intents = try await IntentRecord.query(on: db).with(\.$examples).all()
        var texts: [String] = [], labels: [String] = []
        let known = Set(intents.map(\.key))
        for intent in intents {
            for example in intent.examples { texts.append(example.text); labels.append(intent.key) }
        }
        // Labels from people (agent replies, audits) on real customer messages.
        let labelled = try await LabelRecord.query(on: db).with(\.$message).all()
        for label in labelled where known.contains(label.intent) {
            texts.append(label.message.text)
            labels.append(label.intent)
        }
        let record = ModelVersionRecord()
        record.version = "training"
        record.status = "training"
        record.examples = texts.count
        try await record.create(on: db)
        do {
            guard Set(labels).count >= 2 else { throw TrainingError.tooFewIntents(Set(labels).count) }
            app.logger.info("training a model on \(texts.count) examples of \(Set(labels).count) intents …")
            let logger = app.logger
            let (artifact, files) = try fit(texts: texts, labels: labels, settings: settings, encoder: services.intelligence.encoder) {
                logger.debug("training: \($0)")
            }
            record.manifest = files.manifest
            record.weights = files.weights
            record.version = artifact.version
            record.summary = artifact.summary
            record.status = "ready"
            try await record.save(on: db)
            try await activate(try record.requireID(), on: db)
            app.logger.info("model \(artifact.version) trained and activated:\n\(artifact.summary)")
        } catch {
            record.status = "failed"
            record.error = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            try? await record.save(on: db)
            throw error
        }
    }

    /// Trains and serialises a model: the artifact plus its two files' bytes, as stored in
    /// `model_versions` (so every node can load the same version).
    static func fit(texts: [String], labels: [String], settings: WorkspaceSettings, encoder: any SentenceEncoder,
                    progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> (ModelArtifact, (manifest: Data, weights: Data)) {
        let embeddings = encoder.encodeMatrix(texts)
        var options = TrainingOptions()
        options.targetRisk = settings.targetRisk
        options.confidenceLevel = settings.confidenceLevel
        options.unknownKeepAway = settings.unknownKeepAway
        let data = TrainingData(texts: texts, labels: labels, embeddings: embeddings)
        let trained = try Trainer(options: options, progress: progress).train(data)
        let artifact = ModelArtifact(trained: trained, encoder: encoder.identifier, data: data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-model-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try artifact.write(to: folder)
        return (artifact, (try Data(contentsOf: folder.appendingPathComponent(ModelArtifact.manifestFile)),
                           try Data(contentsOf: folder.appendingPathComponent(ModelArtifact.weightsFile))))
    }

    /// Makes `id` the active version (the previous one is retired, kept for rollback).
    static func activate(_ id: UUID, on db: Database) async throws {
        try await db.writeTransaction { db in
            guard let target = try await ModelVersionRecord.find(id, on: db), target.manifest != nil else {
                throw AppError.notFound("Model version \(id)")
            }
            for active in try await ModelVersionRecord.query(on: db).filter(\.$status == "active").all() where active.id != id {
                active.status = "retired"
                try await active.save(on: db)
            }
            target.status = "active"
            target.activatedAt = Date()
            try await target.save(on: db)
            try await EventBus.record("model.activated", conversationID: nil, payload: ["version": target.version], on: db)
        }
    }

    /// Loads the active version if this node does not serve it yet. Returns true when a
    /// version is being served afterwards.
    @discardableResult
    static func sync(app: Application) async throws -> Bool {
        guard let active = try await ModelVersionRecord.query(on: app.db).filter(\.$status == "active")
            .field(\.$id).field(\.$version).first() else {
            app.tandem.intelligence.activate(nil)
            return false
        }
        let intelligence = app.tandem.intelligence
        if intelligence.active?.recordID == active.id { return true }
        guard let full = try await ModelVersionRecord.find(active.id, on: app.db), let manifest = full.manifest, let weights = full.weights else {
            return false
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-load-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try manifest.write(to: folder.appendingPathComponent(ModelArtifact.manifestFile))
        try weights.write(to: folder.appendingPathComponent(ModelArtifact.weightsFile))
        do {
            let artifact = try ModelArtifact.read(from: folder, expectedEncoder: intelligence.encoder.identifier)
            intelligence.activate(.init(recordID: try full.requireID(), artifact: artifact))
            app.logger.info("serving model \(artifact.version)")
            return true
        } catch let error as ModelArtifact.LoadError {
            // A model trained on another encoder's embeddings (e.g. before the model was
            // installed): retrain rather than answer with it.
            app.logger.warning("active model \(full.version) cannot be used: \(error.localizedDescription); retraining")
            _ = try await requestTraining(reason: "active model unusable: \(error.localizedDescription)", on: app.db)
            return false
        }
    }

    /// Keeps this node on the active version: checks every few seconds.
    static func watch(app: Application) async {
        while !Task.isCancelled {
            do { try await sync(app: app) } catch { app.logger.warning("model sync: \(error)") }
            try? await Task.sleep(for: .seconds(3))
        }
    }
}
