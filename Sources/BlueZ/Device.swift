import Basics
import DBus
import Synchronization

/// A remote device (`org.bluez.Device1`) on one adapter.
public struct Device: Sendable {
    public let address: BluetoothAddress
    /// The adapter it belongs to, e.g. `hci0`.
    public let adapterName: String
    let path: ObjectPath
    let session: BusSession

    static let abortByLocal = "le-connection-abort-by-local"
    static let canceled = "br-connection-canceled"
    static let alreadyInProgress = "Operation already in progress"

    /// What BlueZ knows about the device now; nil once it left the tree.
    public var info: DeviceInfo? {
        DeviceInfo(view: session.cache.view, path: path)
    }

    /// Signal strength in dBm, where BlueZ reports it (while discovery sees the device).
    public var rssi: Int? { info?.measuredRSSI }

    /// Whether the link is up and services are resolved.
    public var isReady: Bool {
        let device = session.cache.view.device(path)
        return device?.connected == true && device?.servicesResolved == true
    }

    // MARK: Connect

    private enum Resolution: Sendable {
        case resolved, dropped, removed
    }

    /// Connects and waits for services to resolve, all within `timeout`.
    ///
    /// Two-phase: the link comes up with the `Connect` reply, services later. An already
    /// connected device is used as is. `le-connection-abort-by-local` and drops while resolving
    /// are retried with backoff; "Operation already in progress" (a stale pending connect) is
    /// cleared with `Disconnect` first. At the deadline, `Disconnect` cancels whatever is pending.
    public func connect(timeout: Duration) async throws(BlueZError) {
        try await connect(until: ContinuousClock.now + timeout, budget: timeout)
    }

    /// Connects as `connect(timeout:)`, ending at `deadline`. `budget` is the whole time the
    /// caller gave its user, named in timeout messages: a caller that spent part of it already
    /// (discovery) would otherwise report "within 997ms" for a 1 s timeout.
    public func connect(until deadline: ContinuousClock.Instant, budget: Duration) async throws(BlueZError) {
        let timeout = budget
        var backoff = Duration.milliseconds(100)
        var lastRefusal: BlueZError?
        while true {
            let view = session.cache.view
            guard let device = view.device(path) else { throw BlueZError.notFound("device \(address)") }
            let connected = device.connected == true
            if connected && device.servicesResolved == true { return }
            let dropsBefore = view.drops[path] ?? 0
            do throws(BlueZError) {
                if !connected {
                    _ = try await session.call(
                        path, BlueZInterface.device, "Connect", timeout: max(deadline.remaining, .milliseconds(1)))
                }
                switch try await waitForServices(until: deadline, dropsBefore: dropsBefore, timeout: timeout) {
                case .resolved: return
                case .removed: throw BlueZError.notFound("device \(address) (removed while connecting)")
                case .dropped: lastRefusal = .failed("link dropped before services resolved")
                }
            } catch .failed(let reason) where reason == Self.abortByLocal || reason == Self.canceled {
                lastRefusal = .failed(reason)
                await waitUntilDisconnected(before: deadline)
            } catch .failed(let reason) where reason == Self.alreadyInProgress {
                lastRefusal = .failed(reason)
                await disconnect(timeout: min(deadline.remaining, .seconds(2)))
            } catch .inProgress(let message) {
                lastRefusal = .inProgress(message)
                await disconnect(timeout: min(deadline.remaining, .seconds(2)))
            } catch .noReply {
                await disconnect(timeout: .seconds(2))
                // A refusal earlier in this attempt says more than the retry cut short by the deadline.
                if let lastRefusal { throw lastRefusal }
                throw BlueZError.timeout("BlueZ did not answer Connect within \(DurationText.format(timeout))")
            } catch .timeout(let what) {
                await disconnect(timeout: .seconds(2))
                if let lastRefusal { throw lastRefusal }
                throw BlueZError.timeout(what)
            } catch .cancelled {
                await disconnect(timeout: .seconds(2))
                throw BlueZError.cancelled
            }
            guard deadline.remaining > backoff else {
                await disconnect(timeout: .seconds(2))
                throw lastRefusal ?? .timeout("connect did not complete within \(DurationText.format(timeout))")
            }
            do { try await Task.sleep(for: backoff) } catch {
                await disconnect(timeout: .seconds(2))
                throw BlueZError.cancelled
            }
            backoff = min(backoff * 2, .seconds(2))
        }
    }


    /// After the link is up: services resolved, the link dropped again, or the device vanished.
    private func waitForServices(
        until deadline: ContinuousClock.Instant, dropsBefore: Int, timeout: Duration
    ) async throws(BlueZError) -> Resolution {
        let path = self.path
        return try await session.cache.wait(
            timeout: deadline.remaining, "services of \(address) not resolved within \(DurationText.format(timeout))"
        ) { view in
            guard let device = view.device(path) else { return .removed }
            if (view.drops[path] ?? 0) > dropsBefore { return .dropped }
            if device.servicesResolved == true { return .resolved }
            return nil
        }
    }

    private func waitUntilDisconnected(before deadline: ContinuousClock.Instant) async {
        let path = self.path
        _ = try? await session.cache.wait(timeout: min(deadline.remaining, .seconds(2)), "") { view in
            view.device(path)?.connected == true ? nil : ()
        }
    }

    /// Disconnects (also cancelling a pending connect) and waits until `Connected` is false,
    /// at most `timeout`; runs to the end even when the calling task is cancelled.
    public func disconnect(timeout: Duration = .seconds(5)) async {
        let (session, path) = (self.session, self.path)
        await uncancellable {
            let deadline = ContinuousClock.now + timeout
            _ = try? await session.call(path, BlueZInterface.device, "Disconnect", timeout: timeout)
            _ = try? await session.cache.wait(timeout: deadline.remaining, "") { view in
                view.device(path)?.connected == true ? nil : ()
            }
        }
    }

    // MARK: Link loss

    /// Calls `handler` once when the link goes down (`ServicesResolved` or `Connected` false, the
    /// device removed, bluetoothd or the bus gone), with a reason; at once if it is down already.
    public func onLinkLoss(_ handler: @escaping @Sendable (String) -> Void) throws(BlueZError) -> Subscription {
        let fired = OnceFlag()
        let address = self.address
        let fire: @Sendable (String) -> Void = { reason in if fired.claim() { handler(reason) } }
        let (subscription, view) = try session.cache.listen(to: path) { change in
            switch change {
            case .properties(BlueZInterface.device, let changed, _):
                let change = DeviceProperties(changed)
                if change.connected == false {
                    fire("\(address) disconnected")
                } else if change.servicesResolved == false {
                    fire("\(address) services no longer resolved (link going down)")
                }
            case .interfacesRemoved(let interfaces) where interfaces.contains(BlueZInterface.device):
                fire("\(address) removed from BlueZ")
            case .gone(let error):
                fire(error == .serviceUnknown ? "bluetoothd stopped" : error.description)
            default:
                break
            }
        }
        let device = view.device(path)
        if device?.connected != true {
            fire("\(address) is not connected")
        } else if device?.servicesResolved != true {
            fire("\(address) services not resolved")
        }
        return subscription
    }

    // MARK: GATT

    /// The characteristics BlueZ has resolved for this device.
    public func characteristics() -> [Characteristic] {
        let view = session.cache.view
        return view.paths(with: BlueZInterface.characteristic).compactMap { charPath in
            guard let characteristic = view.characteristic(charPath), let servicePath = characteristic.service,
                let service = view.service(servicePath), service.device == path,
                let uuid = characteristic.uuid, let serviceUUID = service.uuid
            else { return nil }
            return Characteristic(
                uuid: BluetoothUUID(uuid), service: BluetoothUUID(serviceUUID), flags: characteristic.flags ?? [],
                path: charPath, session: session)
        }
    }

    /// The characteristic `uuid` of service `service`, found by UUID (never by handle).
    public func characteristic(_ uuid: BluetoothUUID, in service: BluetoothUUID) -> Characteristic? {
        characteristics().first { $0.uuid == uuid && $0.service == service }
    }
}
