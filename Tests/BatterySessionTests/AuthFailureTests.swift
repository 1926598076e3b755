@testable import BatterySession
import JBD
import Testing

@Suite struct AuthFailureTests {
    @Test func anEchoedRequestFailsAtOnceAsAuthWithTheRemedy() async {
        let link = ScriptedLink()
        link.script(.basicInfo, .echo, .echo, .echo)
        let started = ContinuousClock.now
        await #expect {
            _ = try await OneShotRead.read(link: link, connectTimeout: .seconds(1), requestTimeout: .seconds(5), attempts: 3)
        } throws: { error in
            guard let failure = error as? PollFailure else { return false }
            return failure.reason == .auth && failure.message.contains("bms_exporter pair --address")
        }
        // No wait for the request timeout, and no retry: an echo never turns into a reply.
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(link.state.withLock { $0.sent.count } == 1)
    }

    @Test func theAddressPlaceholderIsFilledIn() {
        let failure = PollFailure(.auth, "run `pair --address <address>` for <address>").naming(address: "A4:C1:38:00:00:01")
        #expect(failure.message == "run `pair --address A4:C1:38:00:00:01` for A4:C1:38:00:00:01")
        #expect(failure.reason == .auth)
    }

    @Test func linkAuthenticationErrorsAreReasonAuth() {
        #expect(PollFailure(LinkError.authentication("ATT error: 0x0e")).reason == .auth)
        #expect(FailureReason.allCases.contains(.auth))
        #expect(FailureReason.auth.rawValue == "auth")
    }

    @Test func aPasswordFileNeedsSixPrintableCharactersAndNeverShowsThem() throws {
        let unlock = try ModuleUnlock(passwordFileText: "Ab3$x9\n", address: "10:A5:62:32:75:36")
        #expect(!"\(unlock)".contains("Ab3$x9"))
        #expect(throws: ModuleUnlockProblem.self) { try ModuleUnlock(passwordFileText: "secret12\n", address: "10:A5:62:32:75:36") }
        do {
            _ = try ModuleUnlock(passwordFileText: "toolongsecret", address: "10:A5:62:32:75:36")
        } catch {
            #expect(!error.description.contains("toolongsecret"))
            #expect(error.description.contains("13 character(s)"))
        }
    }
}
