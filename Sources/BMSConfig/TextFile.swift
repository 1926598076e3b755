import Glibc

/// Reads a small text file whole, without Foundation.
public enum TextFile {
    /// Config files are a few kilobytes; anything this large is a mistake (a log, a binary).
    static let sizeLimit = 1 << 20

    /// Only a regular file is read: a FIFO would block start-up until something writes to it,
    /// and a device or a directory is never the file that was meant.
    public static func read(_ path: String) throws(ConfigError) -> String {
        // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, possibly forever.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfigError(source: path, "cannot open: \(errorText())") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ConfigError(source: path, "cannot inspect: \(errorText())") }
        if let kind = nonRegularKind(status.st_mode) {
            throw ConfigError(source: path, "is \(kind), not a regular file; give the path of the YAML file itself")
        }
        if status.st_size > sizeLimit { throw tooLarge(path) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = readSome(descriptor, into: &chunk)
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(source: path, "cannot read: \(errorText())")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            // The file may have grown since fstat.
            if bytes.count > sizeLimit { throw tooLarge(path) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(source: path, "not UTF-8 text")
        }
        return text
    }

    /// What a file of this mode is, in words; nil for a regular file.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }

    private static func tooLarge(_ path: String) -> ConfigError {
        ConfigError(source: path, "larger than 1 MiB; is this the right file?")
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// One read(2) into `buffer`; outside `TextFile`, whose own `read` would shadow the system call.
private func readSome(_ descriptor: Int32, into buffer: inout [UInt8]) -> Int {
    buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
}
