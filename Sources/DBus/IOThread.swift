import CDBus
import Glibc

/// A joinable POSIX thread; Foundation's `Thread` would cost resident memory for one call.
final class IOThread: Sendable {
    private let handle: Locked<pthread_t?>

    /// Starts `body` on a new thread called `name` (visible in /proc/…/task/*/comm).
    init(name: String, body: @escaping () -> Void) throws(DBusError) {
        final class Start {
            let name: String
            let body: () -> Void
            init(name: String, body: @escaping () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            cdbus_name_current_thread(start.name)
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw .connectionFailed(name: "pthread_create", message: "error \(result)")
        }
        handle = Locked(thread)
    }

    /// Waits for the thread to end; from the thread itself it detaches instead, which cannot deadlock.
    func join() {
        guard let thread = handle.withLock({ handle in
            defer { handle = nil }
            return handle
        }) else { return }
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
