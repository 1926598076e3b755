/// Cuts reply frames out of a byte stream that arrives in arbitrary chunks.
///
/// BLE delivers a reply as notifications of at most 20 bytes, and a link may add stray
/// bytes or whole unsolicited frames. Frames are cut by their length byte, never at the
/// first `0x77`, because data bytes can be `0x77`. When a candidate frame fails
/// validation only its start byte is dropped, so a real frame hidden behind a false
/// start is still found: the assembler never loses sync for longer than one bad frame.
public struct FrameAssembler: Sendable {
    /// Data bytes a reply to one of our four requests can plausibly carry: 0x04 for 32
    /// cells is 64, 0x03 with eight probes and the V11 extension about 50.
    public static let defaultPayloadLimit = 128

    /// Larger length bytes are treated as corruption rather than waited for.
    public let payloadLimit: Int
    private var buffer: [UInt8] = []
    private var head = 0

    public init(payloadLimit: Int = FrameAssembler.defaultPayloadLimit) {
        self.payloadLimit = payloadLimit
        buffer.reserveCapacity(2 * (payloadLimit + FrameConstants.overhead))
    }

    /// Bytes held while waiting for the rest of a frame.
    public var bufferedByteCount: Int { buffer.count - head }

    /// Adds bytes as they arrived; call `next()` until it returns nil afterwards.
    public mutating func append<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        buffer.append(contentsOf: chunk)
    }

    /// Forgets everything buffered, e.g. after a request timed out.
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        head = 0
    }

    /// The next frame or problem found in the buffered bytes, or nil when more bytes are needed.
    public mutating func next() -> Result<Frame, FrameError>? {
        defer { compactIfWorthwhile() }
        guard head < buffer.count else { return nil }
        if buffer[head] != FrameConstants.start {
            let start = buffer[head...].firstIndex(of: FrameConstants.start) ?? buffer.count
            let skipped = start - head
            head = start
            return .failure(.garbageSkipped(byteCount: skipped))
        }
        guard bufferedByteCount >= FrameConstants.headerLength else { return nil }
        let length = Int(buffer[head + 3])
        guard length <= payloadLimit else {
            head += 1
            return .failure(.frameTooLong(declaredLength: length, limit: payloadLimit))
        }
        let frameLength = length + FrameConstants.overhead
        guard bufferedByteCount >= frameLength else { return skipToCompleteFrameBehindFalseStart() }
        do {
            let frame = try Frame.validate(buffer[head..<(head + frameLength)])
            head += frameLength
            return .success(frame)
        } catch {
            head += 1
            return .failure(error)
        }
    }

    /// A stray `DD` whose length byte runs past the buffer would otherwise hold back a real
    /// frame until later bytes (often the next reply) fill it up. When a complete, valid
    /// frame starts behind it, the stray start is garbage: skip to the real frame.
    private mutating func skipToCompleteFrameBehindFalseStart() -> Result<Frame, FrameError>? {
        var candidate = head + 1
        while let start = buffer[candidate...].firstIndex(of: FrameConstants.start) {
            candidate = start + 1
            guard buffer.count - start >= FrameConstants.headerLength else { return nil }
            let length = Int(buffer[start + 3])
            guard length <= payloadLimit, buffer.count - start >= length + FrameConstants.overhead else { continue }
            guard (try? Frame.validate(buffer[start..<(start + length + FrameConstants.overhead)])) != nil else { continue }
            let skipped = start - head
            head = start
            return .failure(.garbageSkipped(byteCount: skipped))
        }
        return nil
    }

    private mutating func compactIfWorthwhile() {
        if head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 512 {
            buffer.removeSubrange(0..<head)
            head = 0
        }
    }
}
