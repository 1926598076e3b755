import Basics
import BatterySession
import BMSConfig
import Exposition
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import UnixSignals
import WebConfigFile

/// `serve`: one poller per battery plus the HTTP server, until SIGTERM or SIGINT.
public struct Exporter: Sendable {
    /// A battery to poll and the link that reaches it.
    public struct Battery: Sendable {
        public let config: BatteryConfig
        public let link: any BMSLink
        public let transport: Transport
        /// The shared link of its adapter, for a battery beyond the link budget (`pollsInTurn`).
        public let turn: FairGate?

        public init(config: BatteryConfig, link: any BMSLink, transport: Transport, turn: FairGate? = nil) {
            self.config = config
            self.link = link
            self.transport = transport
            self.turn = turn
        }
    }

    let batteries: [Battery]
    let listenAddress: ListenAddress
    let telemetryPath: String
    let logger: Logger
    /// TLS, basic auth and extra headers from `--web.config.file`.
    let webConfig: WebConfig
    /// The batteries as the config now lists them, for a reload on SIGHUP; throws when the
    /// config no longer loads or validates. Nil: SIGHUP is ignored.
    let reload: (@Sendable () async throws -> [Battery])?
    /// The Bluetooth adapters in use, for `bms_adapter_*` and the landing page.
    let adapters: AdapterStore?
    /// Runs beside the pollers until shutdown: keeps `adapters` current.
    let adapterMonitor: (@Sendable () async -> Void)?

    public init(
        batteries: [Battery], listenAddress: ListenAddress, telemetryPath: String, logger: Logger,
        webConfig: WebConfig = WebConfig(), reload: (@Sendable () async throws -> [Battery])? = nil,
        adapters: AdapterStore? = nil, adapterMonitor: (@Sendable () async -> Void)? = nil
    ) {
        self.adapters = adapters
        self.adapterMonitor = adapterMonitor
        self.batteries = batteries
        self.listenAddress = listenAddress
        self.telemetryPath = telemetryPath
        self.logger = logger
        self.webConfig = webConfig
        self.reload = reload
    }

    static func status(for battery: Battery) -> BatteryStatus {
        BatteryStatus(
            name: battery.config.name, address: battery.config.address, maxAgeSeconds: battery.config.schedule.maxAge.seconds,
            bank: battery.config.bank, transport: battery.transport,
            adapter: battery.transport == .bluetooth ? battery.config.adapter : nil
        )
    }

    /// Runs until a shutdown signal; pollers disconnect their batteries before it returns.
    public func run() async throws {
        let store = StatusStore(batteries.map(Self.status(for:)))
        let logger = self.logger
        // Trapped before anything listens: the default action of SIGHUP ends the process at once,
        // leaving every battery connected.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let listenAddress = self.listenAddress
        let scheme = webConfig.tls == nil ? "http" : "https"
        // Until the server reports it is running, an I/O error is the listen socket failing.
        let listening = OnceFlag()
        if webConfig.tls == nil, !webConfig.basicAuthUsers.isEmpty {
            logger.warning("basic auth without TLS: passwords cross the network in the clear; add tls_server_config")
        }
        let server = Application(
            responder: WebConfigResponder(ExporterResponder(store: store, telemetryPath: telemetryPath, adapters: adapters), config: webConfig),
            server: try webConfig.serverBuilder(http1: Self.connectionLimits),
            configuration: ApplicationConfiguration(
                address: .hostname(listenAddress.host, port: listenAddress.port),
                serverName: "bms_exporter/\(BuildInfo.version)",
                availableConnectionsDelegate: MaximumAvailableConnections(Self.maximumConnections)
            ),
            onServerRunning: { channel in
                _ = listening.claim()
                let port = channel.localAddress?.port ?? listenAddress.port
                logger.info("listening", metadata: ["address": "\(listenAddress.host):\(port)", "scheme": "\(scheme)"])
            },
            logger: Self.quietServerLogger(from: logger)
        )
        var services: [any Service] = [
            server, PollingService(batteries: batteries, store: store, logger: logger, reload: reload, hangups: hangups),
        ]
        if let adapterMonitor { services.append(BackgroundService(work: adapterMonitor)) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Self.quietServerLogger(from: logger)
        ))
        logger.info("starting", metadata: [
            "version": "\(BuildInfo.version)",
            "batteries": "\(batteries.map(\.config.name).joined(separator: ","))",
            "web": "\(webConfig.summary)",
        ])
        do {
            try await group.run()
        } catch {
            if !listening.claim() { throw error }
            throw ListenFailure(error, address: listenAddress) ?? error
        }
        logger.info("stopped")
    }

    /// Limits against misbehaving clients; docs/security.md has the tests behind them.
    /// Past this many open connections no more are accepted (they wait in the listen backlog
    /// until one closes): file descriptors (systemd's soft limit is 1024) and memory stay
    /// bounded under a connection flood. Prometheus needs one or two.
    static let maximumConnections = 512
    /// A new connection must send its first request head within 3 s, and at most 256 may be
    /// waiting for theirs: a new one evicts the oldest (`ConnectionGuard`). A flood of silent
    /// or trickling connections then delays a scrape by seconds, not by the length of the flood.
    static let connectionGuard = ConnectionGuard(firstRequestDeadline: .seconds(3), idleCap: 256)
    /// Closes a connection that has not completed a request for 10 s: an idle keep-alive, a
    /// client that connects and says nothing, or a slowloris trickling a request head byte by
    /// byte (Hummingbird counts only whole HTTP parts as activity). Headers over 80 KB are
    /// already refused by the decoder's defaults.
    static let connectionLimits = HTTP1Channel.Configuration(
        additionalChannelHandlers: [connectionGuard.handler()], idleTimeout: .seconds(10))

    /// Hummingbird and ServiceLifecycle log every request and lifecycle step at info/debug;
    /// our own messages say what a user needs, so theirs only show from warning up.
    static func quietServerLogger(from logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }
}

/// Work that runs until a graceful shutdown, e.g. the adapter monitor.
struct BackgroundService: Service {
    let work: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown { await work() }
    }
}
