import ArgumentParser
import BatterySession
import BluetoothLink
import BlueZ
import BMSConfig
import CLIOutput
import LogFormat
import Logging
import ServiceLifecycle
import WebServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Poll batteries in the background and serve their metrics (the default command)."
    )

    @Option(name: .customLong("config.file"), help: "YAML file listing the batteries to poll.")
    var configFile: String?

    @Option(name: .customLong("bms.address"), help: "MAC address of a single battery (instead of a config file).")
    var bmsAddress: String?

    @Option(name: .customLong("bms.device"), help: "Serial device of a single battery (instead of a config file), e.g. /dev/serial/by-id/….")
    var bmsDevice: String?

    @Option(name: .customLong("bms.baud"), help: "Line speed for --bms.device (default 9600).")
    var bmsBaud: String?

    @Option(name: .customLong("bms.name"), help: "The battery label for --bms.address or --bms.device.")
    var bmsName = "battery"

    @Option(name: [.customLong("bluez.adapter"), .customLong("adapter")],
            help: "Bluetooth adapter for batteries that name none (--adapter is an alias).")
    var adapter = "hci0"

    @Option(name: .customLong("bluez.max-links"), help: ArgumentHelp(
        "Links kept at once per Bluetooth adapter (default \(AdapterPolicy.defaultMaxLinks)); batteries beyond it take turns.",
        valueName: "n"))
    var maxLinks: String?

    @Option(name: .customLong("bluez.power-cycle-after"), help: ArgumentHelp(
        "Power an adapter off and on after this many connects in a row failed on it (default 0: never).",
        valueName: "n"))
    var powerCycleAfter: String?

    @Option(name: .customLong("poll.interval"), help: "How often to read each battery (e.g. 10s, 1m).")
    var pollInterval = "10s"

    @Option(name: .customLong("web.listen-address"), help: "Address to serve HTTP on: HOST:PORT or :PORT.")
    var listenAddress = ":9882"

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    var telemetryPath = "/metrics"

    @Option(name: .customLong("web.config.file"), help: "Exporter-toolkit web config (YAML) for TLS and basic auth.")
    var webConfigFile: String?

    @Option(
        name: .customLong("bms.password-file"),
        help: "File holding the module password (FF AA modules with a password set in the vendor app); with --bms.address.")
    var bmsPasswordFile: String?

    @Option(name: .customLong("simulate"), help: ArgumentHelp(
        "Serve one simulated battery, no Bluetooth needed, playing a scenario; bare --simulate is normal.",
        discussion: "Scenarios: \(SimulationScenario.names) (see docs/alerts.md).",
        valueName: "scenario"
    ))
    var simulate: String?

    @Option(name: .customLong("simulate.silence"), help: ArgumentHelp(
        "Polls the battery of --simulate=silent-low stays silent (default \(Simulation.defaultSilencePolls)).",
        valueName: "polls"
    ))
    var simulateSilence: Int?

    @Option(name: .customLong("log.level"), help: "Only log messages at this level or above: debug, info, warn, error.")
    var logLevel = "info"

    @Option(name: .customLong("log.format"), help: "Log line format: logfmt or json.")
    var logFormat = LogFormat.logfmt

    func run() async throws {
        let settings: ServeSettings
        let webConfig: WebConfig
        let flags = ServeSettings.Flags(
            configFile: configFile, bmsAddress: bmsAddress, bmsName: bmsName, adapter: adapter,
            pollInterval: pollInterval, listenAddress: listenAddress, telemetryPath: telemetryPath,
            logLevel: logLevel, simulate: simulate != nil, webConfigFile: webConfigFile,
            bmsPasswordFile: bmsPasswordFile, scenario: simulate, silencePolls: simulateSilence,
            bmsDevice: bmsDevice, bmsBaud: bmsBaud, maxLinks: maxLinks, powerCycleAfter: powerCycleAfter
        )
        do {
            settings = try ServeSettings.resolve(flags)
            webConfig = try settings.loadWebConfig()
        } catch {
            StandardError.write("bms_exporter: \(error)\n")
            throw ExitCode(2)
        }
        let logger = LogSetup.bootstrap(level: settings.logLevel, format: logFormat)
        let batteries: [Exporter.Battery]
        var fleet: BluetoothFleet?
        if settings.simulate {
            batteries = Self.simulatedBatteries(settings)
        } else {
            (batteries, fleet) = try await LinkWiring.links(for: settings.batteries, logger: logger)
        }
        let stack = fleet?.stack
        fleet?.watch(settings.batteries, policies: settings.adapters)
        // SIGHUP re-reads the battery list; listen address, TLS and log level need a restart.
        let links = fleet
        let simulate = settings.simulate
        let reload: @Sendable () async throws -> [Exporter.Battery] = {
            let fresh = try ServeSettings.resolve(flags)
            guard !simulate else { return Self.simulatedBatteries(fresh) }
            let batteries = try fresh.batteries.map { config in
                if let line = config.serial { return LinkWiring.serial(config, line) }
                guard let links else { throw LinkWiring.NoBluetooth() }
                return links.battery(config)
            }
            // An adapter the reloaded config names for the first time is watched from now on.
            links?.watch(fresh.batteries, policies: fresh.adapters)
            return batteries
        }
        do {
            try await Exporter(
                batteries: batteries, listenAddress: settings.listenAddress, telemetryPath: settings.telemetryPath,
                logger: logger, webConfig: webConfig, reload: reload, adapters: fleet?.adapters,
                adapterMonitor: fleet?.monitor(logger: logger)
            ).run()
        } catch let failure as ListenFailure {
            logger.error("\(failure)")
            await stack?.close()
            throw ExitCode.failure
        } catch {
            logger.critical("exporter stopped: \(error)")
            await stack?.close()
            throw ExitCode.failure
        }
        // Only now: every poller has disconnected its battery through this stack.
        await stack?.close()
    }

    /// One simulated link per configured battery, playing the chosen scenario.
    private static func simulatedBatteries(_ settings: ServeSettings) -> [Exporter.Battery] {
        settings.batteries.map {
            Exporter.Battery(
                config: $0, link: SimulatedLink(simulation: settings.simulation),
                transport: .simulated
            )
        }
    }
}
