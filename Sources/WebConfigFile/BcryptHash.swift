/// A bcrypt hash from `basic_auth_users`, checked for shape at start-up so that a typo is a
/// start-up error rather than a user who can never log in.
public struct BcryptHash: Sendable, Equatable {
    // `package`: the web server verifies with these; nothing outside this package sees a secret.
    /// As written in the web config file. A secret: never logged or echoed in errors.
    package let text: String
    /// What HummingbirdBcrypt is given. It knows `$2a$` and `$2b$` but not `$2y$`, which is
    /// the same algorithm under the name PHP and `htpasswd -B` use, so `$2y$` becomes `$2b$`.
    package let verifiable: String
    /// log2 of the rounds: 4…31.
    package let cost: Int

    static let prefixes = ["$2a$", "$2b$", "$2y$"]
    static let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// `$2y$10$` + 22 characters of salt + 31 of hash; nil for anything else.
    package init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 60, let prefix = Self.prefixes.first(where: { text.hasPrefix($0) }),
              let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost),
              bytes[4..<6].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              bytes[6] == UInt8(ascii: "$"), bytes[7...].allSatisfy(Self.alphabet.contains)
        else { return nil }
        self.text = text
        self.verifiable = prefix == "$2y$" ? "$2b$" + text.dropFirst(4) : text
        self.cost = cost
    }

    /// A well-formed hash that no password matches in practice: what an unknown user's password is
    /// checked against, so that an unknown user costs the same bcrypt work as a wrong password.
    package static func decoy(cost: Int) -> BcryptHash {
        let costText = cost < 10 ? "0\(cost)" : "\(cost)"
        return BcryptHash("$2b$\(costText)$" + String(repeating: "N", count: 22) + String(repeating: "u", count: 31))!
    }
}

extension BcryptHash: CustomStringConvertible {
    /// Shows the scheme and cost only: the rest is a secret.
    public var description: String { "\(text.prefix(7))…" }
}
