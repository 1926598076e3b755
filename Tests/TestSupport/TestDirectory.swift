import Foundation

/// A fresh directory under the system's temporary directory for one test, one rig or one fake:
/// files are written into it by name, and `remove()` deletes it with everything inside. The one
/// place tests make temporary directories, so each run's files stay apart and are cleaned up alike.
public struct TestDirectory: Sendable {
    public let path: String

    /// Creates `<tmp>/<prefix>-<uuid>`.
    public init(_ prefix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Creates `/tmp/<prefix>-XXXXXX`, short whatever `TMPDIR` says: for a unix socket (a bus
    /// address), whose path must fit in 108 bytes.
    public init(forSockets prefix: String) throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestDirectoryError(path: "/tmp/\(prefix)-XXXXXX", errno: errno) }
        path = String(cString: created)
    }

    /// The path of `name` inside the directory (the file need not exist).
    public func path(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to `name` (replacing it atomically) with `permissions`; returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String, permissions: Int = 0o644) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: file)
        return file
    }

    /// Deletes the directory and its contents; a directory already gone is fine.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a fresh directory and removes it however `body` ends.
    public static func with<Result>(_ prefix: String, _ body: (TestDirectory) throws -> Result) throws -> Result {
        let directory = try TestDirectory(prefix)
        defer { directory.remove() }
        return try body(directory)
    }
}

/// mkdtemp failed.
public struct TestDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let errno: Int32

    public var description: String { "mkdtemp \(path): errno \(errno)" }
}
