import FluentKit
import Foundation
import TandemCore

/// A record with a `created_at` column, stamped from the application's clock when it is created.
protocol CreationStamped: AnyObject {
    var createdAt: Date? { get set }
}

/// A record with an `updated_at` column, stamped from the application's clock on every save.
protocol UpdateStamped: AnyObject {
    var updatedAt: Date? { get set }
}

/// Stamps `created_at` and `updated_at` from the injected clock. Fluent's `@Timestamp` always
/// reads the system time, which tests could not move; with this, every stored time in the
/// database comes from `TandemServices.clock`. A `created_at` set by the caller is kept.
struct ClockTimestamps: AnyModelMiddleware {
    let clock: any WallClock

    func handle(_ event: ModelEvent, _ model: any AnyModel, on db: any Database,
                chainingTo next: any AnyModelResponder) -> EventLoopFuture<Void> {
        let now = clock.now
        switch event {
        case .create:
            if let stamped = model as? CreationStamped, stamped.createdAt == nil { stamped.createdAt = now }
            (model as? UpdateStamped)?.updatedAt = now
        case .update:
            (model as? UpdateStamped)?.updatedAt = now
        default:
            break
        }
        return next.handle(event, model, on: db)
    }
}

extension AgentRecord: CreationStamped {}
extension AgentTokenRecord: CreationStamped {}
extension ConversationRecord: CreationStamped, UpdateStamped {}
extension DecisionRecord: CreationStamped {}
extension IntentRecord: CreationStamped, UpdateStamped {}
extension ExampleRecord: CreationStamped {}
extension MessageRecord: CreationStamped {}
extension AuditRecord: CreationStamped {}
extension GuardrailEventRecord: CreationStamped {}
extension LabelRecord: CreationStamped {}
extension ModelVersionRecord: CreationStamped {}
extension EventRecord: CreationStamped {}
extension JobRecord: CreationStamped {}
extension WebhookRecord: CreationStamped {}
extension WorkspaceRecord: CreationStamped, UpdateStamped {}
extension AuditLogRecord: CreationStamped {}
extension ServerSecretRecord: CreationStamped {}
extension NoteRecord: CreationStamped {}
extension TeamRecord: CreationStamped {}
extension EmailMessageRecord: CreationStamped {}
extension MentionRecord: CreationStamped {}
extension SnippetRecord: CreationStamped, UpdateStamped {}
