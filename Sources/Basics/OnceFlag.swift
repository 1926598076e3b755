import Synchronization

/// True for the first caller of `claim()` only: one report of a link loss, one reap of a child.
public final class OnceFlag: Sendable {
    private let done = Mutex(false)

    public init() {}

    public func claim() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
