@_spi(Testing) import DBus
import Foundation
import Testing

/// The name of the calling thread, as /proc shows it.
private func currentThreadName() -> String {
    let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
    return name.trimmingCharacters(in: .whitespacesAndNewlines)
}

extension DBusTests {
    /// Handlers, answers and deadlines that run on the connection's I/O thread, so that no task
    /// is woken until there is something for it.
    @Suite struct IOThreadDelivery {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        @Test func signalHandlersRunOnTheIOThreadInArrivalOrder() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            defer { subscriber.close() }
            let emitter = try DBusConnection(address: bus.address)
            defer { emitter.close() }
            let (received, sink) = AsyncStream<(UInt32, String)>.makeStream()
            let subscription = try await subscriber.onSignals(
                matching: MatchRule(path: "/org/example/Tick", interface: "org.example.Tick", member: "Tick")
            ) { signal in
                if let value = try? signal.arguments.decode(UInt32.self) { sink.yield((value, currentThreadName())) }
            }
            for value in UInt32(0)..<5 {
                try await emitter.emitSignal(
                    path: "/org/example/Tick", interface: "org.example.Tick", member: "Tick", arguments: [.uint32(value)])
            }
            let got = try await next(5, of: received)
            #expect(got.map(\.0) == [0, 1, 2, 3, 4])
            #expect(Set(got.map(\.1)) == ["dbus-io"])

            // Cancelling removes the match rule: the bus handles our messages in order.
            subscription.cancel()
            #expect(try await subscriber.matchRulesOnBus() == [])
        }

        @Test func aSignalHandlersEndRunsOnceWhenTheConnectionCloses() async throws {
            let subscriber = try DBusConnection(address: bus.address)
            let (ended, sink) = AsyncStream<Void>.makeStream()
            _ = try await subscriber.onSignals(
                matching: MatchRule(interface: "org.example.Nothing"), ended: { sink.yield() }, handler: { _ in })
            subscriber.close()
            sink.finish()  // close() joined the I/O thread: every end that will run has run
            #expect(try await next(2, of: ended).count == 1)
        }

        @Test func aScheduledActionRunsOnTheIOThreadAndACancelledOneNever() async throws {
            let connection = try DBusConnection(address: bus.address)
            defer { connection.close() }
            let (fired, sink) = AsyncStream<(String, String)>.makeStream()
            let start = ContinuousClock.now
            let cancelled = connection.schedule(at: start + .milliseconds(50)) { sink.yield(("cancelled", currentThreadName())) }
            _ = connection.schedule(at: start + .milliseconds(150)) { sink.yield(("kept", currentThreadName())) }
            cancelled.cancel()
            let first = try await next(of: fired)
            #expect(first.map(\.0) == ["kept"])
            #expect(first.map(\.1) == ["dbus-io"])
            #expect(ContinuousClock.now >= start + .milliseconds(150))
        }

        @Test func closingRunsPendingActionsAtOnceAndLaterOnesRightAway() async throws {
            let connection = try DBusConnection(address: bus.address)
            let (fired, sink) = AsyncStream<String>.makeStream()
            _ = connection.schedule(at: .now + .seconds(3600)) { sink.yield("pending") }
            connection.close()
            _ = connection.schedule(at: .now + .seconds(3600)) { sink.yield("after close") }
            #expect(try await next(2, of: fired) == ["pending", "after close"])
        }

        @Test func sentCallsAnswerTheirCompletionOnceOnTheIOThread() async throws {
            let service = try await EchoService.start(on: bus)
            defer { service.connection.close() }
            let client = try DBusConnection(address: bus.address)
            let (answers, sink) = AsyncStream<(String, Result<[DBusValue], DBusError>, String)>.makeStream()
            func send(_ label: String, _ method: String, timeout: Duration) {
                client.send(
                    destination: EchoService.name, path: EchoService.path, interface: EchoService.interface,
                    method: method, arguments: [.string(label)], timeout: timeout
                ) { sink.yield((label, $0, currentThreadName())) }
            }
            send("echo", "Echo", timeout: .seconds(5))
            send("fail", "Fail", timeout: .seconds(5))
            send("never", "Never", timeout: .milliseconds(300))
            let got = try await next(3, of: answers)
            #expect(got.count == 3)
            for (label, result, thread) in got {
                #expect(thread == "dbus-io")
                switch label {
                case "echo": #expect(result == .success([.string("echo")]))
                case "fail":
                    #expect(result == .failure(.errorReply(name: "org.bluez.Error.Failed", message: "le-connection-abort-by-local")))
                default: #expect(result == .failure(.timeout))
                }
            }
            client.close()
            send("closed", "Echo", timeout: .seconds(5))
            let late = try await next(of: answers)
            #expect(late.map(\.1) == [.failure(.disconnected)])
        }
    }
}
