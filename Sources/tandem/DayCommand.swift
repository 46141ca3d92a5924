import ArgumentParser
import Foundation
import TandemOffline
import TandemServer

struct DayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "day",
        abstract: "Simulate a working day on the demo workspace, end to end: channels, AI answers, teams, automatic assignment, service levels.")

    @ArgumentParser.Option(help: "Conversations over the day.")
    var conversations = 600

    @ArgumentParser.Option(help: "Seed of the arrivals, messages and handling times.")
    var seed: UInt64 = 11

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (1...20_000).contains(conversations) else { throw ValidationError("--conversations must be from 1 to 20000, got \(conversations)") }
    }

    func run() async throws {
        let quiet = json
        var day = DaySimulation(environment: TandemEnvironment(),
                                log: { message in if !quiet { FileHandle.standardError.write(Data(("… " + message + "\n").utf8)) } })
        day.conversations = conversations
        day.seed = seed
        let figures = try await day.run()
        if json { try printJSON(figures) } else { print(figures.text) }
    }
}
