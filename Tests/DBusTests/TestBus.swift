import Foundation
import TestSupport

/// A private `dbus-daemon` (TestSupport's one launcher) in a temporary directory, stopped and
/// removed on deinit. Tests never touch the machine's real buses.
final class TestBus: Sendable {
    /// The address to connect to.
    let address: String
    private let directory: TestDirectory
    private let daemon: ChildProcess

    init() throws {
        directory = try TestDirectory(forSockets: "dbus-tests")
        address = "unix:path=\(directory.path("bus"))"
        do {
            daemon = try ChildProcess.busDaemon(address: address, stderr: directory.path("dbus-daemon.stderr"))
        } catch {
            directory.remove()
            throw error
        }
    }

    deinit {
        stop()
        directory.remove()
    }

    /// Stops the daemon (only the one this object started) and reaps it; safe to call twice.
    func stop() {
        daemon.terminate()
    }
}
