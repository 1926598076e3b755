import ArgumentParser
import BMSConfig
import Exposition

@main
struct BMSExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bms_exporter",
        abstract: "Prometheus exporter for JBD smart-BMS batteries over Bluetooth LE.",
        version: BuildInfo.versionLine,
        subcommands: [ServeCommand.self, DecodeCommand.self, ReadCommand.self, ScanCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Parses the arguments after giving a bare `--simulate` its default scenario (`SimulateArgument`).
    static func main() async {
        await main(SimulateArgument.normalise(Array(CommandLine.arguments.dropFirst())))
    }
}
