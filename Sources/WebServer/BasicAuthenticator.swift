import Dispatch
import ExtrasBase64
import HummingbirdBcrypt
import Synchronization
import WebConfigFile

/// Checks `Authorization: Basic …` against `basic_auth_users`.
///
/// - The answer is a plain yes or no, so a wrong password and an unknown user get the same
///   response; an unknown user's password is checked against a decoy hash of the same cost,
///   so they cost the same bcrypt work too.
/// - Usernames are compared in constant time, against every configured user.
/// - bcrypt is slow by design (~100 ms at cost 10 on a Raspberry Pi): it runs on one serial
///   queue, off the request threads, and each credential pair that verified is remembered
///   (by its SHA-256, never in the clear), so a scrape every 15 s pays for bcrypt once.
///   Failures are not remembered: a flood of wrong guesses cannot push a good pair out.
final class BasicAuthenticator: Sendable {
    /// bcrypt itself; replaceable in tests to count calls.
    typealias Verify = @Sendable (_ password: String, _ hash: BcryptHash) -> Bool

    static let bcrypt: Verify = { password, hash in Bcrypt.verify(password, hash: hash.verifiable) }

    private let users: [(name: [UInt8], hash: BcryptHash)]
    private let decoy: BcryptHash
    private let verify: Verify
    private let verified: Mutex<VerifiedCredentials>
    private let queue = DispatchQueue(label: "bms_exporter.bcrypt")

    init(users: [String: BcryptHash], cacheCapacity: Int = 100, verify: @escaping Verify = bcrypt) {
        self.users = users.sorted { $0.key < $1.key }.map { (Array($0.key.utf8), $0.value) }
        decoy = BcryptHash.decoy(cost: users.values.map(\.cost).max() ?? 10)
        self.verify = verify
        verified = Mutex(VerifiedCredentials(capacity: cacheCapacity))
    }

    /// Whether the `Authorization` header carries the credentials of a configured user.
    func allows(authorization: String?) async -> Bool {
        guard let authorization, let credentials = Self.credentials(fromHeader: authorization) else { return false }
        return await allows(user: credentials.user, password: credentials.password)
    }

    func allows(user: [UInt8], password: [UInt8]) async -> Bool {
        let match = lookUp(user)
        let key = Self.cacheKey(user: user, hash: match.hash, password: password)
        if verified.withLock({ $0.contains(key) }) { return true }
        // bcrypt takes a C string: a NUL or invalid UTF-8 cannot be what a hash was made from,
        // but it still costs a full check, like any other wrong password.
        let text = password.contains(0) ? nil : String(validating: password, as: UTF8.self)
        let matches = await bcrypt(text ?? "", match.hash)
        guard match.known, text != nil, matches else { return false }
        verified.withLock { $0.insert(key) }
        return true
    }

    /// The configured user with this name, found without an early exit; else the decoy.
    private func lookUp(_ name: [UInt8]) -> (known: Bool, hash: BcryptHash) {
        var found = (known: false, hash: decoy)
        for user in users where Self.constantTimeEqual(user.name, name) {
            found = (true, user.hash)
        }
        return found
    }

    private func bcrypt(_ password: String, _ hash: BcryptHash) async -> Bool {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.verify(password, hash)) }
        }
    }

    /// Compares every byte of the longer input whatever the contents, so the time taken
    /// depends on the lengths only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// `Basic base64(user:password)`; the scheme is case-insensitive (RFC 7617).
    static func credentials(fromHeader header: String) -> (user: [UInt8], password: [UInt8])? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = try? Base64.decode(string: String(parts[1].filter { $0 != " " }))
        else { return nil }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (Array(decoded[..<colon]), Array(decoded[(colon + 1)...]))
    }

    /// SHA-256 over the lengths and bytes of user, stored hash and password: unambiguous, and
    /// a changed hash in the file would not match an old entry.
    static func cacheKey(user: [UInt8], hash: BcryptHash, password: [UInt8]) -> [UInt8] {
        var message: [UInt8] = []
        for part in [user, Array(hash.text.utf8), password] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: part)
        }
        return BasicAuthDigest.sha256(message)
    }
}

/// Digests of credential pairs that verified, oldest dropped first beyond the capacity.
struct VerifiedCredentials {
    let capacity: Int
    private var keys: Set<[UInt8]> = []
    private var order: [[UInt8]] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { keys.count }

    func contains(_ key: [UInt8]) -> Bool { keys.contains(key) }

    mutating func insert(_ key: [UInt8]) {
        guard keys.insert(key).inserted else { return }
        order.append(key)
        if order.count > capacity { keys.remove(order.removeFirst()) }
    }
}
