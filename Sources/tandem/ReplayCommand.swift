import ArgumentParser
import Foundation
import TandemOffline
import TandemCore
import TandemServer

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a labelled test set through a workspace seeded from a training set: automated share, audited error, staffing.")

    @ArgumentParser.Option(help: "CSV whose labels become the workspace's intents (texts: their examples).")
    var train: String

    @ArgumentParser.Option(help: "CSV of customer messages with their true intents.")
    var test: String

    @ArgumentParser.Option(help: "Target risk: the share of wrong AI answers allowed.")
    var targetRisk = 0.01

    @ArgumentParser.Option(help: "Share of AI answers sampled for audit (more while an intent has few).")
    var auditRate = 0.05

    @ArgumentParser.Option(help: "Conversations per day in the staffing plan's sample forecast.")
    var perDay = 2000

    @ArgumentParser.Option(help: "Average handle time for people, seconds.")
    var handleTime = StaffingParameters.standard.handleTimeSeconds

    @ArgumentParser.Option var textColumn = "text"
    @ArgumentParser.Option var labelColumn = "label"

    @Flag(help: "Replay the test set as conversations of two to four messages (greetings, bursts, follow-ups, repeats, thanks), with bursts and follow-ups off and then on.")
    var conversations = false

    @ArgumentParser.Option(help: "Seed of the conversations (--conversations).")
    var seed: UInt64 = 7

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard targetRisk > 0, targetRisk < 1 else { throw ValidationError("--target-risk must be between 0 and 1, got \(targetRisk)") }
        guard auditRate >= 0, auditRate <= 1 else { throw ValidationError("--audit-rate must be between 0 and 1, got \(auditRate)") }
        guard perDay > 0 else { throw ValidationError("--per-day must be positive") }
    }

    func run() async throws {
        let quiet = json
        var replay = Replay(
            train: try LabelledData.read(path: train, textColumn: textColumn, labelColumn: labelColumn),
            test: try LabelledData.read(path: test, textColumn: textColumn, labelColumn: labelColumn),
            environment: TandemEnvironment(),
            log: { message in if !quiet { FileHandle.standardError.write(Data(("… " + message + "\n").utf8)) } })
        replay.targetRisk = targetRisk
        replay.auditRate = auditRate
        replay.dailyConversations = perDay
        replay.staffingParameters.handleTimeSeconds = handleTime
        if conversations {
            var conversationReplay = ConversationReplay(replay)
            conversationReplay.seed = seed
            let report = try await conversationReplay.run()
            if json { try printJSON(report) } else { print(report.text) }
            return
        }
        let report = try await replay.run()
        if json {
            try printJSON(report)
        } else {
            print(report.text)
        }
    }
}
