import Glibc

// Why a new thread per blocking call rather than one long-lived thread per port: calls come
// seconds apart (a poll cycle), starting a thread costs tens of microseconds, and a thread that
// ends with its call has no queue, wake-up or shutdown to get wrong when a port is closed or
// dropped. Making the API async over a poll loop on a thread we own would serve many ports
// per thread, which a handful of batteries does not need. Either way, poll() and a blocked
// write never run on Swift's cooperative pool, whose few threads every other battery needs.

/// Runs `work` on a new detached thread and suspends, without blocking, until it returns.
func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        let job = Unmanaged.passRetained(Job { continuation.resume(returning: work()) })
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let job = Unmanaged<Job>.fromOpaque(context!).takeRetainedValue()
            job.run()
            return nil
        }, job.toOpaque())
        if started == 0 {
            pthread_detach(thread)
        } else {
            // Out of threads: running inline is slower for the pool but never loses the call.
            job.takeRetainedValue().run()
        }
    }
}

private final class Job: @unchecked Sendable {
    // Immutable after init and run exactly once, by the one thread that owns the reference.
    let run: () -> Void

    init(_ run: @escaping () -> Void) { self.run = run }
}
