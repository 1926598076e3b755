import BlueZ

/// Waiting for a bluetoothd that is still starting (boot order, a restart): `read` run from a
/// boot script must not fail just because org.bluez has no owner yet.
enum BlueZStartup {
    /// How often a system bus that is not up yet is tried again.
    static let busRetryInterval = Duration.milliseconds(200)

    /// Returns once BlueZ answers about `adapter` (whatever the answer) or at `deadline`. Only
    /// "not running yet" is waited out; any other answer is for the read itself to report.
    static func wait(for adapter: String, on stack: BluetoothStack, until deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline {
            do throws(BlueZError) {
                _ = try await stack.adapter(named: adapter)
                return
            } catch .serviceUnknown, .noReply {
                // Event-driven: returns when org.bluez gets an owner and its tree is loaded.
                try? await stack.waitUntilAvailable(timeout: ContinuousClock.now.duration(to: deadline))
                return
            } catch .busUnavailable {
                guard ContinuousClock.now + busRetryInterval < deadline else { return }
                try? await Task.sleep(for: busRetryInterval)
            } catch {
                return
            }
        }
    }
}
