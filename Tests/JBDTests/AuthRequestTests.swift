import JBD
import Testing

@Suite struct AuthRequestTests {
    @Test func appKeyAndChallengeFrames() {
        #expect(AuthRequest.appKey.bytes == [0xFF, 0xAA, 0x15, 0x06, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x3B])
        #expect(AuthRequest.challenge.bytes == [0xFF, 0xAA, 0x17, 0x00, 0x17])
    }

    /// The two check vectors from vendor-app captures.
    @Test(arguments: [
        ("10:A5:62:32:75:36", "123456", UInt8(0x24), [0xFF, 0xAA, 0x18, 0x06, 0x45, 0xBB, 0x75, 0x2A, 0x64, 0x24, 0x45] as [UInt8]),
        ("A4:C1:37:04:2D:BE", "123123", UInt8(0x37), [0xFF, 0xAA, 0x18, 0x06, 0xCC, 0x2A, 0x3B, 0x6C, 0x56, 0xC4, 0xD5]),
    ])
    func passwordFrameMatchesCaptures(mac: String, password: String, challenge: UInt8, expected: [UInt8]) throws {
        let address = try #require(MACBytes(text: mac))
        let secret = try #require(ModulePassword(password))
        #expect(AuthRequest.password(secret, macAddress: address, challenge: challenge).bytes == expected)
    }

    @Test func passwordsMustBeSixPrintableCharacters() {
        #expect(ModulePassword("12345") == nil)
        #expect(ModulePassword("1234567") == nil)
        #expect(ModulePassword("12 456") == nil)
        #expect(ModulePassword("12345é") == nil)
        #expect(ModulePassword("abc!23") != nil)
    }

    @Test func passwordNeverShowsInText() throws {
        let secret = try #require(ModulePassword("s3cr3t"))
        #expect(!"\(secret)".contains("s3cr3t"))
        #expect(!String(reflecting: secret).contains("s3cr3t"))
    }

    @Test func scannerFindsRepliesAmongOtherBytesAndSplitChunks() {
        var scanner = AuthReplyScanner()
        scanner.append([0x00, 0xFF, 0xAA, 0x15])
        #expect(scanner.next() == nil)
        scanner.append([0x01, 0x00, 0x16, 0xFF, 0xAA, 0x17, 0x01, 0x24, 0x3C])
        #expect(scanner.next() == .passwordRequired)
        #expect(scanner.next() == .challenge(0x24))
        scanner.append([0xFF, 0xAA, 0x18, 0x01, 0x01, 0x1A, 0xFF, 0xAA, 0x15, 0x01, 0x02, 0x18])
        #expect(scanner.next() == .passwordRejected)
        #expect(scanner.next() == .noPasswordSet)
        #expect(scanner.next() == nil)
    }

    @Test func scannerSkipsABadChecksum() {
        var scanner = AuthReplyScanner()
        scanner.append([0xFF, 0xAA, 0x18, 0x01, 0x00, 0x18, 0xFF, 0xAA, 0x18, 0x01, 0x00, 0x19])
        #expect(scanner.next() == .passwordAccepted)
        #expect(scanner.next() == nil)
    }
}
