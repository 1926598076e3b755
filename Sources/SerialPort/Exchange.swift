import Glibc

/// How long one exchange may take.
public struct ReadTiming: Sendable, Equatable {
    /// From the start of the exchange to the last byte accepted.
    public var deadline: Duration
    /// The longest silence allowed between two bytes once the reply has begun. Boards and
    /// USB-UART bridges deliver replies in pieces; too short a gap cuts frames in half.
    public var gap: Duration

    public init(deadline: Duration, gap: Duration) {
        self.deadline = deadline
        self.gap = gap
    }
}

/// What ended a read that received at least one byte.
public enum ReadEnd: Sendable, Equatable {
    /// The caller's completeness test accepted the bytes.
    case complete
    /// No byte arrived for longer than the gap timeout.
    case gap
    /// The overall deadline passed while bytes were still arriving.
    case deadline
}

/// The bytes of one reply and what ended it.
public struct Received: Sendable, Equatable {
    public let bytes: [UInt8]
    public let end: ReadEnd

    public init(bytes: [UInt8], end: ReadEnd) {
        self.bytes = bytes
        self.end = end
    }
}

extension SerialPort {
    /// Discards stale input, writes `request` whole, then reads until `isComplete` accepts the
    /// bytes, the gap timeout or the deadline ends the reply. Nothing at all before the deadline
    /// throws `.timeout`. Blocks the calling thread: use `exchange` from async code.
    public func exchangeBlocking(
        _ request: [UInt8], timing: ReadTiming, isComplete: ([UInt8]) -> Bool
    ) throws(SerialPortError) -> Received {
        let start = ContinuousClock.now
        let deadline = start + timing.deadline
        return try descriptor.withLock { (fd: inout Int32) throws(SerialPortError) -> Received in
            guard fd >= 0 else { throw .closed(path: path) }
            // Bytes left over from an earlier, abandoned reply would be taken for this one's.
            guard tcflush(fd, TCIFLUSH) == 0 else { throw .fromIO(errno, call: "tcflush", path: path) }
            try writeAll(request, to: fd, start: start, deadline: deadline)
            return try readReply(from: fd, timing: timing, deadline: deadline, isComplete: isComplete)
        }
    }

    /// `exchangeBlocking` on a thread of its own.
    public func exchange(
        _ request: [UInt8], timing: ReadTiming, isComplete: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws(SerialPortError) -> Received {
        let result = await onDedicatedThread {
            Result { () throws(SerialPortError) -> Received in
                try self.exchangeBlocking(request, timing: timing, isComplete: isComplete)
            }
        }
        return try result.get()
    }

    private func writeAll(
        _ bytes: [UInt8], to fd: Int32, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) throws(SerialPortError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
                continue
            }
            let code = errno
            guard written < 0, code == EAGAIN || code == EINTR else {
                throw .fromIO(written == 0 ? EIO : code, call: "write", path: path)
            }
            // The output buffer is full (a slow line): wait until it drains, within the deadline.
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout(path: path, after: start.duration(to: deadline)) }
            _ = try wait(fd, for: Int16(POLLOUT), upTo: remaining)
        }
    }

    private func readReply(
        from fd: Int32, timing: ReadTiming, deadline: ContinuousClock.Instant, isComplete: ([UInt8]) -> Bool
    ) throws(SerialPortError) -> Received {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let untilDeadline = ContinuousClock.now.duration(to: deadline)
            let gapBinds = !bytes.isEmpty && timing.gap < untilDeadline
            let limit = gapBinds ? timing.gap : untilDeadline
            guard limit > .zero, try wait(fd, for: Int16(POLLIN), upTo: limit) else {
                if bytes.isEmpty { throw .timeout(path: path, after: timing.deadline) }
                return Received(bytes: bytes, end: gapBinds ? .gap : .deadline)
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[..<count]
                if isComplete(bytes) { return Received(bytes: bytes, end: .complete) }
                continue
            }
            let code = errno
            if count < 0, code == EAGAIN || code == EINTR { continue }
            // With O_NONBLOCK an empty tty answers EAGAIN; 0 bytes means the line hung up.
            throw .fromIO(count == 0 ? EIO : code, call: "read", path: path)
        }
    }

    /// Waits in poll() for `events`; false when `limit` passed first. A hang-up or error with
    /// nothing left to read means the device is gone.
    private func wait(_ fd: Int32, for events: Int16, upTo limit: Duration) throws(SerialPortError) -> Bool {
        let end = ContinuousClock.now + limit
        var entry = pollfd(fd: fd, events: events, revents: 0)
        var result = poll(&entry, 1, Self.milliseconds(roundingUp: limit))
        while result < 0 && errno == EINTR {
            result = poll(&entry, 1, Self.milliseconds(roundingUp: ContinuousClock.now.duration(to: end)))
        }
        if result < 0 { throw .fromIO(errno, call: "poll", path: path) }
        guard result > 0 else { return false }
        if entry.revents & events != 0 { return true }
        if entry.revents & Int16(POLLNVAL) != 0 { throw .closed(path: path) }
        throw .gone(path: path)
    }

    /// Rounded up so a remaining 0.4 ms is not a 0 ms poll that spins until the deadline.
    static func milliseconds(roundingUp duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, millis))
    }
}
