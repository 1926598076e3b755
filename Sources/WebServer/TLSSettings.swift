import HummingbirdTLS
import NIOSSL

/// `tls_server_config`, loaded and checked: certificates and key parsed, the key known to fit
/// the certificate. Turning it into a TLS context cannot fail any more.
public struct TLSSettings: Sendable, Equatable {
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
        var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    public enum Version: String, Sendable, CaseIterable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        public static func < (lhs: Version, rhs: Version) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }

        var nio: TLSVersion {
            switch self {
            case .tls10: .tlsv1
            case .tls11: .tlsv11
            case .tls12: .tlsv12
            case .tls13: .tlsv13
            }
        }
    }

    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey
    public var clientAuth: ClientAuth
    /// The CAs that sign client certificates; required exactly when `clientAuth.verifies`.
    public var clientCAs: [NIOSSLCertificate]
    public var minVersion: Version
    public var maxVersion: Version

    /// The SwiftNIO SSL configuration that implements these settings.
    var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = minVersion.nio
        configuration.maximumTLSVersion = maxVersion.nio
        switch clientAuth {
        case .noClientCert: configuration.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert: configuration.certificateVerification = .noHostnameVerification
        }
        // Never the system store: a client certificate is trusted only through client_ca_file.
        configuration.trustRoots = .certificates(clientCAs)
        configuration.sendCANameList = clientAuth.verifies
        return configuration
    }

    /// What the server builder takes. The two modes that do not verify a client certificate
    /// accept whatever chain is presented; BoringSSL still checks the client holds its key.
    var channelConfiguration: TLSChannelConfiguration {
        guard !clientAuth.verifies, clientAuth != .noClientCert else {
            return TLSChannelConfiguration(tlsConfiguration: tlsConfiguration)
        }
        return TLSChannelConfiguration(tlsConfiguration: tlsConfiguration) { _, promise in
            promise.succeed(.certificateVerified)
        }
    }

    /// The PEM certificates in `text`; at least one.
    static func certificates(pem text: String) throws -> [NIOSSLCertificate] {
        let certificates = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
        guard !certificates.isEmpty else { throw PEMProblem.noCertificate }
        return certificates
    }

    static func privateKey(pem text: String) throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem)
    }

    /// Builds the TLS context once, as the server will: this is where BoringSSL checks that the
    /// key belongs to the certificate.
    func check() throws {
        _ = try NIOSSLContext(configuration: tlsConfiguration)
    }

    enum PEMProblem: Error, CustomStringConvertible {
        case noCertificate
        var description: String { "no PEM certificate in it" }
    }
}
