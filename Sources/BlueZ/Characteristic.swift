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
                let value = GattCharacteristicProperties(changed).value
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

    /// Writes `bytes` with no task waiting for BlueZ's answer: `completion` gets nil or the error,
    /// once, on the thread that delivers notifications. `InProgress` is retried as by
    /// ``write(_:timeout:)`` (then in a task, since retrying means waiting).
    public func post(_ bytes: [UInt8], timeout: Duration, completion: @escaping @Sendable (BlueZError?) -> Void) {
        let options = DBusValue.vardict(["type": .string(writeType)])
        session.connection.send(
            destination: BusSession.bluezName, path: path, interface: BlueZInterface.characteristic,
            method: "WriteValue", arguments: [.bytes(bytes), options], timeout: timeout
        ) { [self] result in
            guard case .failure(let failure) = result else { return completion(nil) }
            let error = BlueZError(failure)
            guard case .inProgress = error else { return completion(error) }
            Task {
                do throws(BlueZError) {
                    try await write(bytes, timeout: timeout)
                    completion(nil)
                } catch {
                    completion(error)
                }
            }
        }
    }

    /// Runs `action` at `deadline` on the thread that delivers this characteristic's
    /// notifications, unless the returned subscription is cancelled first. A reply and the
    /// deadline that gives up on it are so settled in one place, without a timer task.
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> Subscription {
        let timer = session.connection.schedule(at: deadline, action)
        return Subscription { timer.cancel() }
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
