@testable import BatterySession
import JBD
import Synchronization
import TestSupport

/// An in-process BMS for unit tests of the request/poll logic: it answers with real frames
/// and misbehaves on command. The Bluetooth path is covered against the fake BlueZ.
final class ScriptedLink: BMSLink {
    enum Behaviour: Sendable {
        case answer
        case silent
        case corrupt
        /// A frame carrying these cell voltages, with a broken checksum.
        case corruptCells([UInt16])
        case status(UInt8)
        /// Garbage, an unsolicited frame of another register, then the real answer.
        case noisyAnswer
        case dropLink
        /// The request's own bytes come back, as from an unpaired module that trusts nobody.
        case echo
        /// The answer, then the first half of `stray`; its second half arrives at the start of
        /// the next request's exchange, before that request's answer.
        case answerThenSplitStray(Frame)
        /// `stray` as its own notifications, then the real answer: a board (or a second client)
        /// sending a valid frame for this very register unasked.
        case strayThenAnswer(Frame)
    }

    struct State {
        var receive: (@Sendable ([UInt8]) -> Void)?
        var linkLost: (@Sendable (String) -> Void)?
        var script: [Register: [Behaviour]] = [:]
        var connects = 0
        var disconnects = 0
        var connectFailures: [LinkError] = []
        var sent: [ReadRequest] = []
        var cellMillivolts: [UInt16] = [3301, 3299, 3301, 3304]
        var basicInfoOverride: Frame?
        /// Bytes delivered when the next request is sent, before anything else.
        var pending: [UInt8] = []
    }

    let state = Mutex(State())

    /// Behaviours for the next requests of a register; afterwards it answers normally.
    func script(_ register: Register, _ behaviours: Behaviour...) {
        state.withLock { $0.script[register, default: []] += behaviours }
    }

    func connect(
        timeout: Duration, receive: @escaping @Sendable ([UInt8]) -> Void, linkLost: @escaping @Sendable (String) -> Void
    ) async throws(LinkError) {
        let failure: LinkError? = state.withLock { state in
            state.connects += 1
            if !state.connectFailures.isEmpty { return state.connectFailures.removeFirst() }
            state.receive = receive
            state.linkLost = linkLost
            return nil
        }
        if let failure { throw failure }
    }

    func send(_ request: ReadRequest) async throws(LinkError) {
        let (receive, linkLost, behaviour, cells, basicOverride, pending) = state.withLock { state in
            state.sent.append(request)
            let behaviour = state.script[request.register]?.isEmpty == false
                ? state.script[request.register]!.removeFirst() : .answer
            defer { state.pending = [] }
            return (state.receive, state.linkLost, behaviour, state.cellMillivolts, state.basicInfoOverride, state.pending)
        }
        guard let receive else { throw .linkLost("not connected") }
        if !pending.isEmpty { receive(pending) }
        let answer = (request.register == .basicInfo ? basicOverride : nil)
            ?? Self.frame(for: request.register, cells: cells)
        switch behaviour {
        case .answer: Self.deliver(answer.bytes, to: receive)
        case .silent: break
        case .corrupt:
            var bytes = answer.bytes
            bytes[5] ^= 0xFF
            Self.deliver(bytes, to: receive)
        case let .corruptCells(cells):
            var bytes = Self.frame(for: request.register, cells: cells).bytes
            bytes[bytes.count - 2] ^= 0x01
            Self.deliver(bytes, to: receive)
        case let .status(status): Self.deliver(ReplyEncoding.error(register: request.register.rawValue, status: status).bytes, to: receive)
        case .noisyAnswer:
            receive([0x00, 0x77, 0x13])
            Self.deliver(ReplyEncoding.hardwareVersion("STRAY").bytes, to: receive)
            Self.deliver(answer.bytes, to: receive)
        case .echo:
            Self.deliver(request.bytes, to: receive)
        case .dropLink:
            state.withLock { $0.receive = nil }
            linkLost?("peer went away")
        case let .answerThenSplitStray(stray):
            Self.deliver(answer.bytes, to: receive)
            let half = stray.bytes.count / 2
            receive(Array(stray.bytes[..<half]))
            state.withLock { $0.pending = Array(stray.bytes[half...]) }
        case let .strayThenAnswer(stray):
            Self.deliver(stray.bytes, to: receive)
            Self.deliver(answer.bytes, to: receive)
        }
    }

    func disconnect() async {
        state.withLock {
            $0.receive = nil
            $0.disconnects += 1
        }
    }

    func signalStrength() async -> Int? { -70 }

    static func deliver(_ bytes: [UInt8], to receive: @Sendable ([UInt8]) -> Void) {
        for chunk in notificationChunks(bytes) { receive(chunk) }
    }

    static func frame(for register: Register, cells: [UInt16]) -> Frame {
        switch register {
        case .basicInfo:
            return ReplyEncoding.basicInfo(.init(
                centivolts: 1320, centiamperes: -250, remainingCentiampereHours: 7090, nominalCentiampereHours: 10991,
                cycles: 2, manufactureDate: (2020, 8, 10), balancingCells: [], protectionStatus: 0, softwareVersion: 0x25,
                stateOfChargePercent: 65, chargeMosfet: true, dischargeMosfet: true, cellCount: UInt8(cells.count),
                deciKelvin: [2932, 2923]
            ))
        case .cellVoltages: return ReplyEncoding.cellVoltages(millivolts: cells)
        case .hardwareVersion: return ReplyEncoding.hardwareVersion("JBD-TEST")
        case .protectionCounters: return ReplyEncoding.protectionCounters([.shortCircuit: 1], systemRestarts: nil)
        }
    }
}
