import ArgumentParser
import BMSConfig
import CLIOutput

/// The process entry: parses as ArgumentParser would, but with the exit codes the README
/// promises for every command — 0 fine, 1 runtime failure, 2 bad flags or files.
///
/// ArgumentParser exits 64 (EX_USAGE) for a usage error; Prometheus' exporters exit 2, as
/// `serve` already did for a bad flag value it checks itself.
@main
enum Entry {
    static func main() async {
        // A bare `--simulate` gets its default scenario first (`SimulateArgument`).
        let arguments = SimulateArgument.normalise(Array(CommandLine.arguments.dropFirst()))
        do {
            try RepeatedFlags.check(arguments)
            var command = try BMSExporterCommand.parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(for: error)
        }
    }

    static let usageError: Int32 = 2

    private static func exit(for error: Error) -> Never {
        if let repeated = error as? RepeatedFlags.Repeated {
            StandardError.write("bms_exporter: \(repeated)\n")
            BMSExporterCommand.exit(withError: ExitCode(usageError))
        }
        let code = BMSExporterCommand.exitCode(for: error)
        guard code == .validationFailure else { BMSExporterCommand.exit(withError: error) }
        let message = BMSExporterCommand.fullMessage(for: error)
        StandardError.write(message.hasSuffix("\n") ? message : message + "\n")
        BMSExporterCommand.exit(withError: ExitCode(usageError))
    }
}
