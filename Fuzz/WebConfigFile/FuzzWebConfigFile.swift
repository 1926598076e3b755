// libFuzzer harness for the web config reader (`--web.config.file`): `WebConfigDocument.parse`
// either returns settings that keep every rule of the exporter-toolkit's format as this exporter
// implements it, or throws a `ConfigError` that names a real line. The PEM material is handed on
// as text (no TLS library here). Built and run by scripts/fuzz with Fuzz/Common.
import BMSConfig
import WebConfigFile

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebConfigFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    // TextFile.read refuses non-UTF-8 files, so only valid text reaches the parser.
    guard let text = String(validating: bytes, as: UTF8.self) else { return -1 }
    let document: WebConfigDocument<TLSFile>
    do {
        // A `cert_file:` in the input must never make the fuzzer read files from disk; a path
        // ending in "missing" stands for one that cannot be opened.
        document = try WebConfigDocument.parse(text, source: "fuzz.yml", readFile: { path throws(ConfigError) in
            guard !path.hasSuffix("missing") else { throw ConfigError(source: path, "cannot open: No such file or directory") }
            return "PEM of \(path)"
        }, tls: { $0 })
    } catch {
        // As in the config-file harness: "unexpected end" may name the line after the last one.
        let lastLine = yamlLineBreaks(in: text) + 1
        if let line = error.line {
            check((1...lastLine + 1).contains(line), "error names line \(line) of a \(lastLine)-line file: \(error)")
        }
        check(error.source == "fuzz.yml", "error names another source: \(error)")
        check(!error.message.isEmpty, "error without a message")
        return 0
    }
    for header in document.headers {
        guard let rule = WebConfigSyntax.headerRules[header.name] else { fatalError("header \(header.name) accepted") }
        check(!header.value.isEmpty, "blank header \(header.name) kept")
        check(header.value.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F },
              "header \(header.name) with a control character accepted")
        if let allowed = rule { check(allowed.contains(header.value.lowercased()), "\(header.name): \(header.value) accepted") }
    }
    check(Set(document.headers.map(\.name)).count == document.headers.count, "a header given twice")
    for (user, hash) in document.basicAuthUsers {
        check(!user.contains(":"), "user name with a colon accepted: \(user)")
        // The hash is a secret: what it prints is the scheme and cost only.
        check("\(hash)".count == 8 && "\(hash)".hasPrefix("$2"), "a hash prints more than its scheme and cost")
    }
    if let tls = document.tls {
        check(tls.minVersion <= tls.maxVersion, "min_version above max_version accepted")
        check(!tls.clientAuth.verifies || tls.clientCA != nil, "\(tls.clientAuth) without a client CA accepted")
        check(tls.clientAuth != .noClientCert || tls.clientCA == nil, "a client CA that NoClientCert would not use accepted")
        for pem in [tls.cert, tls.key] + (tls.clientCA.map { [$0] } ?? []) {
            let error = pem.error("x")
            check(error.source == "fuzz.yml" && error.line.map { $0 >= 1 } ?? true, "PEM material without its line: \(pem.label)")
        }
    }
    return 0
}
