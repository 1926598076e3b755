@testable import BMSConfig
import Testing

/// What YAMLReader refuses before Yams composes anything (anchors, aliases, complex keys, deep
/// nesting, oversized documents), judged from the parser's events, and what it must not refuse.
@Suite struct YAMLSafetyTests {
    static let battery = "batteries:\n  - name: house\n    address: A4:C1:38:12:34:56\n"
    static let reader = YAMLReader(source: "c.yml")

    static func refusal(_ text: String) -> ConfigError? {
        BMSConfigTests.refusal { () throws(ConfigError) in try reader.compose(text) }
    }

    /// Anchors and aliases nested `levels` deep, ending in a mapping key built from them, which
    /// Yams hashes node by node. Every line starts with a plain scalar holding a `'` after a
    /// `-`, which a character scan took for an opening quote that hid the rest of the line.
    static func aliasBomb(levels: Int) -> String {
        var lines = ["l0: [x-'y, &a0 [k, k]]"]
        for level in 1..<levels {
            lines.append("l\(level): [x-'y, &a\(level) [*a\(level - 1), *a\(level - 1)]]")
        }
        lines.append("top: {x-'y, [*a\(levels - 1), *a\(levels - 1)]: v}")
        return lines.joined(separator: "\n") + "\n" + battery
    }

    @Test func anchorBehindAnUnbalancedQuoteInAFlowScalarIsRefused() throws {
        let text = "a: [x-'y, &a [1, 1]]\nb: [x-'y, *a]\n" + Self.battery
        let error = try #require(Self.refusal(text))
        #expect(error.line == 1)
        #expect(error.message.contains("anchors and aliases"))
        #expect(throws: error) { try ConfigFile.parse(text, source: "c.yml", defaults: .standard) }
    }

    @Test(arguments: [24, 40])
    func nestedAliasesAreRefusedBeforeYamsComposesThem(levels: Int) throws {
        // Composing the 24-level file took Yams 14.5 s and the 40-level one did not end: that this
        // test returns at all shows the refusal comes from the event pass, before any composing.
        let error = try #require(Self.refusal(Self.aliasBomb(levels: levels)))
        #expect(error.line == 1)
        #expect(error.message.contains("anchors and aliases"))
    }

    @Test func everyAnchorAndAliasIsFoundOnItsOwnLine() {
        let text = "a: 1\nb: !!str &x text\nc: |\n  &y *z in a block scalar\nd: [1, *x]\n"
        #expect(YAMLShapeCheck.findings(in: text) == [
            .init(refusal: .anchorOrAlias, line: 2), .init(refusal: .anchorOrAlias, line: 5),
        ])
    }

    @Test(arguments: [
        ("a: 1\n? [x]\n: 2\n", 2),
        ("a: 1\nb: {[x, y]: 2}\n", 2),
        ("batteries:\n  - {x: 1}: 2\n", 2),
        ("? {x: 1}\n: 2\n", 1),
    ] as [(String, Int)])
    func complexKeysAreRefusedHoweverWritten(text: String, line: Int) throws {
        let error = try #require(Self.refusal(text))
        #expect(error.line == line)
        #expect(error.message.contains("complex mapping keys"))
    }

    @Test func scalarKeysWrittenExplicitlyAreFine() throws {
        let text = "? batteries\n:\n  - ? name\n    : house\n    address: A4:C1:38:12:34:56\n"
        #expect(try ConfigFile.parse(text, source: "c.yml", defaults: .standard).map(\.name) == ["house"])
    }

    @Test func nestingIsCappedAtItsDocumentedDepth() throws {
        func nested(_ depth: Int) -> String {
            // The top-level mapping is the first level.
            "a: " + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "\n"
        }
        #expect(Self.refusal(nested(YAMLShapeCheck.maximumDepth)) == nil)
        let error = try #require(Self.refusal(nested(YAMLShapeCheck.maximumDepth + 1)))
        #expect(error.message.contains("nested more than 16 levels"))
        #expect(error.line == 1)
        let deep = "a:\n" + String(repeating: "[", count: 20000) + String(repeating: "]", count: 20000) + "\n"
        #expect(Self.refusal(deep)?.line == 2)
    }

    @Test func documentSizeIsCapped() throws {
        let limit = YAMLShapeCheck.maximumDocumentBytes
        let comment = "#" + String(repeating: "x", count: limit - 2) + "\n"
        #expect(comment.utf8.count == limit)
        #expect(Self.refusal(comment) == nil)
        let error = try #require(Self.refusal(comment + " "))
        #expect(error.message == "65537 bytes is more than a config file may hold (64 KiB)")
        #expect(error.line == nil)
    }

    @Test func ampersandAndAsteriskInPlainValuesAreText() throws {
        let text = "batteries:\n  - name: House & Garage\n    address: A4:C1:38:12:34:56\n"
        #expect(try ConfigFile.parse(text, source: "c.yml", defaults: .standard).map(\.name) == ["House & Garage"])
    }

    /// A header value of the web config, read through the same reader.
    @Test func contentSecurityPolicyWithQuotesAndWildcardIsText() throws {
        let text = "http_server_config:\n  headers:\n    Content-Security-Policy: default-src 'self' *.example.com\n"
        let reader = Self.reader
        let root = try #require(try reader.compose(text))
        let server = try #require(try reader.mapping(root, what: "the top level", allowed: nil)["http_server_config"])
        let headers = try #require(try reader.mapping(server.value, what: "a section", allowed: nil)["headers"])
        let policy = try #require(try reader.mapping(headers.value, what: "headers", allowed: nil)["Content-Security-Policy"])
        #expect(try reader.string(policy, key: "Content-Security-Policy") == "default-src 'self' *.example.com")
    }

    @Test func syntaxErrorsAreStillReportedByYamsWithTheirLine() throws {
        let error = try #require(Self.refusal("a: 1\nb: [x, y\nc: 2\n"))
        #expect(error.message.hasPrefix("YAML syntax error"))
        #expect(error.line != nil)
    }

    @Test func emptyDocumentComposesToNothing() throws {
        #expect(try Self.reader.compose("") == nil)
        #expect(try Self.reader.compose("# only a comment\n") == nil)
    }
}
