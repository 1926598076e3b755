@testable import WebServer
import BatterySession
import BMSConfig
import Foundation
import Synchronization
import Testing
import TestSupport
import WebConfigFile

/// bcrypt hashes made by real tools, with the passwords they were made from.
enum HashFixtures {
    /// `htpasswd -nbB -C 5 alice 'wonderland'` (Debian apache2-utils 2.4.71): `$2y$`.
    static let alice = (user: "alice", password: "wonderland", hash: "$2y$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGEW")
    /// `htpasswd -nbB -C 5 bob 'builder:with colon é'`: a colon and UTF-8 in the password.
    static let bob = (user: "bob", password: "builder:with colon é", hash: "$2y$05$x5CqeHoLFtREqi7owa2O3uv0ac04rJZT3aolW0h0Pk7D4NQNpA80i")
    /// `htpasswd -nbB -C 10 frank 'ten-rounds'`: the cost the exporter-toolkit suggests.
    static let frank = (user: "frank", password: "ten-rounds", hash: "$2y$10$0./WIbFD/DXZwy/DXQ3Lw.jd4wSULb8PXrfAuL6IHy2ogpYl/rQv2")
    /// Python `bcrypt.hashpw(b'python-2b', bcrypt.gensalt(rounds=5, prefix=b'2b'))` (python3-bcrypt 3.2.2).
    static let carol = (user: "carol", password: "python-2b", hash: "$2b$05$S9HEkhdXCm6VqnbKOBVxo.ViqVYgB7l.Hq53CDgLaWDWYxyz7vsxO")
    /// The same with `prefix=b'2a'`.
    static let dave = (user: "dave", password: "python-2a", hash: "$2a$05$IGz6OrS4wntwjRizxYPu/.WcFExaoPQXZKjnVUy2j6ALmnsYvG6x6")

    static let all = [alice, bob, frank, carol, dave]
}

/// In-memory files, recording which paths were read.
final class FakeFiles: Sendable {
    private let files: [String: String]
    private let reads = Mutex<[String]>([])

    init(_ files: [String: String]) { self.files = files }

    var paths: [String] { reads.withLock { $0 } }

    func read(_ path: String) throws(ConfigError) -> String {
        reads.withLock { $0.append(path) }
        guard let text = files[path] else { throw ConfigError(source: path, "cannot open: No such file or directory") }
        return text
    }
}

@Suite struct WebConfigParsingTests {
    static let pki = TestPKI.shared

    static func files(_ webConfig: String, at path: String = "/etc/bms/web.yml", extra: [String: String] = [:]) -> FakeFiles {
        var files = [
            path: webConfig,
            "/etc/bms/server.crt": pki.pem("server.crt"), "/etc/bms/server.key": pki.pem("server.key"),
            "/etc/bms/ca.crt": pki.pem("ca.crt"), "/etc/bms/other.key": pki.pem("rogue.key"),
        ]
        files.merge(extra) { $1 }
        return FakeFiles(files)
    }

    static func load(_ webConfig: String, at path: String = "/etc/bms/web.yml") throws -> WebConfig {
        let files = files(webConfig, at: path)
        return try WebConfig.load(path, readFile: files.read)
    }

    @Test func everySupportedKeyIsRead() throws {
        let files = Self.files("""
        tls_server_config:
          cert_file: server.crt
          key_file: /etc/bms/server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ./ca.crt
          min_version: TLS13
          max_version: TLS13
          prefer_server_cipher_suites: true
        http_server_config:
          http2: false
          headers:
            X-Frame-Options: deny
            X-Content-Type-Options: nosniff
            Content-Security-Policy: ""
        basic_auth_users:
          alice: \(HashFixtures.alice.hash)
          carol: \(HashFixtures.carol.hash)
        """)
        let config = try WebConfig.load("/etc/bms/web.yml", readFile: files.read)
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(tls.certificateChain.count == 1 && tls.clientCAs.count == 1)
        #expect(files.paths == ["/etc/bms/web.yml", "/etc/bms/server.crt", "/etc/bms/server.key", "/etc/bms/ca.crt"])
        #expect(config.basicAuthUsers.keys.sorted() == ["alice", "carol"])
        #expect(config.basicAuthUsers["alice"]?.cost == 5)
        // Blank headers are unset, as in the exporter-toolkit.
        #expect(config.headers == [.init(name: "X-Content-Type-Options", value: "nosniff"), .init(name: "X-Frame-Options", value: "deny")])
        #expect(config.summary == "TLS (client certificates: RequireAndVerifyClientCert), basic auth for 2 user(s), 2 extra header(s)")
    }

    @Test func inlinePEMAndDefaults() throws {
        let indent = { (pem: String) in pem.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        let config = try Self.load("""
        tls_server_config:
          cert: |
        \(indent(Self.pki.pem("server.crt")))
          key: |
        \(indent(Self.pki.pem("server.key")))
        """)
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .noClientCert && tls.minVersion == .tls12 && tls.maxVersion == .tls13)
        #expect(config.basicAuthUsers.isEmpty)
    }

    @Test func emptyFileOrSectionsConfigureNothing() throws {
        #expect(try Self.load("") == WebConfig())
        #expect(try Self.load("# nothing yet\n") == WebConfig())
        #expect(try Self.load("tls_server_config:\nbasic_auth_users:\nhttp_server_config:\n") == WebConfig())
    }

    static let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

    @Test(arguments: [
        ("tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n", 3, "unknown key `keyfile` in tls_server_config"),
        ("basic_auth_users: {}\nweb_config: 1\n", 2, "unknown key `web_config` in the top level"),
        ("http_server_config:\n  http3: true\n", 2, "unknown key `http3`"),
        ("rate_limit:\n  interval: 1s\n", 1, "`rate_limit` in the top level: rate limiting is not supported"),
        (tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", 4, "`cipher_suites` in tls_server_config: choosing cipher suites is not supported"),
        (tls + "  curve_preferences: [X25519]\n", 4, "`curve_preferences`"),
        (tls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [a]\n", 6,
         "matching client certificate SANs is not supported"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", 2,
         "cert_file /etc/bms/missing.crt: cannot open: No such file or directory"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: nokey.pem\n", 3, "key_file /etc/bms/nokey.pem: cannot open"),
        ("tls_server_config:\n  key_file: server.key\n", 1, "needs cert_file (or cert)"),
        ("tls_server_config:\n  cert_file: server.crt\n", 1, "needs key_file (or key)"),
        ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", 2, "cert_file /etc/bms/server.key: not a PEM certificate"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n", 3, "key_file /etc/bms/server.crt: not an unencrypted PEM private key"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", 3,
         "key_file /etc/bms/other.key does not fit the certificate in cert_file /etc/bms/server.crt"),
        ("tls_server_config:\n  cert_file: server.crt\n  cert: x\n  key_file: server.key\n", 2, "give cert or cert_file, not both"),
        ("tls_server_config:\n  cert_file: \"\"\n  key_file: server.key\n", 2, "cert_file is empty"),
        (tls + "  client_auth_type: RequireCert\n", 4, "unknown client_auth_type \"RequireCert\" (known: NoClientCert, RequestClientCert"),
        (tls + "  client_ca_file: ca.crt\n", 4, "client_ca_file is set but client_auth_type is NoClientCert"),
        (tls + "  client_auth_type: RequireAndVerifyClientCert\n", 4, "needs client_ca_file (or client_ca)"),
        (tls + "  client_auth_type: VerifyClientCertIfGiven\n", 4, "needs client_ca_file"),
        (tls + "  min_version: TLS1.2\n", 4, "unknown min_version \"TLS1.2\" (known: TLS10, TLS11, TLS12, TLS13)"),
        (tls + "  min_version: TLS13\n  max_version: TLS12\n", 4, "min_version TLS13 is above max_version TLS12"),
        (tls + "  prefer_server_cipher_suites: yes please\n", 4, "must be true or false"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "X-Frame-Options must be one of deny, sameorigin"),
        ("http_server_config:\n  headers:\n    X-Powered-By: swift\n", 3, "unknown key `X-Powered-By` in headers"),
        ("basic_auth_users:\n  alice: wonderland\n", 2, "the password of user \"alice\" is not a bcrypt hash"),
        ("basic_auth_users:\n  alice: $2x$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGEW\n", 2, "not a bcrypt hash"),
        ("basic_auth_users:\n  alice: $2y$03$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGEW\n", 2, "not a bcrypt hash"),
        ("basic_auth_users:\n  alice: $2y$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGE\n", 2, "not a bcrypt hash"),
        ("basic_auth_users:\n  alice: $2y$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGE!\n", 2, "not a bcrypt hash"),
        ("basic_auth_users:\n  \"a:b\": \(HashFixtures.alice.hash)\n", 2, "contains a colon"),
        ("basic_auth_users:\n  - alice\n", 2, "basic_auth_users must be a mapping"),
        ("tls_server_config: [\n", 2, "YAML syntax error"),
    ] as [(String, Int, String)])
    func problemsNameFileLineAndProblem(yaml: String, line: Int, problem: String) {
        #expect {
            _ = try Self.load(yaml)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.source == "/etc/bms/web.yml" && error.line == line && error.message.contains(problem)
        }
    }

    @Test func aBadHashIsNotEchoed() {
        let secret = "$2y$05$OESUeEIaJi57bXXRrVDA9eKAamrfAFL3sFYgqjkjgwqQKyQtrNGE"
        #expect {
            _ = try Self.load("basic_auth_users:\n  alice: \(secret)\n")
        } throws: { error in !"\(error)".contains("OESUeEIaJi57bXXRrVDA9e") }
        #expect(!"\(BcryptHash(HashFixtures.alice.hash)!)".contains("OESUe"))
    }

    @Test func serveSettingsLoadTheWebConfigFile() throws {
        let files = Self.files(Self.tls, at: "/etc/bms/web.yml")
        let settings = try ServeSettings.resolve(.init(simulate: true, webConfigFile: "/etc/bms/web.yml"), readFile: files.read)
        #expect(try settings.loadWebConfig(readFile: files.read).tls != nil)
        #expect(try ServeSettings.resolve(.init(simulate: true)).loadWebConfig() == WebConfig())
    }

    @Test func tlsModesMapToSwiftNIOSSL() throws {
        for mode in TLSSettings.ClientAuth.allCases {
            let ca = mode == .noClientCert ? "" : "  client_ca_file: ca.crt\n"
            let config = try Self.load(Self.tls + "  client_auth_type: \(mode.rawValue)\n" + ca)
            let tls = try #require(config.tls)
            #expect(tls.clientAuth == mode)
            let verification = tls.tlsConfiguration.certificateVerification
            switch mode {
            case .noClientCert: #expect(verification == .none)
            case .requestClientCert, .verifyClientCertIfGiven: #expect(verification == .optionalVerification)
            case .requireAnyClientCert, .requireAndVerifyClientCert: #expect(verification == .noHostnameVerification)
            }
            // Only the two modes that do not verify accept any chain through a callback.
            #expect((tls.channelConfiguration.customVerificationCallback != nil) == [.requestClientCert, .requireAnyClientCert].contains(mode))
        }
        #expect(try Self.load(Self.tls + "  client_auth_type: RequireClientCert\n").tls?.clientAuth == .requireAnyClientCert)
    }
}

@Suite struct BcryptTests {
    @Test(arguments: HashFixtures.all.map { $0 })
    func hashesFromHtpasswdAndPythonVerify(fixture: (user: String, password: String, hash: String)) throws {
        let hash = try #require(BcryptHash(fixture.hash))
        #expect(BasicAuthenticator.bcrypt(fixture.password, hash))
        #expect(!BasicAuthenticator.bcrypt(fixture.password + "x", hash))
        #expect(!BasicAuthenticator.bcrypt("", hash))
    }

    @Test func twoYIsVerifiedAsTwoB() throws {
        let hash = try #require(BcryptHash(HashFixtures.alice.hash))
        #expect(hash.verifiable == "$2b$" + HashFixtures.alice.hash.dropFirst(4))
        #expect(BcryptHash(HashFixtures.carol.hash)?.verifiable == HashFixtures.carol.hash)
        #expect(BcryptHash(HashFixtures.dave.hash)?.verifiable == HashFixtures.dave.hash)
        #expect(BcryptHash(HashFixtures.frank.hash)?.cost == 10)
    }

    @Test func theDecoyHasTheCostAskedForAndMatchesNothing() throws {
        for cost in [4, 5, 10, 12] { #expect(BcryptHash.decoy(cost: cost).cost == cost) }
        #expect(!BasicAuthenticator.bcrypt("", BcryptHash.decoy(cost: 4)))
        #expect(!BasicAuthenticator.bcrypt("wonderland", BcryptHash.decoy(cost: 4)))
    }

    @Test func sha256MatchesTheFIPSExamples() {
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(BasicAuthDigest.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(BasicAuthDigest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(BasicAuthDigest.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(BasicAuthDigest.sha256([UInt8](repeating: 0x61, count: 1_000_000)))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct BasicAuthenticatorTests {
    /// Counts bcrypt calls and records the hashes they were given.
    final class CountingBcrypt: Sendable {
        private let calls = Mutex<[(password: String, cost: Int)]>([])
        var count: Int { calls.withLock { $0.count } }
        var costs: [Int] { calls.withLock { $0.map(\.cost) } }

        var verify: BasicAuthenticator.Verify {
            { password, hash in
                self.calls.withLock { $0.append((password, hash.cost)) }
                return BasicAuthenticator.bcrypt(password, hash)
            }
        }
    }

    static func users(_ fixtures: [(user: String, password: String, hash: String)]) -> [String: BcryptHash] {
        Dictionary(uniqueKeysWithValues: fixtures.map { ($0.user, BcryptHash($0.hash)!) })
    }

    static func header(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func rightCredentialsPassAndEverythingElseFails() async {
        let auth = BasicAuthenticator(users: Self.users([HashFixtures.alice, HashFixtures.bob]))
        #expect(await auth.allows(authorization: Self.header("alice", "wonderland")))
        #expect(await auth.allows(authorization: Self.header("bob", "builder:with colon é")))
        #expect(await auth.allows(authorization: "basic " + Data("alice:wonderland".utf8).base64EncodedString()))
        for header in [
            nil, "", "Basic", "Basic !!!", "Bearer abc", Self.header("alice", "wonderlan"), Self.header("alicE", "wonderland"),
            Self.header("alice", "builder:with colon é"), Self.header("mallory", "wonderland"), Self.header("", ""),
            "Basic " + Data("alice".utf8).base64EncodedString(), "Basic " + Data("alice:wonder\u{0}land".utf8).base64EncodedString(),
        ] as [String?] {
            #expect(await !auth.allows(authorization: header), "\(header ?? "nil")")
        }
    }

    @Test func unknownUserCostsTheSameBcryptWorkAsAWrongPassword() async {
        let bcrypt = CountingBcrypt()
        let auth = BasicAuthenticator(users: Self.users([HashFixtures.alice]), verify: bcrypt.verify)
        #expect(await !auth.allows(user: Array("alice".utf8), password: Array("wrong".utf8)))
        #expect(await !auth.allows(user: Array("mallory".utf8), password: Array("wrong".utf8)))
        // One full check each, at the configured user's cost.
        #expect(bcrypt.costs == [5, 5])
    }

    @Test func successIsCachedAndFailureIsNot() async {
        let bcrypt = CountingBcrypt()
        let auth = BasicAuthenticator(users: Self.users([HashFixtures.frank, HashFixtures.alice]), verify: bcrypt.verify)
        for _ in 0..<5 { #expect(await auth.allows(user: Array("frank".utf8), password: Array("ten-rounds".utf8))) }
        #expect(bcrypt.count == 1)
        for _ in 0..<3 { #expect(await !auth.allows(user: Array("frank".utf8), password: Array("ten-round".utf8))) }
        #expect(bcrypt.count == 4)
        // Another user's right password is a separate entry.
        #expect(await auth.allows(user: Array("alice".utf8), password: Array("wonderland".utf8)))
        #expect(await auth.allows(user: Array("alice".utf8), password: Array("wonderland".utf8)))
        #expect(bcrypt.count == 5)
    }

    @Test func theCacheIsBoundedOldestFirst() {
        var cache = VerifiedCredentials(capacity: 2)
        let keys = (0..<3).map { BasicAuthDigest.sha256([UInt8($0)]) }
        for key in keys { cache.insert(key) }
        cache.insert(keys[2])
        #expect(cache.count == 2)
        #expect(!cache.contains(keys[0]) && cache.contains(keys[1]) && cache.contains(keys[2]))
    }

    @Test func cacheKeysSeparateTheParts() {
        let hash = BcryptHash(HashFixtures.alice.hash)!
        let key = { (user: String, password: String) in
            BasicAuthenticator.cacheKey(user: Array(user.utf8), hash: hash, password: Array(password.utf8))
        }
        #expect(key("ab", "c") != key("a", "bc"))
        #expect(key("alice", "wonderland") == key("alice", "wonderland"))
        #expect(key("alice", "wonderland").count == 32)
    }

    @Test func usernamesCompareByEveryByte() {
        let equal = BasicAuthenticator.constantTimeEqual
        #expect(equal(Array("alice".utf8), Array("alice".utf8)))
        #expect(equal([], []))
        for other in ["alicf", "alic", "alice ", "", "Alice"] { #expect(!equal(Array("alice".utf8), Array(other.utf8)), "\(other)") }
        // Lengths that differ by a multiple of 256 must not compare equal.
        #expect(!equal([UInt8](repeating: 0, count: 256), []))
    }

    @Test func everyFailureGetsTheSameResponse() async throws {
        let responder = WebConfigResponder(
            ExporterResponder(store: StatusStore([]), telemetryPath: "/metrics"),
            config: WebConfig(basicAuthUsers: Self.users([HashFixtures.alice]))
        )
        #expect(await responder.rejection(authorization: Self.header("alice", "wonderland"), head: false) == nil)
        var responses = [try #require(await responder.rejection(authorization: nil, head: false))]
        for header in [Self.header("alice", "wrong"), Self.header("mallory", "wonderland"), "Basic %%%"] {
            responses.append(try #require(await responder.rejection(authorization: header, head: false)))
        }
        let first = responses[0]
        #expect(first.status == .unauthorized)
        #expect(first.headers[.wwwAuthenticate]?.hasPrefix("Basic ") == true)
        #expect(first.headers[.contentLength] == "17")
        for response in responses.dropFirst() { #expect(response.status == first.status && response.headers == first.headers) }
    }
}
