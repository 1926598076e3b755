import BMSConfig
import HummingbirdCore
import HummingbirdTLS
import WebConfigFile

/// `--web.config.file`: TLS, basic auth and extra response headers, in the file format of the
/// Prometheus exporter-toolkit, so one file can serve this exporter and node_exporter alike.
/// The empty value serves plain HTTP to everyone. The document as `WebConfigFile` reads it, with
/// its TLS material turned into NIOSSL settings.
public typealias WebConfig = WebConfigDocument<TLSSettings>

extension WebConfigDocument where TLS == TLSSettings {
    /// Reads and checks the file and every certificate and key it names; relative paths are
    /// taken from the file's own directory, as the exporter-toolkit does.
    public static func load(_ path: String, readFile: (String) throws(ConfigError) -> String = TextFile.read)
        throws(ConfigError) -> WebConfig {
        try WebConfigDocument.load(path, readFile: readFile, tls: TLSSettings.init)
    }

    /// HTTP/1.1 with the given limits, over TLS when `tls_server_config` asks for it.
    func serverBuilder(http1 limits: HTTP1Channel.Configuration = .init()) throws -> HTTPServerBuilder {
        guard let tls else { return .http1(configuration: limits) }
        return try .tls(.http1(configuration: limits), configuration: tls.channelConfiguration)
    }

    /// A short account for the start-up log line.
    public var summary: String {
        var parts = [tls.map { "TLS (client certificates: \($0.clientAuth.rawValue))" } ?? "plain HTTP"]
        if !basicAuthUsers.isEmpty { parts.append("basic auth for \(basicAuthUsers.count) user(s)") }
        if !headers.isEmpty { parts.append("\(headers.count) extra header(s)") }
        return parts.joined(separator: ", ")
    }
}

extension ServeSettings {
    /// The web config `--web.config.file` names, loaded and checked; the empty one without the flag.
    public func loadWebConfig(readFile: (String) throws(ConfigError) -> String = TextFile.read) throws(ConfigError) -> WebConfig {
        guard let webConfigFile else { return WebConfig() }
        return try WebConfig.load(webConfigFile, readFile: readFile)
    }
}
