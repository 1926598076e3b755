import BMSConfig

/// Reading the exporter-toolkit's web config format. Every problem is a start-up error naming
/// the file and line. Keys of that format this exporter does not implement are refused with a
/// reason rather than ignored, because each of them promises a protection it would not get.
public enum WebConfigSyntax {
    static let topLevelKeys: Set<String> = ["tls_server_config", "http_server_config", "basic_auth_users"]
    static let topLevelUnsupported = [
        "rate_limit": "rate limiting is not supported; put a reverse proxy in front of the exporter for that",
    ]
    static let tlsKeys: Set<String> = [
        "cert", "key", "client_ca", "cert_file", "key_file", "client_ca_file", "client_auth_type",
        "min_version", "max_version", "prefer_server_cipher_suites",
    ]
    static let tlsUnsupported = [
        "cipher_suites": "choosing cipher suites is not supported; SwiftNIO SSL's defaults (AEAD suites with forward secrecy) are used",
        "curve_preferences": "choosing curves is not supported; BoringSSL's defaults are used",
        "client_allowed_sans": "matching client certificate SANs is not supported; give client_ca_file a CA that signs only the clients you allow",
    ]
    static let httpKeys: Set<String> = ["http2", "headers"]
    /// The headers the exporter-toolkit allows, with the values it allows where it restricts them.
    public static let headerRules: [String: Set<String>?] = [
        "Content-Security-Policy": nil, "X-Frame-Options": ["deny", "sameorigin"],
        "X-Content-Type-Options": ["nosniff"], "X-XSS-Protection": nil, "Strict-Transport-Security": nil,
    ]

    /// The directory relative paths in the file are taken from; nil when the file was named
    /// without one (then they are relative to the working directory, which is the same place).
    public static func directory(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func resolve(_ path: String, in directory: String?) -> String {
        guard let directory, !path.hasPrefix("/") else { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return (directory.hasSuffix("/") ? directory : directory + "/") + relative
    }
}

extension WebConfigDocument {
    /// Reads and checks the file and every certificate and key it names; relative paths are
    /// taken from the file's own directory, as the exporter-toolkit does.
    public static func load(
        _ path: String, readFile: (String) throws(ConfigError) -> String = TextFile.read,
        tls: (TLSFile) throws(ConfigError) -> TLS
    ) throws(ConfigError) -> Self {
        try parse(try readFile(path), source: path, readFile: readFile, tls: tls)
    }

    /// `tls` turns a complete `tls_server_config` into what the server uses. It runs as soon as
    /// the section is read, before the sections after it, so that a file with several problems
    /// reports the first one.
    public static func parse(
        _ text: String, source: String, readFile: (String) throws(ConfigError) -> String,
        tls: (TLSFile) throws(ConfigError) -> TLS
    ) throws(ConfigError) -> Self {
        let reader = YAMLReader(source: source)
        let root = try reader.compose(text)
        // An empty file configures nothing, as with the exporter-toolkit: plain HTTP, no auth.
        guard let root else { return Self() }
        let top = try reader.mapping(
            root, what: "the top level", allowed: WebConfigSyntax.topLevelKeys, unsupported: WebConfigSyntax.topLevelUnsupported
        )
        var config = Self()
        if let entry = top["tls_server_config"],
           let file = try tlsFile(entry, reader: reader, directory: WebConfigSyntax.directory(of: source), readFile: readFile) {
            config.tls = try tls(file)
        }
        if let entry = top["http_server_config"] {
            config.headers = try headers(entry, reader: reader)
        }
        if let entry = top["basic_auth_users"] {
            config.basicAuthUsers = try users(entry, reader: reader)
        }
        return config
    }

    private static func tlsFile(
        _ section: YAMLReader.Entry, reader: YAMLReader, directory: String?,
        readFile: (String) throws(ConfigError) -> String
    ) throws(ConfigError) -> TLSFile? {
        let fields = try reader.mapping(
            section.value, what: "tls_server_config", allowed: WebConfigSyntax.tlsKeys, unsupported: WebConfigSyntax.tlsUnsupported
        )
        // A section with nothing in it leaves TLS off, as with the exporter-toolkit; one with
        // anything in it must be complete.
        guard !fields.isEmpty else { return nil }
        let material = Material(fields: fields, reader: reader, directory: directory)
        guard let cert = try material.load(inline: "cert", file: "cert_file", readFile: readFile) else {
            throw reader.error(atKeyOf: section, "tls_server_config needs cert_file (or cert): the server's certificate")
        }
        guard let key = try material.load(inline: "key", file: "key_file", readFile: readFile) else {
            throw reader.error(atKeyOf: section, "tls_server_config needs key_file (or key): the server's private key")
        }
        let clientCA = try material.load(inline: "client_ca", file: "client_ca_file", readFile: readFile)

        var clientAuth = TLSFile.ClientAuth.noClientCert
        if let entry = fields["client_auth_type"] {
            let name = try reader.string(entry, key: "client_auth_type")
            // RequireClientCert: the exporter-toolkit's old name, still accepted there.
            guard let value = TLSFile.ClientAuth(rawValue: name == "RequireClientCert" ? "RequireAnyClientCert" : name) else {
                let known = TLSFile.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")
                throw reader.error(entry, "unknown client_auth_type \"\(name)\" (known: \(known))")
            }
            clientAuth = value
        }
        if let clientCA, clientAuth == .noClientCert {
            throw clientCA.error("\(clientCA.key) is set but client_auth_type is NoClientCert, so no client "
                + "certificate would be asked for; set client_auth_type: RequireAndVerifyClientCert")
        }
        if clientAuth.verifies, clientCA == nil {
            throw reader.error(fields["client_auth_type"] ?? section, "client_auth_type \(clientAuth.rawValue) needs "
                + "client_ca_file (or client_ca): the CA that signs client certificates")
        }
        let minVersion = try version(fields["min_version"], key: "min_version", default: .tls12, reader: reader)
        let maxVersion = try version(fields["max_version"], key: "max_version", default: .tls13, reader: reader)
        if minVersion > maxVersion, let entry = fields["min_version"] ?? fields["max_version"] {
            throw reader.error(entry, "min_version \(minVersion.rawValue) is above max_version \(maxVersion.rawValue)")
        }
        if let entry = fields["prefer_server_cipher_suites"] {
            _ = try reader.bool(entry, key: "prefer_server_cipher_suites") // accepted; BoringSSL decides
        }
        return TLSFile(cert: cert, key: key, clientCA: clientCA, clientAuth: clientAuth, minVersion: minVersion, maxVersion: maxVersion)
    }

    private static func version(
        _ entry: YAMLReader.Entry?, key: String, default value: TLSFile.Version, reader: YAMLReader
    ) throws(ConfigError) -> TLSFile.Version {
        guard let entry else { return value }
        let name = try reader.string(entry, key: key)
        guard let version = TLSFile.Version(rawValue: name) else {
            let known = TLSFile.Version.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.error(entry, "unknown \(key) \"\(name)\" (known: \(known))")
        }
        return version
    }

    private static func headers(_ section: YAMLReader.Entry, reader: YAMLReader) throws(ConfigError) -> [ResponseHeader] {
        let fields = try reader.mapping(section.value, what: "http_server_config", allowed: WebConfigSyntax.httpKeys)
        // HTTP/2 is not offered (HTTP/1.1 only), so `http2` is read for its type and otherwise ignored.
        if let entry = fields["http2"] { _ = try reader.bool(entry, key: "http2") }
        guard let entry = fields["headers"] else { return [] }
        let headers = try reader.mapping(entry.value, what: "headers", allowed: Set(WebConfigSyntax.headerRules.keys))
        var result: [ResponseHeader] = []
        for (name, entry) in headers.sorted(by: { $0.key < $1.key }) {
            let value = try reader.string(entry, key: name)
            guard !value.isEmpty else { continue } // blank means unset
            if let allowed = WebConfigSyntax.headerRules[name] ?? nil, !allowed.contains(value.lowercased()) {
                throw reader.error(entry, "\(name) must be one of \(allowed.sorted().joined(separator: ", ")), not \"\(value)\"")
            }
            guard value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.value >= 0x20 && $0.value != 0x7F) }) else {
                throw reader.error(entry, "\(name) must be printable ASCII on one line")
            }
            result.append(ResponseHeader(name: name, value: value))
        }
        return result
    }

    private static func users(_ section: YAMLReader.Entry, reader: YAMLReader) throws(ConfigError) -> [String: BcryptHash] {
        let fields = try reader.mapping(section.value, what: "basic_auth_users", allowed: nil)
        var users: [String: BcryptHash] = [:]
        for (user, entry) in fields {
            guard !user.contains(":") else {
                throw reader.error(entry, "user name \"\(user)\" contains a colon, which basic auth cannot carry")
            }
            // The value is a secret: the message describes it without quoting it.
            guard let hash = BcryptHash(try reader.string(entry, key: user)) else {
                throw reader.error(entry, "the password of user \"\(user)\" is not a bcrypt hash: expected $2y$, $2b$ or $2a$, "
                    + "a two-digit cost from 04 to 31, $ and 53 characters of salt and hash, 60 in all; "
                    + "make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'")
            }
            users[user] = hash
        }
        return users
    }
}

/// Finds a certificate or key given either inline or as a file in `tls_server_config`.
private struct Material {
    let fields: [String: YAMLReader.Entry]
    let reader: YAMLReader
    let directory: String?

    func load(inline: String, file: String, readFile: (String) throws(ConfigError) -> String) throws(ConfigError) -> TLSFile.PEM? {
        switch (fields[inline], fields[file]) {
        case (nil, nil):
            return nil
        case let (inlineEntry?, nil):
            return pem(try reader.string(inlineEntry, key: inline), label: "\(inline) (inline)", key: inline, entry: inlineEntry)
        case let (nil, fileEntry?):
            let written = try reader.string(fileEntry, key: file)
            guard !written.isEmpty else { throw reader.error(fileEntry, "\(file) is empty") }
            let path = WebConfigSyntax.resolve(written, in: directory)
            do {
                return pem(try readFile(path), label: "\(file) \(path)", key: file, entry: fileEntry)
            } catch {
                throw reader.error(fileEntry, "\(file) \(path): \(error.message)")
            }
        case let (_, fileEntry?):
            throw reader.error(fileEntry, "give \(inline) or \(file), not both")
        }
    }

    /// Keeps the entry's line (as `reader.error(entry, _)` would name it) for later messages.
    private func pem(_ text: String, label: String, key: String, entry: YAMLReader.Entry) -> TLSFile.PEM {
        TLSFile.PEM(text: text, label: label, key: key, source: reader.source, line: entry.line)
    }
}
