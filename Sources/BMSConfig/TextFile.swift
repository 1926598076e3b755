#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a small text file whole, without Foundation.
public enum TextFile {
    /// Config files are a few kilobytes; anything this large is a mistake (a log, a binary).
    static let sizeLimit = 1 << 20

    public static func read(_ path: String) throws(ConfigError) -> String {
        guard let file = fopen(path, "rb") else {
            throw ConfigError(source: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if bytes.count > sizeLimit { throw ConfigError(source: path, "larger than 1 MiB; is this the right file?") }
            if count < chunk.count {
                if ferror(file) != 0 { throw ConfigError(source: path, "cannot read: \(String(cString: strerror(errno)))") }
                break
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(source: path, "not UTF-8 text")
        }
        return text
    }
}
