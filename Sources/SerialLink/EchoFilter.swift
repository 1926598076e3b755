import JBD

/// What an exchange on a serial line brought back, seen from the request that caused it.
///
/// RS485 adapters hear their own transmission: the request's bytes come back before the
/// board's reply. They arrive first because the board cannot answer before it has heard the
/// whole request, so only a leading copy is removed; anything else is left to the frame
/// assembler, which skips noise and counts corrupt frames.
struct ReplyBytes {
    let request: [UInt8]

    /// `received` without a leading echo of the request; nil while the bytes so far could
    /// still be the start of that echo.
    func withoutEcho(_ received: [UInt8]) -> [UInt8]? {
        if received.starts(with: request) { return Array(received.dropFirst(request.count)) }
        if request.starts(with: received) { return nil }
        return received
    }

    /// Whether `received` holds a whole valid frame for `register`: then the reply is complete
    /// and the line need not be watched until the gap timeout.
    func isComplete(_ received: [UInt8], register: UInt8) -> Bool {
        guard let reply = withoutEcho(received) else { return false }
        var assembler = FrameAssembler()
        assembler.append(reply)
        while let event = assembler.next() {
            if case let .success(frame) = event, frame.register == register { return true }
        }
        return false
    }
}
