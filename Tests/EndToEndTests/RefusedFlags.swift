import Testing

/// The check every command's bad-flag tests share: the binary refuses the flags as a usage error.
enum RefusedFlags {
    /// A bus nobody listens on: a refusal must come before anything is connected to.
    static let noBus = ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"]

    /// Runs `bms_exporter arguments…` and expects exit 2 with `problem` named on stderr and, for
    /// a command whose stdout carries results (`quietStdout`), nothing printed there.
    static func expect(
        _ arguments: [String], naming problem: String, quietStdout: Bool = true, environment: [String: String] = noBus,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let output = try await BinaryUnderTest.run(arguments, environment: environment)
        #expect(output.status == 2, sourceLocation: sourceLocation)
        if quietStdout { #expect(output.stdout.isEmpty, sourceLocation: sourceLocation) }
        #expect(output.stderr.contains(problem), "stderr: \(output.stderr)", sourceLocation: sourceLocation)
    }
}
