import Glibc
import Synchronization

/// One open serial line, raw 8N1, held exclusively by this process until `close()`.
///
/// Every call that can block (`exchange`, `close`) has an async form that runs it on a thread
/// of its own (see `onDedicatedThread`), so a slow or silent board never holds one of the few
/// threads of Swift's cooperative pool.
public final class SerialPort: Sendable {
    public let path: String
    public let baud: BaudRate
    /// -1 once closed. The lock is held for a whole exchange: a line carries one request at a
    /// time, so a second caller waits rather than interleaving its frame with ours.
    let descriptor: Mutex<Int32>

    /// Opens `path` (a device node or a symlink to one, such as /dev/serial/by-id/…).
    /// Never blocks for long: O_NONBLOCK keeps open() from waiting for a carrier.
    public init(path: String, baud: BaudRate = .standard) throws(SerialPortError) {
        self.path = path
        self.baud = baud
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Self.openError(errno, path: path) }
        do {
            try Self.claim(fd, path: path)
            try Self.configure(fd, baud: baud, path: path)
        } catch {
            Glibc.close(fd)
            throw error
        }
        descriptor = Mutex(fd)
    }

    deinit {
        descriptor.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
        }
    }

    /// Releases the line (and its lock). Waits for an exchange in progress; later calls fail
    /// with `.closed`. Safe to call twice.
    public func closeBlocking() {
        descriptor.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }

    /// `closeBlocking()` off the cooperative pool.
    public func close() async {
        await onDedicatedThread { self.closeBlocking() }
    }

    /// Two guards, because each misses a case: TIOCEXCL refuses later open() calls of other
    /// non-root processes but not root's; the advisory lock is seen by every process that
    /// asks for it (a second exporter, a second `read`), root included.
    private static func claim(_ fd: Int32, path: String) throws(SerialPortError) {
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            throw code == EWOULDBLOCK ? .busy(path: path) : .system(path: path, call: "flock", errno: code)
        }
        if ioctl(fd, UInt(TIOCEXCL)) != 0 {
            let code = errno
            throw code == ENOTTY ? .notATerminal(path: path) : .system(path: path, call: "ioctl(TIOCEXCL)", errno: code)
        }
    }

    /// Raw 8N1: no echo, no line editing, no CR/LF translation, no flow control, and reads
    /// that never wait in the driver (VMIN = VTIME = 0) because `poll` does the waiting.
    private static func configure(_ fd: Int32, baud: BaudRate, path: String) throws(SerialPortError) {
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else {
            let code = errno
            throw code == ENOTTY ? .notATerminal(path: path) : .system(path: path, call: "tcgetattr", errno: code)
        }
        cfmakeraw(&settings)
        settings.c_cflag &= ~(tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        settings.c_cflag |= tcflag_t(CS8) | tcflag_t(CREAD) | tcflag_t(CLOCAL)
        settings.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY))
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard cfsetispeed(&settings, baud.speed) == 0, cfsetospeed(&settings, baud.speed) == 0 else {
            throw .invalidBaud(baud.bitsPerSecond)
        }
        guard tcsetattr(fd, TCSANOW, &settings) == 0 else {
            throw .system(path: path, call: "tcsetattr", errno: errno)
        }
    }

    private static func openError(_ code: Int32, path: String) -> SerialPortError {
        switch code {
        case ENOENT, ENOTDIR: .notFound(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        case EBUSY: .busy(path: path)
        case ENXIO, ENODEV, EIO: .gone(path: path)
        default: .system(path: path, call: "open", errno: code)
        }
    }
}
