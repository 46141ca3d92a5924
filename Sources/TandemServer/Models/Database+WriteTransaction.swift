import Fluent
import NIOConcurrencyHelpers
import SQLKit

extension Database {
    /// A transaction that will write. On SQLite, writers in this process take turns through
    /// an async lock and start with `BEGIN IMMEDIATE`: SQLite allows one writer at a time, its
    /// busy handler spins while waiting, and a deferred transaction that reads first fails
    /// at once with "database is locked" when another connection wrote meanwhile. (SQLite is
    /// the single-node store; several nodes share PostgreSQL, where this is an ordinary
    /// transaction.)
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let sql = self as? any SQLDatabase, sql.dialect.name == "sqlite", !inTransaction else {
            return try await transaction(body)
        }
        await AsyncMutex.sqliteWriters.acquire()
        do {
            let result = try await withConnection { connection in
                let sql = connection as! any SQLDatabase
                try await sql.raw("BEGIN IMMEDIATE").run()
                do {
                    let result = try await body(connection)
                    try await sql.raw("COMMIT").run()
                    return result
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            }
            AsyncMutex.sqliteWriters.release()
            return result
        } catch {
            AsyncMutex.sqliteWriters.release()
            throw error
        }
    }
}

/// A FIFO async mutex: waiters suspend instead of blocking a thread.
final class AsyncMutex: Sendable {
    /// SQLite's writers in this process (`writeTransaction`).
    static let sqliteWriters = AsyncMutex()
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLockedValue { state -> Bool in
                if state.held { state.waiters.append(continuation); return false }
                state.held = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty { state.held = false; return nil }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
