import Basics
import BatterySession
import Logging

/// Everything `serve` needs, resolved from flags and the config file and validated before
/// anything starts: a bad value stops the exporter at once, naming the flag or line.
public struct ServeSettings: Sendable, Equatable {
    public var batteries: [BatteryConfig]
    public var listenAddress: ListenAddress
    public var telemetryPath: String
    public var logLevel: Logger.Level
    public var simulate: Bool
    /// What the simulated battery plays (`--simulate=SCENARIO`, `--simulate.silence`).
    public var simulation = Simulation()
    /// `--web.config.file`: TLS and basic auth, loaded by the web server (which knows TLS);
    /// nil when the flag is not given.
    public var webConfigFile: String?

    /// The flags as typed, before validation.
    public struct Flags: Sendable {
        public var configFile: String?
        public var bmsAddress: String?
        public var bmsName: String
        public var adapter: String
        public var pollInterval: String
        public var listenAddress: String
        public var telemetryPath: String
        public var logLevel: String
        public var simulate: Bool
        public var webConfigFile: String?
        /// `--bms.password-file`, for `--bms.address` only.
        public var bmsPasswordFile: String?
        /// The scenario named by `--simulate=SCENARIO`; nil plays `normal`.
        public var scenario: String?
        /// `--simulate.silence`, when given.
        public var silencePolls: Int?

        public init(
            configFile: String? = nil, bmsAddress: String? = nil, bmsName: String = "battery", adapter: String = "hci0",
            pollInterval: String = "10s", listenAddress: String = ":9882", telemetryPath: String = "/metrics",
            logLevel: String = "info", simulate: Bool = false, webConfigFile: String? = nil,
            bmsPasswordFile: String? = nil, scenario: String? = nil, silencePolls: Int? = nil
        ) {
            self.bmsPasswordFile = bmsPasswordFile
            self.scenario = scenario
            self.silencePolls = silencePolls
            self.configFile = configFile
            self.bmsAddress = bmsAddress
            self.bmsName = bmsName
            self.adapter = adapter
            self.pollInterval = pollInterval
            self.listenAddress = listenAddress
            self.telemetryPath = telemetryPath
            self.logLevel = logLevel
            self.simulate = simulate
            self.webConfigFile = webConfigFile
        }
    }

    /// The name and address the simulated battery is served under.
    public static let simulatedBattery = (name: "simulated", address: "00:00:00:00:00:00")

    public static func resolve(_ flags: Flags, readFile: (String) throws(ConfigError) -> String = TextFile.read)
        throws(ConfigError) -> ServeSettings {
        guard let listen = ListenAddress(flags.listenAddress) else {
            throw ConfigError(source: "--web.listen-address", "\"\(flags.listenAddress)\" is not HOST:PORT, :PORT or [IPv6]:PORT")
        }
        guard flags.telemetryPath.hasPrefix("/"), flags.telemetryPath != "/", flags.telemetryPath != "/-/healthy",
              !flags.telemetryPath.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" })
        else {
            throw ConfigError(source: "--web.telemetry-path", "\"\(flags.telemetryPath)\" must be a path like /metrics")
        }
        guard let level = Logger.Level(flag: flags.logLevel) else {
            throw ConfigError(source: "--log.level", "\"\(flags.logLevel)\" is not one of debug, info, warn, error")
        }
        guard let interval = DurationText.parse(flags.pollInterval) else {
            throw ConfigError(source: "--poll.interval", "\"\(flags.pollInterval)\" is not a duration like 10s, 500ms or 1m")
        }
        if let problem = ConfigValidation.pollIntervalProblem(interval) {
            throw ConfigError(source: "--poll.interval", "\(flags.pollInterval) \(problem)")
        }
        guard ConfigValidation.isAdapterName(flags.adapter) else {
            throw ConfigError(source: "--bluez.adapter", "\"\(flags.adapter)\" is not an adapter name like hci0")
        }
        let sources = [flags.simulate ? "--simulate" : nil, flags.configFile.map { _ in "--config.file" },
                       flags.bmsAddress.map { _ in "--bms.address" }].compactMap { $0 }
        guard sources.count == 1 else {
            let message = sources.isEmpty
                ? "nothing to export: give --config.file FILE, --bms.address MAC or --simulate"
                : "use only one of \(sources.joined(separator: ", "))"
            throw ConfigError(source: "serve", message)
        }
        if flags.bmsPasswordFile != nil && flags.bmsAddress == nil {
            throw ConfigError(
                source: "--bms.password-file",
                "goes with --bms.address; with --config.file give each battery its own `password_file`")
        }
        let simulation = try simulation(flags)
        let batteries: [BatteryConfig]
        if flags.simulate {
            batteries = [BatteryConfig(name: simulatedBattery.name, address: simulatedBattery.address, adapter: flags.adapter,
                                       schedule: PollSchedule(pollInterval: interval))]
        } else if let path = flags.configFile {
            batteries = try ConfigFile.parse(try readFile(path), source: path,
                                             defaults: .init(adapter: flags.adapter, pollInterval: interval),
                                             readFile: readFile)
        } else {
            let text = flags.bmsAddress ?? ""
            guard let address = ConfigValidation.macAddress(text) else {
                throw ConfigError(source: "--bms.address", "\"\(text)\" is not a Bluetooth MAC like A4:C1:38:12:34:56")
            }
            if let problem = ConfigValidation.nameProblem(flags.bmsName) {
                throw ConfigError(source: "--bms.name", "the name \(problem)")
            }
            let unlock = try flags.bmsPasswordFile.map { path throws(ConfigError) in
                try ConfigValidation.unlock(
                    passwordFile: path, address: address, source: "--bms.password-file", readFile: readFile)
            }
            batteries = [BatteryConfig(name: flags.bmsName, address: address, adapter: flags.adapter,
                                       schedule: PollSchedule(pollInterval: interval), unlock: unlock)]
        }
        return ServeSettings(batteries: batteries, listenAddress: listen, telemetryPath: flags.telemetryPath,
                             logLevel: level, simulate: flags.simulate, simulation: simulation,
                             webConfigFile: flags.webConfigFile)
    }

    /// The scenario and its silence, checked: an unknown name lists the valid ones, and
    /// `--simulate.silence` is refused where nothing would use it.
    static func simulation(_ flags: Flags) throws(ConfigError) -> Simulation {
        var simulation = Simulation()
        if let name = flags.scenario {
            guard let scenario = SimulationScenario(rawValue: name) else {
                throw ConfigError(source: SimulateArgument.flag,
                                  "unknown scenario \"\(name)\"; choose one of \(SimulationScenario.names)")
            }
            simulation.scenario = scenario
        }
        if let silence = flags.silencePolls {
            guard simulation.scenario == .silentLow, flags.simulate else {
                throw ConfigError(source: "--simulate.silence", "applies only to --simulate=silent-low")
            }
            guard (0...1_000_000).contains(silence) else {
                throw ConfigError(source: "--simulate.silence", "\(silence) must be between 0 and 1000000 polls")
            }
            simulation.silencePolls = silence
        }
        return simulation
    }
}

extension Logger.Level {
    /// The names exporters use: debug, info, warn, error (plus trace and warning).
    init?(flag: String) {
        switch flag.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }
}
