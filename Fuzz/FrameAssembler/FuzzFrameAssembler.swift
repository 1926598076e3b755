// libFuzzer harness for the JBD protocol: FrameAssembler, Frame.parse and Reply decoders.
// Built and run by scripts/fuzz. A failed check calls `fatalError`, which libFuzzer
// reports as a crash and saves the input under .build-fuzz/artifacts/.
import JBD

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameAssembler(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    checkWholeInputParse(input)
    // The same bytes as one chunk, as 20-byte BLE notifications, and in uneven chunks.
    assemble(input, chunkSizes: [max(1, input.count)])
    assemble(input, chunkSizes: [20])
    assemble(input, chunkSizes: unevenChunkSizes(for: input))
    return 0
}

/// `Frame.parse` accepts exactly one frame; when it does, re-encoding gives the input back.
func checkWholeInputParse(_ input: [UInt8]) {
    guard let frame = try? Frame.parse(input) else { return }
    check(frame.bytes == input, "Frame.parse accepted bytes that do not re-encode to themselves")
    check(input.count == frame.payload.count + FrameConstants.overhead, "Frame.parse length mismatch")
    checkDecoding(frame)
}

/// Feeds `input` in chunks, draining the assembler after each, and checks that every frame
/// is real (its bytes occur in the input), every dropped byte is accounted for, and the
/// buffer never holds more than one incomplete frame.
func assemble(_ input: [UInt8], chunkSizes: [Int]) {
    var assembler = FrameAssembler()
    let limit = assembler.payloadLimit
    // Bytes the assembler has given up, as a frame or as dropped garbage.
    var consumed = 0
    var offset = 0
    var chunkIndex = 0
    while offset < input.count {
        let size = chunkSizes[chunkIndex % chunkSizes.count]
        chunkIndex += 1
        let end = min(input.count, offset + size)
        assembler.append(input[offset..<end])
        offset = end
        var steps = 0
        while let result = assembler.next() {
            steps += 1
            check(steps <= input.count + 1, "next() keeps returning results without consuming bytes")
            switch result {
            case let .success(frame):
                let bytes = frame.bytes
                check(frame.payload.count <= limit, "frame longer than the payload limit")
                check(contains(input, bytes), "assembled frame does not occur verbatim in the input")
                check((try? Frame.parse(bytes)) == frame, "assembled frame does not round-trip through Frame.parse")
                checkDecoding(frame)
                consumed += bytes.count
            case let .failure(error):
                _ = error.description
                switch error {
                case let .garbageSkipped(count):
                    check(count > 0, "garbageSkipped of zero bytes")
                    consumed += count
                case .frameTooLong, .badChecksum, .badEndByte:
                    consumed += 1  // only the false start byte is dropped
                case .badStartByte, .truncated, .trailingBytes:
                    fatalError("assembler reported a Frame.parse-only error: \(error)")
                }
            }
            check(consumed + assembler.bufferedByteCount == offset,
                  "bytes lost or invented: consumed \(consumed) + buffered \(assembler.bufferedByteCount) != appended \(offset)")
        }
        // Drained: what is left is the start of at most one frame that is not complete yet.
        check(assembler.bufferedByteCount < limit + FrameConstants.overhead,
              "buffer holds \(assembler.bufferedByteCount) bytes after draining")
        check(consumed + assembler.bufferedByteCount == offset, "bytes lost or invented after draining")
    }
}

/// Decoding either succeeds with every value inside its `Plausibility` bound or throws a DecodeError.
func checkDecoding(_ frame: Frame) {
    let reply: Reply
    do {
        reply = try Reply(decoding: frame)
    } catch {
        _ = error.description
        return
    }
    check(reply.register == frame.register, "reply names another register than its frame")
    switch reply {
    case let .basicInfo(info):
        checkPlausible(Plausibility.stateOfCharge, Double(info.stateOfChargePercent))
        checkPlausible(Plausibility.cellCount, Double(info.cellCount))
        checkPlausible(Plausibility.probeCount, Double(info.temperaturesCelsius.count))
        checkPlausible(Plausibility.packVoltage, info.voltageVolts)
        checkPlausible(Plausibility.current, info.currentAmperes)
        checkPlausible(Plausibility.capacity, info.remainingCapacityAmpereHours)
        checkPlausible(Plausibility.capacity, info.nominalCapacityAmpereHours)
        checkPlausible(Plausibility.chargeCycles, Double(info.chargeCycles))
        for celsius in info.temperaturesCelsius { checkPlausible(Plausibility.temperature, celsius) }
        check(info.temperaturesCelsius.count == Int(frame.payload[22]), "temperature count differs from the NTC count")
        check(info.balancingCells.allSatisfy { (1...32).contains($0) }, "balancing cell number out of range")
        check(info.balancingCells == info.balancingCells.sorted(), "balancing cells not in order")
        check(info.softwareVersion.utf8.count <= 5, "software version longer than two nibbles")
        if let date = info.manufactureDate {
            let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0)
            let days = date.month == 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].contains(date.month) ? 30 : 31
            check((1...12).contains(date.month) && (1...days).contains(date.day), "impossible manufacture date \(date)")
        }
        if let v11 = info.v11 {
            checkPlausible(Plausibility.humidity, Double(v11.humidityPercent))
            checkPlausible(Plausibility.capacity, v11.fullChargeCapacityAmpereHours)
            checkPlausible(Plausibility.capacity, v11.remainingCapacityAmpereHours)
            checkPlausible(Plausibility.balanceCurrent, v11.balanceCurrentAmperes)
        }
        _ = info.activeProtections.map(\.name)
        _ = info.v11?.activeAlarms.map(\.name)
    case let .cellVoltages(cells):
        check(cells.millivolts.count == frame.payload.count / 2, "cell count differs from the payload")
        checkPlausible(Plausibility.cellCount, Double(cells.millivolts.count))
        for volts in cells.volts { checkPlausible(Plausibility.cellVoltage, volts) }
    case let .hardwareVersion(model):
        check(model.utf8.count <= frame.payload.count, "model string longer than its payload")
        check(model.utf8.allSatisfy { (0x20...0x7E).contains($0) }, "model string has non-printable bytes")
    case let .protectionCounters(counters):
        check(counters.counts.count == ProtectionCounters.order.count, "missing protection counters")
        check((counters.systemRestarts != nil) == (frame.payload.count == 24), "system restarts present in the wrong form")
    case let .error(_, status):
        check(!status.isSuccess, "an error reply with status ok")
        _ = status.description
    }
}

/// Chunk sizes from 1 to 40 bytes, derived from the input so a crash reproduces.
func unevenChunkSizes(for input: [UInt8]) -> [Int] {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in input { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return (0..<16).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % 40) + 1
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { start in
        haystack[start..<(start + needle.count)].elementsEqual(needle)
    }
}

func checkPlausible(_ range: PlausibleRange, _ value: Double) {
    check(value.isFinite && range.contains(value), "implausible \(range.field) \(value) decoded")
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
