import Glibc

/// Files that hold a secret (a module password, a pairing PIN): read like any text file, but
/// their contents never appear in a message, and a file others may read is pointed out.
public enum SecretFile {
    /// Whether users other than the owner and group may read the file at `path`.
    public static func isWorldReadable(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        return status.st_mode & S_IROTH != 0
    }

    /// The pairing PIN in the file at `path`: exactly six digits, a trailing line break allowed.
    /// The error names the file and the problem, never the contents.
    public static func pin(
        _ path: String, readFile: (String) throws(ConfigError) -> String = TextFile.read
    ) throws(ConfigError) -> UInt32 {
        var text = Substring(try readFile(path))
        while let last = text.last, last == "\n" || last == "\r" { text = text.dropLast() }
        guard text.count == 6, text.allSatisfy({ $0.isASCII && $0.isNumber }), let pin = UInt32(text) else {
            throw ConfigError(
                source: path, "must hold the battery's 6-digit PIN and nothing else (found \(text.count) character(s))")
        }
        return pin
    }
}
