import BMSConfig
import HummingbirdTLS
import NIOSSL
import WebConfigFile

/// `tls_server_config`, loaded and checked: certificates and key parsed, the key known to fit
/// the certificate. Turning it into a TLS context cannot fail any more.
public struct TLSSettings: Sendable, Equatable {
    /// The exporter-toolkit's names, which are Go's `tls.ClientAuthType`.
    public typealias ClientAuth = TLSFile.ClientAuth
    public typealias Version = TLSFile.Version

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

extension TLSFile.Version {
    var nio: TLSVersion {
        switch self {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}

extension TLSSettings {
    /// Parses the PEM of a `tls_server_config` that reads well as text; each problem names the
    /// line the certificate or key was given on, as the rest of the file's errors do.
    init(_ file: TLSFile) throws(ConfigError) {
        let (cert, key) = (file.cert, file.key)
        let certificates: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        var clientCAs: [NIOSSLCertificate] = []
        do { certificates = try Self.certificates(pem: cert.text) } catch {
            throw cert.error("\(cert.label): not a PEM certificate (\(error))")
        }
        do { privateKey = try Self.privateKey(pem: key.text) } catch {
            throw key.error("\(key.label): not an unencrypted PEM private key (\(error))")
        }
        if let clientCA = file.clientCA {
            do { clientCAs = try Self.certificates(pem: clientCA.text) } catch {
                throw clientCA.error("\(clientCA.label): not a PEM certificate (\(error))")
            }
        }
        self.init(
            certificateChain: certificates, privateKey: privateKey, clientAuth: file.clientAuth, clientCAs: clientCAs,
            minVersion: file.minVersion, maxVersion: file.maxVersion
        )
        do { try check() } catch {
            throw key.error("\(key.label) does not fit the certificate in \(cert.label), or cannot be used (\(error))")
        }
    }
}
