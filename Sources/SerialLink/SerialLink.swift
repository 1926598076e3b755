import Basics
import BatterySession
import JBD
import SerialPort
import Synchronization

/// A `BMSLink` over a serial line: a JBD board's UART header on a USB-UART cable, or its RS485
/// port on an RS485 adapter.
///
/// ```swift
/// let link = SerialLink(path: "/dev/serial/by-id/usb-FTDI_…-if00-port0", replyWindow: .seconds(1))
/// ```
///
/// `connect` opens the path anew each time, so an adapter that was unplugged and plugged back,
/// even under another ttyUSB number behind a by-id name, is found again. `send` flushes stale
/// input, writes the request and reads the reply on a thread of its own; the bytes go to the
/// session's inbox, whose frame assembler, request timeout and retry decide what they mean,
/// exactly as over Bluetooth. Serial lines say nothing while idle, so a vanished adapter shows
/// at the next exchange (EIO, ENXIO or a hang-up), which reports the link lost.
public final class SerialLink: BMSLink {
    /// JBD boards and USB-UART bridges deliver a reply in pieces; 50 ms between bytes cut
    /// frames in half for other tools, 150–500 ms did not.
    public static let defaultGap = Duration.milliseconds(300)

    private struct Connection {
        let id: UInt64
        let port: SerialPort
        let receive: @Sendable ([UInt8]) -> Void
        let linkLost: @Sendable (String) -> Void
        /// Claimed once per connection: by the first loss report or by our own disconnect.
        let lost: OnceFlag
    }

    private struct State {
        var connection: Connection?
        var nextID: UInt64 = 0
        /// The exchange in flight: the next request waits for it, so requests never overlap.
        var exchange: Task<Void, Never>?
    }

    public let path: String
    public let baud: BaudRate
    private let timing: ReadTiming
    private let state = Mutex(State())

    /// `replyWindow` bounds one exchange, from writing the request to the last byte read: make
    /// it the session's request timeout, so the line is free again when the retry comes.
    public init(path: String, baud: BaudRate = .standard, replyWindow: Duration, gap: Duration = SerialLink.defaultGap) {
        self.path = path
        self.baud = baud
        timing = ReadTiming(deadline: replyWindow, gap: gap)
    }

    public func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void,
        linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        await disconnect()
        let port: SerialPort
        do throws(SerialPortError) {
            port = try await SerialPort.open(path: path, baud: baud)
        } catch {
            throw Self.failure(error)
        }
        state.withLock { state in
            state.nextID += 1
            state.connection = Connection(
                id: state.nextID, port: port, receive: receive, linkLost: linkLost, lost: OnceFlag())
        }
    }

    public func send(_ request: ReadRequest) async throws(LinkError) {
        let (isOpen, previous) = state.withLock { ($0.connection != nil, $0.exchange) }
        guard isOpen else { throw .linkLost("serial device \(path) is not open") }
        await previous?.value
        let (connection, task) = state.withLock { state -> (Connection?, Task<Void, Never>?) in
            guard let connection = state.connection else { return (nil, nil) }
            let timing = self.timing
            let task = Task { await Self.exchange(request, on: connection, timing: timing, link: self) }
            state.exchange = task
            return (connection, task)
        }
        guard connection != nil, task != nil else { throw .linkLost("serial device \(path) was closed") }
    }

    public func disconnect() async {
        let (connection, exchange) = state.withLock { state in
            defer {
                state.connection = nil
                state.exchange = nil
            }
            return (state.connection, state.exchange)
        }
        guard let connection else { return }
        // Our own disconnect is not a link loss.
        _ = connection.lost.claim()
        await exchange?.value
        await connection.port.close()
    }

    /// A serial line has no signal strength.
    public func signalStrength() async -> Int? { nil }

    /// One request and its reply, off the cooperative pool. Silence is left to the inbox's
    /// timeout; only a line that failed is reported, once, and closed so `connect` reopens it.
    private static func exchange(_ request: ReadRequest, on connection: Connection, timing: ReadTiming, link: SerialLink) async {
        let reply = ReplyBytes(request: request.bytes)
        let register = request.register.rawValue
        do throws(SerialPortError) {
            let received = try await connection.port.exchange(request.bytes, timing: timing) {
                reply.isComplete($0, register: register)
            }
            if let bytes = reply.withoutEcho(received.bytes), !bytes.isEmpty { connection.receive(bytes) }
        } catch .timeout {
            return
        } catch {
            await link.lose(connection, because: error)
        }
    }

    private func lose(_ connection: Connection, because error: SerialPortError) async {
        let current = state.withLock { state -> Bool in
            guard state.connection?.id == connection.id else { return false }
            state.connection = nil
            state.exchange = nil
            return true
        }
        guard connection.lost.claim() else { return }
        connection.linkLost(error.description)
        // A disconnect that raced us closes the port itself; close() on a tty can wait for output to drain.
        if current { await connection.port.close() }
    }

    /// The one place a serial error becomes a `LinkError`.
    static func failure(_ error: SerialPortError) -> LinkError {
        switch error {
        case .notFound:
            .deviceNotFound(error.description)
        case .gone, .closed:
            .linkLost(error.description)
        case .timeout:
            .timeout(error.description)
        case .permissionDenied, .busy, .notATerminal, .invalidBaud, .system:
            .connectRefused(error.description)
        }
    }
}
