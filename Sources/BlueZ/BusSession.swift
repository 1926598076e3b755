import DBus
import Synchronization

/// One connection to the system bus with its object cache: the signal subscriptions are in place
/// before the tree is read, and bluetoothd restarts (`NameOwnerChanged`) reload the tree.
///
/// A session ends when its bus connection does; the stack then opens a new one on demand.
final class BusSession: Sendable {
    static let bluezName = "org.bluez"
    let connection: DBusConnection
    let cache = ObjectCache()
    let discovery: DiscoveryCoordinator
    private let tasks = Mutex<[Task<Void, Never>]>([])

    private init(connection: DBusConnection) {
        self.connection = connection
        discovery = DiscoveryCoordinator()
    }

    /// Connects, subscribes (everything `org.bluez` sends, and its owner changes), then loads the tree.
    static func open(address: String?) async throws(BlueZError) -> BusSession {
        let connection: DBusConnection
        do {
            connection = try address.map { try DBusConnection(address: $0) } ?? DBusConnection.system()
        } catch {
            throw BlueZError(error)
        }
        let session = BusSession(connection: connection)
        do {
            // BlueZ's signals (notifications above all) are applied on the bus thread as they are
            // read: no task is woken per signal, only whoever waits for what a signal completes.
            let cache = session.cache
            _ = try await connection.onSignals(
                matching: MatchRule(sender: bluezName), timeout: .seconds(5),
                ended: { cache.close(.busUnavailable("connection to the system bus lost")) },
                handler: { cache.receive($0) })
            let owners = try await connection.signals(matching: .nameOwnerChanged(bluezName), timeout: .seconds(5))
            session.start(owners: owners)
        } catch {
            connection.close()
            throw BlueZError(error)
        }
        await session.loadTree(expectedOwner: nil)
        return session
    }

    /// False once the bus connection is gone; the stack then replaces the session.
    var isAlive: Bool {
        if case .closed = cache.status { return false }
        return connection.isConnected
    }

    /// Closes the connection and waits for the signal tasks to end.
    func close() async {
        connection.close()
        cache.close(.busUnavailable("connection closed"))
        for task in tasks.withLock({ $0 }) { await task.value }
    }

    private func start(owners: AsyncStream<DBusSignal>) {
        let cache = self.cache
        let ownerTask = Task { [weak self] in
            for await signal in owners {
                guard let newOwner = try? signal.arguments.decode(String.self, at: 2) else { continue }
                if newOwner.isEmpty {
                    cache.ownerLost()
                } else {
                    cache.ownerAppeared(newOwner)
                    await self?.loadTree(expectedOwner: newOwner)
                }
            }
        }
        tasks.withLock { $0 = [ownerTask] }
    }

    /// Asks the current owner of `org.bluez` for its whole tree.
    private func loadTree(expectedOwner: String?) async {
        let owner: String
        do {
            owner = try await connection.call(
                destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus", method: "GetNameOwner",
                arguments: [.string(Self.bluezName)], timeout: .seconds(5)
            ).decode(String.self)
            guard expectedOwner == nil || expectedOwner == owner else { return }
            let objects = try await connection.call(
                destination: owner, path: .root, interface: BlueZInterface.objectManager,
                method: "GetManagedObjects", timeout: .seconds(10)
            ).decode([ObjectPath: InterfaceMap].self)
            cache.load(owner: owner, objects: objects)
        } catch DBusError.disconnected {
            cache.close(.busUnavailable("connection to the system bus lost"))
        } catch {
            // No owner, or it died or hung while answering: absent until NameOwnerChanged says otherwise.
            cache.ownerLost()
        }
    }

    /// Calls a BlueZ method with an explicit timeout; errors come back as `BlueZError`.
    func call(
        _ path: ObjectPath, _ interface: String, _ method: String, _ arguments: [DBusValue] = [],
        timeout: Duration
    ) async throws(BlueZError) -> [DBusValue] {
        do {
            return try await connection.call(
                destination: Self.bluezName, path: path, interface: interface, method: method,
                arguments: arguments, timeout: timeout)
        } catch {
            throw BlueZError(error)
        }
    }
}

/// Discovery sessions belong to the D-Bus connection, which all links share: the first user
/// starts discovery on an adapter, the last one stops it.
actor DiscoveryCoordinator {
    private struct Key: Hashable {
        let epoch: UInt64
        let adapter: ObjectPath
    }

    private var users: [Key: Int] = [:]

    /// Starts discovery with `filter` unless it already runs for this bluetoothd lifetime;
    /// returns that lifetime's epoch for `release`.
    func acquire(_ adapter: ObjectPath, filter: DiscoveryFilter, session: BusSession) async throws(BlueZError) -> UInt64 {
        let epoch = session.cache.epoch
        let key = Key(epoch: epoch, adapter: adapter)
        defer { if users[key] == 0 { users[key] = nil } }
        users[key, default: 0] += 1
        guard users[key] == 1 else { return epoch }
        do throws(BlueZError) {
            _ = try await session.call(
                adapter, BlueZInterface.adapter, "SetDiscoveryFilter", [filter.dbusValue], timeout: .seconds(5))
            _ = try await session.call(adapter, BlueZInterface.adapter, "StartDiscovery", timeout: .seconds(5))
        } catch .inProgress {
            // Already discovering for this connection: fine.
        } catch {
            users[key, default: 1] -= 1
            throw error
        }
        return epoch
    }

    /// Stops discovery when the last user is done.
    func release(_ adapter: ObjectPath, epoch: UInt64, session: BusSession) async {
        let key = Key(epoch: epoch, adapter: adapter)
        guard let count = users[key] else { return }
        if count > 1 {
            users[key] = count - 1
            return
        }
        users[key] = nil
        // A bluetoothd that restarted since has no session of ours to stop.
        guard session.cache.epoch == epoch else { return }
        _ = try? await session.call(adapter, BlueZInterface.adapter, "StopDiscovery", timeout: .seconds(5))
    }
}

/// What discovery looks for (`SetDiscoveryFilter`).
public struct DiscoveryFilter: Sendable, Hashable {
    /// `le`, `bredr` or `auto`.
    public var transport: String
    /// Only devices advertising one of these services; empty = all.
    public var uuids: [BluetoothUUID]

    public init(transport: String = "le", uuids: [BluetoothUUID] = []) {
        self.transport = transport
        self.uuids = uuids
    }

    var dbusValue: DBusValue {
        var entries: [String: DBusValue] = ["Transport": .string(transport)]
        if !uuids.isEmpty { entries["UUIDs"] = .strings(uuids.map(\.rawValue)) }
        return .vardict(entries)
    }
}
