import BMSConfig

/// `--web.config.file` as read and checked, in the file format of the Prometheus
/// exporter-toolkit, before anything is handed to a TLS library. This target knows no NIOSSL or
/// HTTP server, so the parser of this untrusted text can be fuzzed alone (Fuzz/WebConfigFile);
/// the web server turns `TLSFile` into its TLS settings through the `tls` closure of `parse`.
public struct WebConfigDocument<TLS: Sendable & Equatable>: Sendable, Equatable {
    /// nil: plain HTTP.
    public var tls: TLS?
    /// Empty: no authentication.
    public var basicAuthUsers: [String: BcryptHash]
    /// `http_server_config.headers`, added to every response.
    public var headers: [ResponseHeader]

    public init(tls: TLS? = nil, basicAuthUsers: [String: BcryptHash] = [:], headers: [ResponseHeader] = []) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.headers = headers
    }
}

/// A response header from `http_server_config.headers`.
public struct ResponseHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// `tls_server_config` read and checked as text: the certificate, key and client CA as PEM (not
/// yet parsed), the client-auth mode and the version range.
public struct TLSFile: Sendable, Equatable {
    /// The exporter-toolkit's names, which are Go's `tls.ClientAuthType`.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        /// Asks for a certificate, accepts the connection without one, does not verify one given.
        case requestClientCert = "RequestClientCert"
        /// Demands a certificate but does not verify it.
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        /// The one that authenticates clients: a certificate signed by `client_ca_file` is required.
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Whether certificates are checked against the client CA.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    public enum Version: String, Sendable, CaseIterable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        public static func < (lhs: Version, rhs: Version) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// PEM text for a certificate or key, given either inline or as a file, with where it was
    /// written so that a TLS library's complaint about it can name the line.
    public struct PEM: Sendable, Equatable {
        public let text: String
        /// Where it came from, for messages: `cert_file /etc/bms/server.crt` or `cert (inline)`.
        public let label: String
        /// The key it was given under: `cert`, `cert_file`, `client_ca_file`…
        public let key: String
        let source: String
        let line: Int?

        /// A problem with this material, at the line it was given on.
        public func error(_ message: String) -> ConfigError {
            ConfigError(source: source, line: line, message)
        }
    }

    public var cert: PEM
    public var key: PEM
    /// Present whenever `clientAuth.verifies`; refused with `noClientCert`, which would not use it.
    public var clientCA: PEM?
    public var clientAuth: ClientAuth
    public var minVersion: Version
    public var maxVersion: Version
}
