import TestSupport
import Foundation

/// A private `dbus-daemon` in a temporary directory, stopped and removed on deinit.
/// Tests never touch the machine's real buses.
final class TestBus: Sendable {
    /// The address to connect to, as printed by the daemon.
    let address: String
    private let directory: String
    private let daemon: ChildProcess

    init() throws {
        var template = Array("/tmp/dbus-tests.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestBusError.setup("mkdtemp: errno \(errno)") }
        directory = String(cString: created)
        do {
            let config = directory + "/bus.conf"
            try Self.configuration(listeningIn: directory).write(toFile: config, atomically: true, encoding: .utf8)
            (daemon, address) = try Self.spawnDaemon(config: config)
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

    private static func configuration(listeningIn directory: String) -> String {
        """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:dir=\(directory)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
            <allow own="*"/>
          </policy>
        </busconfig>
        """
    }

    /// Starts `dbus-daemon --print-address` and reads the address from its stdout, under a deadline.
    private static func spawnDaemon(config: String) throws -> (ChildProcess, String) {
        // The daemon complains about fd limits on stderr; the tests do not need that noise.
        let daemon = try ChildProcess(
            "/usr/bin/dbus-daemon", ["--config-file=\(config)", "--nofork", "--print-address"], stderr: "/dev/null")
        defer { close(daemon.stdout) }
        do {
            return (daemon, try daemon.readLine(within: .seconds(10), what: "dbus-daemon"))
        } catch {
            daemon.terminate()
            throw error
        }
    }
}

enum TestBusError: Error {
    case setup(String)
}
