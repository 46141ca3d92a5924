import ArgumentParser
import TandemServer

/// The `tandem` command line. Each subcommand parses its arguments and calls into the
/// libraries; nothing here is logic of its own.
@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Customer service where AI and people answer together.",
        subcommands: [ServeCommand.self, AdminCommand.self, ModelCommand.self, EmbedCommand.self, TrainCommand.self, EvaluateCommand.self, PlanCommand.self, GuardrailCommand.self, ReplayCommand.self, DayCommand.self, BenchCommand.self])

    static func main() async {
        TandemApp.prepareProcess()
        await main(nil)
    }
}
