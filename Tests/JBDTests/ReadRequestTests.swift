import JBD
import Testing

/// The read-only guarantee: the request type can produce the four allowed frames and nothing else.
@Suite struct ReadRequestTests {
    /// The allow-list from the protocol notes, written out by hand on purpose.
    static let allowList: Set<[UInt8]> = [
        [0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77],
        [0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77],
        [0xDD, 0xA5, 0x05, 0x00, 0xFF, 0xFB, 0x77],
        [0xDD, 0xA5, 0xAA, 0x00, 0xFF, 0x56, 0x77],
    ]

    @Test func everyProducibleRequestIsExactlyTheAllowList() {
        // `Register` is the request's only input, so enumerating it enumerates every request.
        let producible = Set(Register.allCases.map { ReadRequest($0).bytes })
        #expect(producible == Self.allowList)
        #expect(Set(ReadRequest.all.map(\.bytes)) == Self.allowList)
        #expect(ReadRequest.all.count == Self.allowList.count)
    }

    @Test func noRegisterCanBeMadeFromAnotherByte() {
        let accepted = (0...255).compactMap { Register(rawValue: UInt8($0)) }
        #expect(accepted.map(\.rawValue) == [0x03, 0x04, 0x05, 0xAA])
    }

    @Test(arguments: FrameFixture.all.filter(\.isRequest))
    func requestFixturesMatchTheRequestType(fixture: FrameFixture) {
        #expect(ReadRequest.all.contains { $0.bytes == fixture.bytes })
    }
}
