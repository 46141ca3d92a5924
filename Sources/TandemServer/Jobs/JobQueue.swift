import Fluent
import Foundation
import SQLKit
import Vapor

/// Background work in the database, so that any node can pick it up and none is lost when a
/// node stops: a job is claimed with one UPDATE (with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// so nodes never wait on each other), and a claim that outlives its lease (a node died) is
/// taken over by another node.
enum JobQueue {
    static let lease: TimeInterval = 600

    @discardableResult
    static func enqueue(_ kind: JobKind, payload: some Encodable, runAt: Date, on db: Database) async throws -> JobRecord {
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        let job = JobRecord(kind: kind, payload: json, runAt: runAt)
        try await job.create(on: db)
        return job
    }

    /// Claims the next due job for `node`, or nil.
    static func claim(node: String, now: Date, on db: Database) async throws -> JobRecord? {
        guard let sql = db as? SQLDatabase else { return nil }
        let until = now.addingTimeInterval(lease)
        let lock = sql.dialect.name == "postgresql" ? "FOR UPDATE SKIP LOCKED" : ""
        let rows = try await sql.raw("""
            UPDATE jobs SET status = 'running', locked_by = \(bind: node), locked_until = \(bind: until), attempts = attempts + 1
            WHERE id = (SELECT id FROM jobs
                        WHERE (status = 'pending' AND run_at <= \(bind: now)) OR (status = 'running' AND locked_until < \(bind: now))
                        ORDER BY run_at LIMIT 1 \(unsafeRaw: lock))
            RETURNING id
            """).all()
        guard let row = rows.first, let id = try? row.decode(column: "id", as: UUID.self) else { return nil }
        return try await JobRecord.find(id, on: db)
    }

    static func finish(_ job: JobRecord, on db: Database) async throws {
        job.status = .done
        job.lockedUntil = nil
        try await job.save(on: db)
    }

    /// Records a failure; retries with exponential back-off up to `maxAttempts`.
    static func fail(_ job: JobRecord, error: String, maxAttempts: Int, now: Date, on db: Database) async throws {
        job.lastError = String(error.prefix(2000))
        job.lockedUntil = nil
        if job.attempts >= maxAttempts {
            job.status = .failed
        } else {
            job.status = .pending
            job.runAt = now.addingTimeInterval(pow(2, Double(job.attempts)) * 5)
        }
        try await job.save(on: db)
    }
}

/// Runs due jobs on this node until stopped.
final class JobRunner: Sendable {
    typealias Handler = @Sendable (JobRecord, Application) async throws -> Void
    let handlers: [JobKind: (handler: Handler, maxAttempts: Int)]
    let signal = WakeSignal()

    init(handlers: [JobKind: (handler: Handler, maxAttempts: Int)]) { self.handlers = handlers }

    func poke() { signal.signal() }

    func run(app: Application) async {
        let node = app.tandem.environment.nodeID
        while !Task.isCancelled {
            do {
                if let job = try await JobQueue.claim(node: node, now: app.tandem.clock.now, on: app.db) {
                    guard let entry = handlers[job.kind] else {
                        try await JobQueue.fail(job, error: "no handler for job kind \(job.kind)", maxAttempts: 0, now: app.tandem.clock.now, on: app.db)
                        continue
                    }
                    do {
                        try await entry.handler(job, app)
                        try await JobQueue.finish(job, on: app.db)
                    } catch {
                        app.logger.warning("job failed: \(error)", metadata: [
                            "job-id": .string(job.id?.uuidString ?? "-"), "job-kind": .string(job.kind.rawValue), "attempt": .stringConvertible(job.attempts),
                        ])
                        try await JobQueue.fail(job, error: "\(error)", maxAttempts: entry.maxAttempts, now: app.tandem.clock.now, on: app.db)
                    }
                    continue
                }
            } catch {
                if Task.isCancelled { return }
                app.logger.warning("job runner: \(error)")
            }
            await signal.wait(timeout: .seconds(1))
        }
    }
}

extension Application {
    private struct JobRunnerKey: StorageKey { typealias Value = JobRunner }
    var jobs: JobRunner? {
        get { storage[JobRunnerKey.self] }
        set { storage[JobRunnerKey.self] = newValue }
    }
}
