import Foundation
import Testing
import TestSupport

/// `serve --web.config.file`: TLS and basic auth, checked with the real binary and real curl.
/// Certificates are made with the `openssl` CLI for each run, so nothing committed can expire.
@Suite struct WebConfigEndToEndTests {
    /// `htpasswd -nbB -C 5 alice 'wonderland'` (Debian apache2-utils 2.4.71): `$2y$`.
    static let alice = (user: "alice", password: "wonderland", hash: "$2y$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGEW")
    /// Python `bcrypt.hashpw(b'python-2b', bcrypt.gensalt(rounds=5, prefix=b'2b'))` (python3-bcrypt 3.2.2).
    static let carol = (user: "carol", password: "python-2b", hash: "$2b$05$S9HEkhdXCm6VqnbKOBVxo.ViqVYgB7l.Hq53CDgLaWDWYxyz7vsxO")

    /// A fresh one for each test (Swift Testing makes a new suite value per test), removed after it.
    let pki: TestPKI

    init() throws { pki = try TestPKI() }

    @Test func tlsAndBasicAuth() async throws {
        let config = try pki.write("auth.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        http_server_config:
          headers:
            X-Content-Type-Options: nosniff
        basic_auth_users:
          \(Self.alice.user): \(Self.alice.hash)
          \(Self.carol.user): \(Self.carol.hash)
        """)
        let server = try await ServerProcess.start(["--simulate", "--poll.interval", "200ms", "--web.config.file", config])
        defer { server.stop() }
        #expect(server.log.contains("scheme=https"))
        let url = "https://127.0.0.1:\(server.port)"

        // Real TLS: curl trusts the server only through the test CA, and plain HTTP gets nowhere.
        #expect(try await Curl.run([url + "/-/healthy"]).status == 60, "certificate verification must fail without the CA")
        #expect(try await Curl.run(["http://127.0.0.1:\(server.port)/-/healthy"]).status != 0)

        for user in [Self.alice, Self.carol] {
            let ok = try await Curl.fetch(url + "/metrics", ["--cacert", pki.path("ca.crt"), "-u", "\(user.user):\(user.password)"])
            #expect(ok.status == 200, "\(user.user)")
            #expect(ok.body.contains("bms_exporter_build_info"))
            #expect(ok.headers["x-content-type-options"] == "nosniff")
        }

        // Wrong password, unknown user, no credentials: one and the same answer.
        var failures: [Curl.Response] = []
        for credentials in [["-u", "alice:wonderlan"], ["-u", "mallory:wonderland"], []] {
            failures.append(try await Curl.fetch(url + "/metrics", ["--cacert", pki.path("ca.crt")] + credentials))
        }
        for failure in failures {
            #expect(failure.status == 401)
            #expect(failure.headers["www-authenticate"]?.hasPrefix("Basic ") == true)
            #expect(failure.headers["x-content-type-options"] == "nosniff")
            #expect(failure.headers == failures[0].headers && failure.body == failures[0].body)
        }
        // Everything is behind auth, /-/healthy included, as with the exporter-toolkit.
        #expect(try await Curl.fetch(url + "/-/healthy", ["--cacert", pki.path("ca.crt")]).status == 401)
        #expect(server.stop() == 0)
    }

    @Test func clientCertificatesRequiredAndVerified() async throws {
        let config = try pki.write("mtls.yml", """
        tls_server_config:
          cert_file: \(pki.path("server.crt"))
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
          min_version: TLS13
        """)
        let server = try await ServerProcess.start(["--simulate", "--web.config.file", config])
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/-/healthy"
        let trust = ["--cacert", pki.path("ca.crt")]

        let good = try await Curl.fetch(url, trust + ["--cert", pki.path("client.crt"), "--key", pki.path("client.key")])
        #expect(good.status == 200 && good.body == "Healthy\n")
        #expect(try await Curl.run([url] + trust).status != 0, "no client certificate must fail the handshake")
        let rogue = try await Curl.run([url] + trust + ["--cert", pki.path("rogue.crt"), "--key", pki.path("rogue.key")])
        #expect(rogue.status != 0, "a certificate from another CA must be refused")
        let oldTLS = try await Curl.run([url] + trust + ["--tls-max", "1.2", "--cert", pki.path("client.crt"), "--key", pki.path("client.key")])
        #expect(oldTLS.status == 35, "min_version TLS13 must refuse TLS 1.2")
        #expect(server.stop() == 0)
    }

    @Test func basicAuthOverPlainHTTPWorksAndWarns() async throws {
        let config = try pki.write("plain.yml", "basic_auth_users:\n  \(Self.alice.user): \(Self.alice.hash)\n")
        let server = try await ServerProcess.start(["--simulate", "--web.config.file", config])
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/-/healthy"
        #expect(try await Curl.fetch(url, ["-u", "alice:wonderland"]).status == 200)
        #expect(try await Curl.fetch(url, ["-u", "alice:nope"]).status == 401)
        #expect(server.log.contains("basic auth without TLS"))
        #expect(server.log.contains("scheme=http\n"))
    }

    @Test(arguments: [
        ("missing-cert.yml", "tls_server_config:\n  cert_file: nowhere.crt\n  key_file: server.key\n", 2,
         "cert_file PKI/nowhere.crt: cannot open: No such file or directory"),
        ("unknown-key.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: RequireAndVerifyClientCert\n",
         4, "unknown key `client_auth` in tls_server_config"),
        ("bad-hash.yml", "basic_auth_users:\n  alice: wonderland\n", 2, "the password of user \"alice\" is not a bcrypt hash"),
        ("wrong-key.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n", 3,
         "key_file PKI/client.key does not fit the certificate in cert_file PKI/server.crt"),
    ] as [(String, String, Int, String)])
    func badWebConfigStopsStartUp(name: String, yaml: String, line: Int, problem: String) async throws {
        let config = try pki.write(name, yaml)
        let result = try await BinaryUnderTest.run(["serve", "--simulate", "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        #expect(result.status == 2)
        let expected = "bms_exporter: \(config):\(line): " + problem.replacingOccurrences(of: "PKI", with: pki.directory)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("listening"))
    }
}

enum ToolError: Error { case failed(String) }

/// Debian's curl, the client a user would try first.
enum Curl {
    struct Response {
        let status: Int
        /// Lower-cased names; `date` left out so that responses compare.
        let headers: [String: String]
        let body: String
    }

    /// `curl -sS --max-time 20 …`: its exit status and output.
    static func run(_ arguments: [String]) async throws -> FinishedProcess {
        try await FinishedProcess.run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "20"] + arguments)
    }

    /// One request that must complete at the HTTP level; throws on a TLS or connection failure.
    static func fetch(_ url: String, _ options: [String] = []) async throws -> Response {
        let result = try await run(["-i", url] + options)
        guard result.status == 0 else { throw ToolError.failed("curl exit \(result.status): \(result.stderr)") }
        let parts = result.stdout.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            if name != "date" { headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return Response(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
