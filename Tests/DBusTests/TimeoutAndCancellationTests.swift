import DBus
import Testing

extension DBusTests {
    @Suite struct TimeoutAndCancellation {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        @Test func aHandlerThatNeverRepliesTimesOutOnTheCallersDeadline() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let started = ContinuousClock.now
            await #expect(throws: DBusError.timeout) {
                try await EchoService.call("Never", from: client, timeout: .milliseconds(300))
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(300))
            #expect(elapsed < .seconds(5), "libdbus' 25 s default must not apply")
            // A timed-out call leaves the connection usable.
            #expect(try await EchoService.call("Echo", ["still here"], from: client) == ["still here"])
        }

        @Test func aCallWithADeadlineCenturiesAwayIsAnsweredLikeAnyOther() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            // The I/O thread polls while the call is outstanding; its wait in milliseconds
            // overflowed, and trapped, for deadlines more than 2^63 ms (292 million years) away.
            let farAway = Duration.seconds(Int64.max / 2)
            #expect(try await EchoService.call("Echo", ["far"], from: client, timeout: farAway) == ["far"])
            #expect(try await EchoService.call("Echo", [.uint32(2)], from: client) == [.uint32(2)])
        }

        @Test func cancellingTheTaskCancelsThePendingCall() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let pending = Task { try await EchoService.call("Never", from: client, timeout: .seconds(60)) }
            // Cancel only once the call has certainly reached the service.
            let received = try await next(of: service.calls)
            #expect(received.first?.member == "Never")
            let cancelled = ContinuousClock.now
            pending.cancel()
            await #expect(throws: CancellationError.self) { try await within { try await pending.value } }
            #expect(ContinuousClock.now - cancelled < .seconds(5))
            #expect(try await EchoService.call("Echo", [.uint32(1)], from: client) == [.uint32(1)])
        }

        @Test func aCallFromAnAlreadyCancelledTaskThrowsCancellation() async throws {
            let client = try DBusConnection(address: bus.address)
            defer { client.close() }
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.callBus("ListNames")
            }
            await #expect(throws: CancellationError.self) { try await task.value }
        }
    }
}
