import DBus
import Testing

extension DBusTests {
    @Suite struct BusDaemon {
        let bus: TestBus

        init() throws {
            bus = try TestBus()
        }

        @Test func listNamesIncludesTheBusAndOurselves() async throws {
            let connection = try DBusConnection(address: bus.address)
            defer { connection.close() }
            #expect(connection.uniqueName.hasPrefix(":"))
            let names = try await connection.callBus("ListNames").decode([String].self)
            #expect(names.contains("org.freedesktop.DBus"))
            #expect(names.contains(connection.uniqueName))
        }

        @Test func getNameOwnerOfAMissingNameThrowsTheDBusError() async throws {
            let connection = try DBusConnection(address: bus.address)
            defer { connection.close() }
            let error = await #expect(throws: DBusError.self) {
                try await connection.callBus("GetNameOwner", ["org.example.Nobody"])
            }
            #expect(error?.errorName == "org.freedesktop.DBus.Error.NameHasNoOwner")
            guard case .errorReply(_, let message) = error else { Issue.record("not an error reply"); return }
            #expect(message.contains("org.example.Nobody"))
        }

        @Test func invalidArgumentsAreRejectedBeforeLibdbusSeesThem() async throws {
            let connection = try DBusConnection(address: bus.address)
            defer { connection.close() }
            let invalidCalls: [(ObjectPath, String, [DBusValue])] = [
                ("not/a/path", "ListNames", []),
                ("/org/freedesktop/DBus", "Bad Member", []),
                ("/org/freedesktop/DBus", "ListNames", [.objectPath("/trailing/")]),
                ("/org/freedesktop/DBus", "ListNames", [.array(elementSignature: "s", [.int32(1)])]),
                ("/org/freedesktop/DBus", "ListNames", [.dictionary(keySignature: "as", valueSignature: "v", [])]),
                ("/org/freedesktop/DBus", "ListNames", [.string("nul\u{0}inside")]),
                ("/org/freedesktop/DBus", "ListNames", [.structure([])]),
            ]
            for (path, method, arguments) in invalidCalls {
                await #expect {
                    try await connection.call(
                        destination: "org.freedesktop.DBus", path: path, interface: "org.freedesktop.DBus",
                        method: method, arguments: arguments, timeout: .seconds(5))
                } throws: { error in
                    guard case .invalidArgument = error as? DBusError else { return false }
                    return true
                }
            }
            // The connection survives its callers' mistakes.
            #expect(try await connection.callBus("ListNames").decode([String].self).contains(connection.uniqueName))
        }

        @Test func connectingToAMissingBusThrows() {
            #expect {
                try DBusConnection(address: "unix:path=/nonexistent/dbus-tests-socket")
            } throws: { error in
                guard case .connectionFailed(let name, _) = error as? DBusError else { return false }
                return name.hasPrefix("org.freedesktop.DBus.Error.")
            }
        }

        @Test func requestNameFailsWhileAnotherConnectionOwnsIt() async throws {
            let first = try DBusConnection(address: bus.address)
            defer { first.close() }
            let second = try DBusConnection(address: bus.address)
            defer { second.close() }
            try await first.requestName("org.example.Owned")
            try await first.requestName("org.example.Owned")  // already the owner: fine
            await #expect(throws: NameNotAcquired(name: "org.example.Owned")) {
                try await second.requestName("org.example.Owned")
            }
            let owner = try await second.callBus("GetNameOwner", ["org.example.Owned"]).decode(String.self)
            #expect(owner == first.uniqueName)
        }
    }
}
