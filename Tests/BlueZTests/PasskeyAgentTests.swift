@testable import BlueZ
import DBus
import Testing

@Suite struct PasskeyAgentTests {
    static func call(_ member: String, _ arguments: [DBusValue] = []) -> DBusMethodCall {
        DBusMethodCall(sender: ":1.1", path: "/io/bmsexporter/agent1", interface: "org.bluez.Agent1", member: member, arguments: arguments)
    }

    @Test func answersThePasskeyRequestAndRemembersItWasAsked() {
        let agent = PasskeyAgent(passkey: 12345)
        #expect(agent.asked.withLock { $0 } == false)
        #expect(agent.answer(Self.call("RequestPasskey", [.objectPath("/org/bluez/hci0/dev_A4")])) == .values([.uint32(12345)]))
        #expect(agent.asked.withLock { $0 })
        // Legacy PIN entry gets the same six digits, leading zero kept.
        #expect(agent.answer(Self.call("RequestPinCode", [.objectPath("/org/bluez/hci0/dev_A4")])) == .values([.string("012345")]))
    }

    @Test func refusesEverythingElseAnAgentCouldBeAsked() {
        let agent = PasskeyAgent(passkey: 123456)
        for member in ["RequestConfirmation", "RequestAuthorization", "AuthorizeService"] {
            guard case .error(let name, _) = agent.answer(Self.call(member)) else {
                Issue.record("\(member) was not refused")
                continue
            }
            #expect(name == "org.bluez.Error.Rejected")
        }
        #expect(agent.answer(Self.call("Cancel")) == .values([]))
        #expect(agent.answer(Self.call("Release")) == .values([]))
        #expect(agent.asked.withLock { $0 } == false)
    }
}
