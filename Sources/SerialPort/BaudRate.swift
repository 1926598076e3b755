import Glibc

/// A line speed the Linux terminal driver supports, with its `speed_t` constant.
public struct BaudRate: Sendable, Equatable, CustomStringConvertible {
    /// JBD boards ship at 9600 baud.
    public static let standard = BaudRate(bitsPerSecond: 9600, speed: speed_t(B9600))

    public let bitsPerSecond: Int
    let speed: speed_t

    /// Refuses any rate without a termios constant: the driver would otherwise keep the old
    /// speed silently and every frame would arrive as noise.
    public init(_ bitsPerSecond: Int) throws(SerialPortError) {
        guard let speed = Self.table.first(where: { $0.0 == bitsPerSecond })?.1 else {
            throw .invalidBaud(bitsPerSecond)
        }
        self.init(bitsPerSecond: bitsPerSecond, speed: speed)
    }

    private init(bitsPerSecond: Int, speed: speed_t) {
        self.bitsPerSecond = bitsPerSecond
        self.speed = speed
    }

    public var description: String { "\(bitsPerSecond)" }

    /// Every accepted rate, ascending.
    public static var supported: [Int] { table.map(\.0) }

    private static let table: [(Int, speed_t)] = [
        (50, speed_t(B50)), (75, speed_t(B75)), (110, speed_t(B110)), (134, speed_t(B134)),
        (150, speed_t(B150)), (200, speed_t(B200)), (300, speed_t(B300)), (600, speed_t(B600)),
        (1200, speed_t(B1200)), (1800, speed_t(B1800)), (2400, speed_t(B2400)), (4800, speed_t(B4800)),
        (9600, speed_t(B9600)), (19200, speed_t(B19200)), (38400, speed_t(B38400)),
        (57600, speed_t(B57600)), (115200, speed_t(B115200)), (230400, speed_t(B230400)),
        (460800, speed_t(B460800)), (500000, speed_t(B500000)), (576000, speed_t(B576000)),
        (921600, speed_t(B921600)), (1000000, speed_t(B1000000)), (1152000, speed_t(B1152000)),
        (1500000, speed_t(B1500000)), (2000000, speed_t(B2000000)), (2500000, speed_t(B2500000)),
        (3000000, speed_t(B3000000)), (3500000, speed_t(B3500000)), (4000000, speed_t(B4000000)),
    ]
}
