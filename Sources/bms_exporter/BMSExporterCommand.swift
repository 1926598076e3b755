import ArgumentParser
import BMSConfig
import Exposition

struct BMSExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bms_exporter",
        abstract: "Prometheus exporter for JBD smart-BMS batteries over Bluetooth LE.",
        version: BuildInfo.versionLine,
        subcommands: [ServeCommand.self, DecodeCommand.self, ReadCommand.self, ScanCommand.self, PairCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
