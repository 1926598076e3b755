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
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutput {
        try await runToCompletion(executable: url, arguments: arguments, environment: environment)
    }
}

struct ProcessOutput {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `executable` to completion with no stdin; `environment` is added to this process's own.
/// Runs on the caller's thread, for the reason `ExporterServer.start` gives.
func runToCompletion(
    executable: URL, arguments: [String], environment: [String: String] = [:], directory: String? = nil
) async throws -> ProcessOutput {
    try runBlocking(executable: executable, arguments: arguments, environment: environment, directory: directory)
}

private func runBlocking(
    executable: URL, arguments: [String], environment: [String: String], directory: String?
) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
    let errorData = ThreadedReader(stderr.fileHandleForReading)
    let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus,
        stdout: String(decoding: outputData, as: UTF8.self),
        stderr: String(decoding: errorData.wait(), as: UTF8.self)
    )
}

/// Drains a pipe on its own thread.
private final class ThreadedReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
