import Foundation

/// Certificates made with the `openssl` CLI for each test run, so nothing committed can expire:
/// a test CA with a server certificate (for 127.0.0.1 and localhost) and a client certificate,
/// and a second, untrusted CA with a client certificate of its own (`rogue`), whose key fits
/// neither the server nor the first CA. Files live in `directory` until the value goes away.
public final class TestPKI: Sendable {
    /// One set for every in-process test of a run; end-to-end tests make their own.
    public static let shared = try! TestPKI()

    public let directory: String

    public init() throws {
        directory = try TestDirectory("bms-pki").path
        let script = """
        set -e
        ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        sign() { openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 $3 -out "$1.crt"; }
        openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=bms-test-ca
        openssl req -x509 $ec -keyout rogue-ca.key -out rogue-ca.crt -days 2 -subj /CN=rogue-ca
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
        openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost
        sign server ca "-extfile server.ext"
        openssl req $ec -keyout client.key -out client.csr -subj /CN=prometheus
        sign client ca
        openssl req $ec -keyout rogue.key -out rogue.csr -subj /CN=prometheus
        sign rogue rogue-ca
        """
        // Runs while `shared` is first touched, possibly on the cooperative pool; it is short.
        let openssl = try FinishedProcess.runBlocking(URL(fileURLWithPath: "/bin/sh"), ["-c", script], directory: directory)
        guard openssl.status == 0 else { throw TestPKIError.openssl(openssl.stdout + openssl.stderr) }
    }

    public func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// The PEM text of one of the files, e.g. `server.crt`.
    public func pem(_ name: String) -> String {
        (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? ""
    }

    /// Writes a web config file beside the certificates and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

public enum TestPKIError: Error, CustomStringConvertible {
    case openssl(String)

    public var description: String {
        switch self {
        case let .openssl(output): "openssl could not make the test certificates: \(output)"
        }
    }
}
