import Glibc

/// A blocking TCP connection to 127.0.0.1 with send and receive timeouts: the one raw HTTP
/// client of the abuse tests and the benchmarks, which need bytes no HTTP library would send.
public final class RawConnection: @unchecked Sendable {
    private var fd: Int32

    public init?(port: Int, timeout: Double) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close()
            return nil
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// False once the peer has closed or reset the connection (or the send timed out).
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// True when the peer has hung up: a non-blocking read sees end-of-file or a reset.
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    public struct Answer: Sendable {
        public var head = ""
        public var body = ""
        public var closed = false
        public var timedOut = false

        public var status: Int? {
            let parts = head.split(separator: " ")
            return parts.count >= 2 && parts[0].hasPrefix("HTTP/") ? Int(parts[1]) : nil
        }

        public var summary: String {
            if let status { return "\(status)" }
            if timedOut { return "timed out" }
            return closed ? "closed" : "no answer"
        }
    }

    /// Connects, sends `bytes` (the server may hang up part-way), and reads the response
    /// head, or everything until the server closes when `readToEnd`.
    public static func exchange(port: Int, _ bytes: [UInt8], timeout: Double, readToEnd: Bool = false) -> Answer {
        var answer = Answer()
        guard let connection = RawConnection(port: port, timeout: timeout) else {
            answer.closed = true
            return answer
        }
        _ = connection.send(bytes)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(connection.fd, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
                if !readToEnd, received.count >= 4, received.firstRange(of: Array("\r\n\r\n".utf8)) != nil { break }
                continue
            }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { answer.closed = true }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { answer.timedOut = true }
            if count < 0, errno == EINTR { continue }
            break
        }
        let text = String(decoding: received, as: UTF8.self)
        let split = text.range(of: "\r\n\r\n")
        answer.head = String(text[..<(split?.lowerBound ?? text.endIndex)].prefix { $0 != "\r" && $0 != "\n" })
        answer.body = split.map { String(text[$0.upperBound...]) } ?? ""
        return answer
    }
}
