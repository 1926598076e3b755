import Foundation

// Swift's cooperative thread pool has one thread per core: two on CI. A test that blocks one
// of them (waiting for a child process, a semaphore, poll()) stalls the async work of every
// other test in the process, which then misses its deadlines: CI once saw each Bluetooth test
// need 8 s just to get going, and a poller test see no poll for 10 s. Blocking work goes to a
// thread of its own instead; children are launched under `ProcessLaunch`'s lock.

/// Runs blocking `work` on a new thread and suspends, not blocks, until it is done.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

/// Runs blocking `work` on a new thread and suspends, not blocks, until it is done.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
