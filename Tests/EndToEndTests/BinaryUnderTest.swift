import Foundation
import TestSupport

/// The real `bms_exporter` executable, run as a user would run it.
enum BinaryUnderTest {
    /// `BMS_EXPORTER_BIN` when set, else the binary SwiftPM built beside the test bundle.
    static let url: URL = {
        if let path = ProcessInfo.processInfo.environment["BMS_EXPORTER_BIN"] {
            return URL(fileURLWithPath: path)
        }
        let testBundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBundle.deletingLastPathComponent().appendingPathComponent("bms_exporter")
    }()

    /// Runs the binary to completion with no stdin.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> FinishedProcess {
        try await FinishedProcess.run(url, arguments, environment: environment)
    }
}
