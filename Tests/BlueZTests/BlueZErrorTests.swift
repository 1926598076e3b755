@testable import BlueZ
import DBus
import Testing

/// A timeout is known by its kind (our call timeout, or D-Bus's NoReply/Timeout error names),
/// never by what a message says, so `Device.connect` and the link can tell it from a refusal.
@Suite struct BlueZErrorTests {
    @Test func callTimeoutsAreNoReplyWhateverTheirText() {
        #expect(BlueZError(DBusError.timeout) == .noReply)
        #expect(BlueZError(DBusError.errorReply(name: "org.freedesktop.DBus.Error.NoReply", message: "")) == .noReply)
        #expect(
            BlueZError(DBusError.errorReply(name: "org.freedesktop.DBus.Error.Timeout", message: "Connection timed out"))
                == .noReply)
    }

    /// BlueZ's own `Failed` with a timeout in its text is a refusal with that reason, not a timeout.
    @Test func aFailureThatSaysTimeoutIsStillAFailure() {
        #expect(
            BlueZError(DBusError.errorReply(name: "org.bluez.Error.Failed", message: "Timeout was reached"))
                == .failed("Timeout was reached"))
        #expect(
            BlueZError(DBusError.errorReply(name: "org.bluez.Error.Failed", message: "le-connection-abort-by-local"))
                == .failed("le-connection-abort-by-local"))
    }

    /// Our own deadlines (`ObjectCache.wait`) throw `.timeout` and pass through unchanged.
    @Test func ourDeadlinesPassThrough() {
        #expect(BlueZError(BlueZError.timeout("services not resolved")) == .timeout("services not resolved"))
        #expect(BlueZError(CancellationError()) == .cancelled)
    }
}
