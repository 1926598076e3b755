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
    /// Link budget and recovery per Bluetooth adapter (`--bluez.max-links`,
    /// `--bluez.power-cycle-after`, the config file's `adapters:`).
    public var adapters = AdapterPolicies()

    /// The flags as typed, before validation.
    public struct Flags: Sendable {
        public var configFile: String?
        public var bmsAddress: String?
        /// `--bms.device` and `--bms.baud`: a single battery on a serial line.
        public var bmsDevice: String?
        public var bmsBaud: String?
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
        /// `--bluez.max-links` and `--bluez.power-cycle-after`, when given.
        public var maxLinks: String?
        public var powerCycleAfter: String?

        public init(
            configFile: String? = nil, bmsAddress: String? = nil, bmsName: String = "battery", adapter: String = "hci0",
            pollInterval: String = "10s", listenAddress: String = ":9882", telemetryPath: String = "/metrics",
            logLevel: String = "info", simulate: Bool = false, webConfigFile: String? = nil,
            bmsPasswordFile: String? = nil, scenario: String? = nil, silencePolls: Int? = nil,
            bmsDevice: String? = nil, bmsBaud: String? = nil, maxLinks: String? = nil, powerCycleAfter: String? = nil
        ) {
            self.maxLinks = maxLinks
            self.powerCycleAfter = powerCycleAfter
            self.bmsPasswordFile = bmsPasswordFile
            self.scenario = scenario
            self.silencePolls = silencePolls
            self.bmsDevice = bmsDevice
            self.bmsBaud = bmsBaud
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
                       flags.bmsAddress.map { _ in "--bms.address" }, flags.bmsDevice.map { _ in "--bms.device" }]
            .compactMap { $0 }
        guard sources.count == 1 else {
            let message = sources.isEmpty
                ? "nothing to export: give --config.file FILE, --bms.address MAC, --bms.device PATH or --simulate"
                : "use only one of \(sources.joined(separator: ", "))"
            throw ConfigError(source: "serve", message)
        }
        if flags.bmsBaud != nil, flags.bmsDevice == nil {
            throw ConfigError(source: "--bms.baud", "applies to --bms.device only (a config file sets `baud:` per battery)")
        }
        if flags.bmsPasswordFile != nil && flags.bmsAddress == nil {
            throw ConfigError(
                source: "--bms.password-file",
                "goes with --bms.address; with --config.file give each battery its own `password_file`")
        }
        let simulation = try simulation(flags)
        var adapters = AdapterPolicies(defaults: try adapterPolicy(flags))
        var batteries: [BatteryConfig]
        if let device = flags.bmsDevice {
            batteries = [try singleSerialBattery(device: device, flags: flags, interval: interval)]
        } else if flags.simulate {
            batteries = [BatteryConfig(name: simulatedBattery.name, address: simulatedBattery.address, adapter: flags.adapter,
                                       schedule: PollSchedule(pollInterval: interval))]
        } else if let path = flags.configFile {
            let document = try ConfigFile.document(
                try readFile(path), source: path,
                defaults: .init(adapter: flags.adapter, pollInterval: interval, adapterPolicy: adapters.defaults),
                readFile: readFile)
            batteries = document.batteries
            adapters = document.adapters
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
        if !flags.simulate { batteries = LinkBudget.apply(batteries, policies: adapters) }
        return ServeSettings(batteries: batteries, listenAddress: listen, telemetryPath: flags.telemetryPath,
                             logLevel: level, simulate: flags.simulate, simulation: simulation,
                             webConfigFile: flags.webConfigFile, adapters: adapters)
    }

    /// The policy every adapter gets unless the config file's `adapters:` says otherwise.
    static func adapterPolicy(_ flags: Flags) throws(ConfigError) -> AdapterPolicy {
        var policy = AdapterPolicy()
        if let text = flags.maxLinks {
            guard let links = Int(text), AdapterPolicy.maxLinksRange.contains(links) else {
                let range = AdapterPolicy.maxLinksRange
                throw ConfigError(source: "--bluez.max-links", "\"\(text)\" must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            policy.maxLinks = links
        }
        if let text = flags.powerCycleAfter {
            guard let count = Int(text) else {
                throw ConfigError(source: "--bluez.power-cycle-after", "\"\(text)\" is not a whole number")
            }
            if let problem = ConfigValidation.powerCycleProblem(count) {
                throw ConfigError(source: "--bluez.power-cycle-after", problem)
            }
            policy.powerCycleAfter = count == 0 ? nil : count
        }
        return policy
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

    private static func singleSerialBattery(device: String, flags: Flags, interval: Duration) throws(ConfigError) -> BatteryConfig {
        if let problem = ConfigValidation.devicePathProblem(device) {
            throw ConfigError(source: "--bms.device", "\"\(device)\" \(problem)")
        }
        var line = SerialLine(device: device)
        if let text = flags.bmsBaud {
            switch ConfigValidation.baudRate(text) {
            case .success(let baud)?: line.baud = baud
            case .failure(let problem)?: throw ConfigError(source: "--bms.baud", "\(problem)")
            case nil: throw ConfigError(source: "--bms.baud", "\"\(text)\" is not a number like 9600")
            }
        }
        if let problem = ConfigValidation.nameProblem(flags.bmsName) {
            throw ConfigError(source: "--bms.name", "the name \(problem)")
        }
        return BatteryConfig(name: flags.bmsName, address: device, adapter: flags.adapter,
                             schedule: PollSchedule(pollInterval: interval), serial: line)
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
