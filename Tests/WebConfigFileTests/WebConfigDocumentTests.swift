import BMSConfig
import Testing
@testable import WebConfigFile

/// The web config read as text, without a TLS library: what the fuzzer (Fuzz/WebConfigFile)
/// exercises. Every error message is checked in WebServerTests, through the server's loader.
@Suite struct WebConfigDocumentTests {
    @Test func relativePathsAreTakenFromTheFilesDirectory() {
        #expect(WebConfigSyntax.resolve("server.crt", in: WebConfigSyntax.directory(of: "/etc/bms/web.yml")) == "/etc/bms/server.crt")
        #expect(WebConfigSyntax.resolve("tls/server.crt", in: WebConfigSyntax.directory(of: "conf/web.yml")) == "conf/tls/server.crt")
        #expect(WebConfigSyntax.resolve("/srv/server.crt", in: WebConfigSyntax.directory(of: "/etc/bms/web.yml")) == "/srv/server.crt")
        #expect(WebConfigSyntax.resolve("server.crt", in: WebConfigSyntax.directory(of: "web.yml")) == "server.crt")
        #expect(WebConfigSyntax.resolve("server.crt", in: WebConfigSyntax.directory(of: "/web.yml")) == "/server.crt")
        #expect(WebConfigSyntax.resolve("./tls/server.crt", in: WebConfigSyntax.directory(of: "/etc/bms/web.yml")) == "/etc/bms/tls/server.crt")
    }

    /// The PEM text is handed on unparsed, with where it was given, so the server's TLS library
    /// can name that line when it refuses it.
    @Test func tlsMaterialKeepsItsSourceAndLine() throws {
        let yaml = """
        tls_server_config:
          cert: not checked here
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
        """
        let files = ["/etc/bms/server.key": "KEY", "/etc/bms/ca.crt": "CA"]
        let document = try WebConfigDocument<TLSFile>.parse(yaml, source: "/etc/bms/web.yml", readFile: { path throws(ConfigError) in
            guard let text = files[path] else { throw ConfigError(source: path, "cannot open") }
            return text
        }, tls: { $0 })
        let tls = try #require(document.tls)
        #expect(tls.cert.text == "not checked here" && tls.cert.label == "cert (inline)" && tls.cert.key == "cert")
        #expect(tls.key.text == "KEY" && tls.key.label == "key_file /etc/bms/server.key")
        #expect(tls.clientCA?.text == "CA" && tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.minVersion == .tls12 && tls.maxVersion == .tls13)
        #expect(tls.key.error("bad") == ConfigError(source: "/etc/bms/web.yml", line: 3, "bad"))
    }

    /// The server's conversion runs before the sections after `tls_server_config` are read, so a
    /// file with a bad certificate and a bad header reports the certificate, as it always did.
    @Test func theTLSConversionRunsBeforeLaterSections() {
        let yaml = "tls_server_config:\n  cert: a\n  key: b\nbasic_auth_users:\n  alice: plain\n"
        #expect(throws: ConfigError(source: "web.yml", line: 2, "refused")) {
            _ = try WebConfigDocument<TLSFile>.parse(yaml, source: "web.yml", readFile: { _ throws(ConfigError) in "" }) {
                (file: TLSFile) throws(ConfigError) -> TLSFile in throw file.cert.error("refused")
            }
        }
    }
}
