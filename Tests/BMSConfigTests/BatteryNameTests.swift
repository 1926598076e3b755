@testable import BMSConfig
import Testing

/// A battery name goes into every label value and onto the landing page: characters that are
/// invisible, reorder text or break lines are refused at start-up, naming the line.
@Suite struct BatteryNameTests {
    /// C0 and C1 controls, line and paragraph separators, bidi embeddings, overrides and
    /// isolates, zero-width space, non-joiner and joiner, the byte-order mark, the soft hyphen.
    static let refused: [UInt32] = [
        0x00, 0x09, 0x1B, 0x7F, 0x85, 0x9B, 0x2028, 0x2029,
        0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
        0x200B, 0x200C, 0x200D, 0xFEFF, 0x00AD,
    ]

    @Test(arguments: refused)
    func controlAndFormatCharactersAreRefused(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let name = "house" + String(Character(scalar)) + "1"
        let problem = try #require(ConfigValidation.nameProblem(name), "U+\(String(value, radix: 16)) accepted")
        #expect(problem.contains(ConfigValidation.codePoint(scalar)))
    }

    @Test(arguments: ["House & Garage", "Küche", "Ünterwegs 2", "家の電池", "🔋 van", "e\u{301}té", "a-b_c.d (1)"])
    func visibleNamesAreAccepted(name: String) {
        #expect(ConfigValidation.nameProblem(name) == nil)
    }

    @Test func problemNamesTheCodePoint() {
        #expect(ConfigValidation.nameProblem("evil\u{202E}cba") ==
            "contains U+202E, a control or formatting character; use visible characters only")
        #expect(ConfigValidation.codePoint("\u{9}") == "U+0009")
        #expect(ConfigValidation.codePoint("\u{FEFF}") == "U+FEFF")
    }

    @Test(arguments: [("\\u202E", "U+202E"), ("\\L", "U+2028"), ("\\u200B", "U+200B"), ("\\uFEFF", "U+FEFF")])
    func configFileRefusesTheNameOnItsLine(escape: String, codePoint: String) throws {
        let yaml = """
        batteries:
          - name: house
            address: A4:C1:38:12:34:56
          - name: "garage\(escape)"
            address: A4:C1:38:12:34:57
        """
        let error = try #require(configRefusal(yaml))
        #expect(error.source == "c.yml" && error.line == 4 && error.message.contains("battery name contains \(codePoint)"), "\(error)")
    }
}
