@_spi(Testing) import DBus
import Foundation
import Testing
import TestSupport

extension DBusTests {
    @Suite struct Lifecycle {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        @Test func losingTheBusFailsCallsAndFinishesStreamsWithoutExiting() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let stream = try await client.signals(matching: MatchRule(interface: "org.example.Never"))
            let pending = Task { try await EchoService.call("Never", from: client, timeout: .seconds(60)) }
            _ = try await next(of: service.calls)

            bus.stop()

            await #expect(throws: DBusError.disconnected) { try await within { try await pending.value } }
            #expect(try await next(of: stream).isEmpty, "the stream finishes")
            await #expect(throws: DBusError.disconnected) { try await client.callBus("ListNames") }
            await #expect(throws: DBusError.disconnected) {
                try await client.emitSignal(path: "/", interface: "org.example.Never", member: "Late")
            }
            await #expect(throws: DBusError.disconnected) {
                try await client.signals(matching: MatchRule(interface: "org.example.Late"))
            }
            #expect(!client.isConnected)
        }

        @Test func closingFailsPendingCallsAndLaterOnes() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            let stream = try await client.signals(matching: MatchRule(interface: "org.example.Never"))
            let pending = Task { try await EchoService.call("Never", from: client, timeout: .seconds(60)) }
            _ = try await next(of: service.calls)

            client.close()

            await #expect(throws: DBusError.disconnected) { try await within { try await pending.value } }
            #expect(try await next(of: stream).isEmpty)
            await #expect(throws: DBusError.disconnected) { try await client.callBus("ListNames") }
            client.close()  // twice is harmless
        }

        @Test func systemHonoursTheSystemBusAddressVariable() async throws {
            let previous = getenv("DBUS_SYSTEM_BUS_ADDRESS").map { String(cString: $0) }
            setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address, 1)
            defer {
                if let previous { setenv("DBUS_SYSTEM_BUS_ADDRESS", previous, 1) } else { unsetenv("DBUS_SYSTEM_BUS_ADDRESS") }
            }
            let system = try DBusConnection.system()
            defer { system.close() }
            try await system.requestName("org.example.OnTheTestBus")
            let observer = try DBusConnection(address: bus.address)
            defer { observer.close() }
            let owner = try await observer.callBus("GetNameOwner", ["org.example.OnTheTestBus"]).decode(String.self)
            #expect(owner == system.uniqueName)
        }

        /// Each round leaks at least one thread and two descriptors if anything is left behind, so
        /// 32 rounds of a leaky path overshoot the slack by far. The slack exists because in the
        /// whole package's `swift test` other suites run beside this one and open their own.
        @Test(arguments: [Ending.close, .drop])
        func manyConnectionsAndCallsLeakNoThreadsOrDescriptors(ending: Ending) async throws {
            let rounds = 32
            let slack = 8
            func exercise(rounds: Int) async throws {
                for _ in 0..<rounds {
                    let connection = try DBusConnection(address: bus.address)
                    for _ in 0..<4 { _ = try await connection.callBus("ListNames") }
                    let stream = try await connection.signals(matching: MatchRule(interface: "org.example.Leak"))
                    _ = stream
                    switch ending {
                    case .close:
                        let pending = Task { try await connection.callBus("ListNames") }
                        connection.close()
                        _ = try? await pending.value
                    case .drop:
                        break  // deinit must release everything too
                    }
                }
            }
            try await exercise(rounds: 2)  // warm up the task pool and lazily opened runtime files
            let counts = { [ioThreadCount(), ProcessStats.count(.descriptors), ProcessStats.count(.threads)] }
            let before = counts()

            try await exercise(rounds: rounds)

            let extra = try await ProcessStats.lowestGrowth(over: before, slack: slack, of: counts)
            #expect(extra[0] <= slack, "dbus-io threads")
            #expect(extra[1] <= slack, "descriptors")
            #expect(extra[2] <= slack, "threads")
        }

        enum Ending: CustomStringConvertible {
            case close, drop
            var description: String { self == .close ? "closed" : "dropped" }
        }
    }
}
