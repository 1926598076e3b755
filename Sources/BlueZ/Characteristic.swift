import DBus

/// A GATT characteristic (`org.bluez.GattCharacteristic1`) of a connected device.
public struct Characteristic: Sendable {
    public let uuid: BluetoothUUID
    /// The service it belongs to.
    public let service: BluetoothUUID
    /// BlueZ's flags, e.g. `["read", "write-without-response"]`.
    public let flags: [String]
    let path: ObjectPath
    let session: BusSession

    /// Calls `handler` with every notified value (one call per ATT notification, repeats included),
    /// until the subscription is cancelled. Subscribe before `startNotify` to miss nothing.
    public func onValue(_ handler: @escaping @Sendable ([UInt8]) -> Void) throws(BlueZError) -> Subscription {
        try session.cache.listen(to: path) { change in
            guard case .properties(BlueZInterface.characteristic, let changed, _) = change,
                let value = changed[BlueZProperty.value]?.value(as: [UInt8].self)
            else { return }
            handler(value)
        }.0
    }

    /// Enables notifications. `InProgress` (a session of this connection is registering or
    /// waiting for a reconnect) counts as subscribed, as does "Already notifying".
    public func startNotify(timeout: Duration) async throws(BlueZError) {
        do throws(BlueZError) {
            _ = try await session.call(path, BlueZInterface.characteristic, "StartNotify", timeout: timeout)
        } catch .inProgress {
            return
        } catch .failed(let reason) where reason.containsIgnoringCase("already notifying") {
            return
        }
    }

    /// Ends this connection's notify session; errors (no session, link gone) are ignored.
    public func stopNotify(timeout: Duration) async {
        let (session, path) = (self.session, self.path)
        await uncancellable {
            _ = try? await session.call(path, BlueZInterface.characteristic, "StopNotify", timeout: timeout)
        }
    }

    /// The write type BlueZ is asked for: `command` when the characteristic supports
    /// write-without-response, else `request`.
    public var writeType: String {
        flags.contains("write-without-response") ? "command" : "request"
    }

    /// Writes `bytes`; `InProgress` is retried a few times, briefly.
    public func write(_ bytes: [UInt8], timeout: Duration) async throws(BlueZError) {
        let options = DBusValue.vardict(["type": .string(writeType)])
        var pause = Duration.milliseconds(20)
        for attempt in 1...4 {
            do throws(BlueZError) {
                _ = try await session.call(
                    path, BlueZInterface.characteristic, "WriteValue", [.bytes(bytes), options], timeout: timeout)
                return
            } catch .inProgress(let message) {
                if attempt == 4 { throw BlueZError.inProgress(message) }
                do { try await Task.sleep(for: pause) } catch { throw BlueZError.cancelled }
                pause *= 2
            }
        }
    }
}

extension String {
    /// Case-insensitive containment without Foundation.
    func containsIgnoringCase(_ other: String) -> Bool {
        lowercased().contains(other.lowercased())
    }
}
