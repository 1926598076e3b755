import Foundation

/// A child process run to completion: its exit status and everything it printed.
public struct FinishedProcess: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    /// Runs `executable` to completion on a thread of its own, so the wait does not hold one of
    /// the cooperative pool's two threads (see `offCooperativePool`). `environment` is added to
    /// this process's own; `input` is written to the child's stdin, which is otherwise empty.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        directory: String? = nil, input: Data? = nil
    ) async throws -> FinishedProcess {
        try await offCooperativePool {
            try runBlocking(executable, arguments, environment: environment, directory: directory, input: input)
        }
    }

    /// As `run`, blocking the calling thread: for code already off the cooperative pool.
    public static func runBlocking(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        directory: String? = nil, input: Data? = nil
    ) throws -> FinishedProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let (stdin, stdout, stderr) = try ProcessLaunch.serialized {
            let pipes = (input.map { _ in Pipe() }, Pipe(), Pipe())
            process.standardInput = pipes.0 ?? FileHandle.nullDevice
            process.standardOutput = pipes.1
            process.standardError = pipes.2
            try process.run()
            return pipes
        }
        // Drain stderr on another thread and write stdin before reading stdout to its end,
        // so a chatty or slow-reading child cannot deadlock on a full pipe.
        let errorData = offThreadRead(stderr.fileHandleForReading)
        if let stdin, let input {
            let writer = stdin.fileHandleForWriting
            try? writer.write(contentsOf: input)
            try? writer.close()
        }
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        // Foundation learns of the exit through the run loop of the launching thread: this one.
        process.waitUntilExit()
        return FinishedProcess(
            status: process.terminationStatus,
            stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData(), as: UTF8.self)
        )
    }

    /// Starts reading `handle` to its end on a new thread; the returned function waits for the bytes.
    private static func offThreadRead(_ handle: FileHandle) -> () -> Data {
        let box = DataBox()
        Thread.detachNewThread { box.finish(handle.readDataToEndOfFile()) }
        return { box.wait() }
    }
}

private final class DataBox: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    func finish(_ data: Data) {
        self.data = data
        done.signal()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// Every child this test process starts with Foundation's `Process` is started under one lock,
/// from creating its pipes to `run()` returning (which closes the parent's copies of the child's
/// ends). Foundation's pipes are not close-on-exec: a child launched on one thread while another
/// thread holds a fresh pipe inherits that pipe's write end, and whoever reads the pipe to end
/// of file then waits for as long as the wrong child lives. (`ChildProcess` closes inherited
/// descriptors in the child itself, so it does not need the lock.)
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func serialized<T>(_ launch: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try launch()
    }
}
