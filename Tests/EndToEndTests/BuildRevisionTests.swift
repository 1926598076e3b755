import Foundation
import TestSupport
import Testing

/// The binary names the version in VERSION and the commit it was built from, in `--version`
/// and in `build_info`.
@Suite struct BuildRevisionTests {
    /// The top-level VERSION file, the one place the version is written.
    static func expectedVersion() throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../VERSION").standardized
        return try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What the BuildRevision plugin should have stamped, asked of git independently.
    static func expectedRevision() async throws -> String {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../..").standardized.path
        // Through env, like the plugin's shell: git from PATH, and "unknown" when there is none.
        let env = URL(fileURLWithPath: "/usr/bin/env")
        let head = try await FinishedProcess.run(env, ["git", "-C", checkout, "rev-parse", "--short=12", "HEAD"])
        guard head.status == 0 else { return "unknown" }
        let revision = head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let diff = try await FinishedProcess.run(env, ["git", "-C", checkout, "diff", "--quiet", "HEAD", "--"])
        return diff.status == 0 ? revision : revision + "-dirty"
    }

    @Test func versionAndBuildInfoNameTheCommit() async throws {
        let revision = try await Self.expectedRevision()
        let expectedVersion = try Self.expectedVersion()
        let version = try await BinaryUnderTest.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("\(expectedVersion) (revision \(revision), Swift "), "\(version.stdout)")

        let server = try await ServerProcess.start(["--simulate"])
        defer { server.stop() }
        let body = try await server.scrape { $0.contains("bms_exporter_build_info{") }
        let buildInfo = body.split(separator: "\n").filter { $0.contains("build_info") }
        #expect(body.contains(#"revision="\#(revision)""#), "\(buildInfo)")
        #expect(body.contains(#"bms_exporter_build_info{version="\#(expectedVersion)""#), "\(buildInfo)")
    }
}
