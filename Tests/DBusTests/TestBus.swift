import Foundation
import TestSupport

/// A private `dbus-daemon` (TestSupport's one launcher) in a temporary directory, stopped and
/// removed on deinit. Tests never touch the machine's real buses.
final class TestBus: Sendable {
    /// The address to connect to.
    let address: String
    private let directory: String
    private let daemon: ChildProcess

    init() throws {
        var template = Array("/tmp/dbus-tests.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestBusError.setup("mkdtemp: errno \(errno)") }
        directory = String(cString: created)
        address = "unix:path=\(directory)/bus"
        do {
            daemon = try ChildProcess.busDaemon(address: address, stderr: directory + "/dbus-daemon.stderr")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the daemon (only the one this object started) and reaps it; safe to call twice.
    func stop() {
        daemon.terminate()
    }
}

enum TestBusError: Error {
    case setup(String)
}
