import DBus
import Foundation
import TestSupport

struct DeadlinePassed: Error {}

/// Runs `operation`, failing with `DeadlinePassed` if it has not finished within `limit`.
func within<T: Sendable>(
    _ limit: Duration = .seconds(10), _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlinePassed() }
        return value
    }
}

/// The next `count` elements of `stream`, under a deadline; fewer if the stream finishes.
func next<Element: Sendable>(
    _ count: Int = 1, of stream: AsyncStream<Element>, within limit: Duration = .seconds(10)
) async throws -> [Element] {
    try await within(limit) {
        var iterator = stream.makeAsyncIterator()
        var elements: [Element] = []
        while elements.count < count, let element = await iterator.next() { elements.append(element) }
        return elements
    }
}

extension DBusConnection {
    /// A call to the bus daemon itself.
    func callBus(_ method: String, _ arguments: [DBusValue] = [], interface: String = "org.freedesktop.DBus")
        async throws -> [DBusValue]
    {
        try await call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: interface,
            method: method, arguments: arguments, timeout: .seconds(5))
    }

    /// The match rules the bus holds for this connection (the daemon's Debug.Stats interface).
    func matchRulesOnBus() async throws -> [String] {
        let all = try await callBus("GetAllMatchRules", interface: "org.freedesktop.DBus.Debug.Stats")
            .decode([String: [String]].self)
        return all[uniqueName] ?? []
    }
}

/// A service exported with the library's own server side: `Echo` returns its arguments,
/// `Fail` answers a BlueZ-style error, `Never` never answers. Every call is also reported on `calls`.
struct EchoService {
    static let name = "org.example.Echo"
    static let path: ObjectPath = "/org/example/Echo"
    static let interface = "org.example.Echo"

    let connection: DBusConnection
    let calls: AsyncStream<DBusMethodCall>

    static func start(on bus: TestBus) async throws -> EchoService {
        let connection = try DBusConnection(address: bus.address)
        let (calls, reporter) = AsyncStream<DBusMethodCall>.makeStream()
        connection.export(path) { call in
            reporter.yield(call)
            switch call.member {
            case "Echo": return .values(call.arguments)
            case "Fail": return .error(name: "org.bluez.Error.Failed", message: "le-connection-abort-by-local")
            case "Never": return .noReply
            default: return .error(name: "org.freedesktop.DBus.Error.UnknownMethod", message: call.member)
            }
        }
        try await connection.requestName(name)
        return EchoService(connection: connection, calls: calls)
    }

    /// Calls `method` on the service from `client`.
    static func call(
        _ method: String, _ arguments: [DBusValue] = [], from client: DBusConnection,
        timeout: Duration = .seconds(5)
    ) async throws -> [DBusValue] {
        try await client.call(
            destination: name, path: path, interface: interface, method: method, arguments: arguments,
            timeout: timeout)
    }
}

/// How many threads of this process are connection I/O threads.
func ioThreadCount() -> Int {
    (ProcessStats.entries(.threads) ?? []).filter { task in
        let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == "dbus-io"
    }.count
}

/// Only tests own well-known names (the exporter and a pairing agent need none), so the
/// RequestName call lives here rather than in the DBus target.
struct NameNotAcquired: Error, Equatable {
    let name: String
}

extension DBusConnection {
    /// Asks the bus for `name`; throws `NameNotAcquired` if another connection owns it.
    func requestName(_ name: String, timeout: Duration = .seconds(25)) async throws {
        let doNotQueue: UInt32 = 4
        let reply = try await call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            method: "RequestName", arguments: [.string(name), .uint32(doNotQueue)], timeout: timeout)
        let primaryOwner: UInt32 = 1
        let alreadyOwner: UInt32 = 4
        let code = try reply.decode(UInt32.self)
        guard code == primaryOwner || code == alreadyOwner else { throw NameNotAcquired(name: name) }
    }
}
