import Basics
import BatterySession
import BMSConfig
import Exposition
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// `serve`: one poller per battery plus the HTTP server, until SIGTERM or SIGINT.
public struct Exporter: Sendable {
    /// A battery to poll and the link that reaches it.
    public struct Battery: Sendable {
        public let config: BatteryConfig
        public let link: any BMSLink
        public let transport: Transport

        public init(config: BatteryConfig, link: any BMSLink, transport: Transport) {
            self.config = config
            self.link = link
            self.transport = transport
        }
    }

    let batteries: [Battery]
    let listenAddress: ListenAddress
    let telemetryPath: String
    let logger: Logger
    /// TLS, basic auth and extra headers from `--web.config.file`.
    let webConfig: WebConfig

    public init(
        batteries: [Battery], listenAddress: ListenAddress, telemetryPath: String, logger: Logger,
        webConfig: WebConfig = WebConfig()
    ) {
        self.batteries = batteries
        self.listenAddress = listenAddress
        self.telemetryPath = telemetryPath
        self.logger = logger
        self.webConfig = webConfig
    }

    /// Runs until a shutdown signal; pollers disconnect their batteries before it returns.
    public func run() async throws {
        let store = StatusStore(batteries.map {
            BatteryStatus(name: $0.config.name, address: $0.config.address, maxAgeSeconds: $0.config.schedule.maxAge.seconds,
                          bank: $0.config.bank, transport: $0.transport)
        })
        let logger = self.logger
        let pollers = batteries.map {
            BatteryPoller(name: $0.config.name, link: $0.link, store: store, schedule: $0.config.schedule, logger: logger)
        }
        let listenAddress = self.listenAddress
        let scheme = webConfig.tls == nil ? "http" : "https"
        // Until the server reports it is running, an I/O error is the listen socket failing.
        let listening = OnceFlag()
        if webConfig.tls == nil, !webConfig.basicAuthUsers.isEmpty {
            logger.warning("basic auth without TLS: passwords cross the network in the clear; add tls_server_config")
        }
        let server = Application(
            responder: WebConfigResponder(ExporterResponder(store: store, telemetryPath: telemetryPath), config: webConfig),
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
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [server, PollingService(pollers: pollers)],
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
    static let maximumConnections = 256
    /// Closes a connection that has not completed a request for 10 s: an idle keep-alive, a
    /// client that connects and says nothing, or a slowloris trickling a request head byte by
    /// byte (Hummingbird counts only whole HTTP parts as activity). Headers over 80 KB are
    /// already refused by the decoder's defaults.
    static let connectionLimits = HTTP1Channel.Configuration(idleTimeout: .seconds(10))

    /// Hummingbird and ServiceLifecycle log every request and lifecycle step at info/debug;
    /// our own messages say what a user needs, so theirs only show from warning up.
    static func quietServerLogger(from logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }
}

/// Runs every battery's poller; a graceful shutdown cancels them, which disconnects each.
struct PollingService: Service {
    let pollers: [BatteryPoller]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for poller in pollers {
                    group.addTask { await poller.run() }
                }
            }
        }
    }
}
