import JBD
import TestSupport
import Testing

@Suite struct FrameAssemblerTests {
    static let liontronBasicInfo = bytesFromHex("dd03001b052800001bb22aef0002290a00000000000025410304020b740b6bfc3977")
    static let liontronCells = bytesFromHex("dd0400080ce50ce30ce50ce8fc3377")

    @Test(arguments: FrameFixture.validReplies)
    func everySplitPositionReassemblesTheIdenticalFrame(fixture: FrameFixture) {
        let bytes = fixture.bytes
        for split in 0...bytes.count {
            var assembler = FrameAssembler()
            let events = assembler.events(feeding: [Array(bytes[..<split]), Array(bytes[split...])])
            #expect(events.count == 1, "split at \(split)")
            #expect(events.first?.frame?.bytes == bytes, "split at \(split)")
            #expect(assembler.bufferedByteCount == 0)
        }
    }

    @Test(arguments: FrameFixture.validReplies)
    func randomChunkSizesReassembleTheIdenticalFrame(fixture: FrameFixture) {
        var random = SeededRandom(seed: 0x5EED_0001)
        for _ in 0..<200 {
            let stream = fixture.bytes + fixture.bytes
            var assembler = FrameAssembler()
            let frames = assembler.events(feeding: randomChunks(of: stream, using: &random)).compactMap(\.frame)
            #expect(frames.map(\.bytes) == [fixture.bytes, fixture.bytes])
        }
    }

    @Test func oneByteAtATimeAndTwoFramesInOneChunk() {
        var single = FrameAssembler()
        let oneByOne = single.events(feeding: Self.liontronBasicInfo.map { [$0] })
        #expect(oneByOne.compactMap(\.frame).map(\.bytes) == [Self.liontronBasicInfo])

        var joined = FrameAssembler()
        let both = joined.events(feeding: [Self.liontronBasicInfo + Self.liontronCells])
        #expect(both.compactMap(\.frame).map(\.bytes) == [Self.liontronBasicInfo, Self.liontronCells])
    }

    @Test func notificationSizedChunksAsBLEDeliversThem() {
        var assembler = FrameAssembler()
        let chunks = notificationChunks(Self.liontronBasicInfo)
        #expect(chunks.map(\.count) == [20, 14])
        let events = assembler.events(feeding: chunks)
        #expect(events.map(\.frame?.bytes) == [Self.liontronBasicInfo])
    }

    @Test func dataByte0x77BeforeTheEndDoesNotCutTheFrame() throws {
        // Pack voltage 0x0577 = 13.99 V and a cell of 0x0D77 mV: 0x77 appears twice inside the data.
        var payload = bytesFromHex("057700001bb22aef0002290a0000000000002541030402")
        payload += bytesFromHex("0b740b77")
        let frameBytes = Frame(register: 0x03, status: 0, payload: payload).bytes
        #expect(frameBytes.dropLast().contains(0x77))
        var assembler = FrameAssembler()
        let events = assembler.events(feeding: [Array(frameBytes.prefix(6)), Array(frameBytes.dropFirst(6))])
        let frame = try #require(events.first?.frame)
        #expect(events.count == 1)
        guard case let .basicInfo(info) = try Reply(decoding: frame) else { Issue.record("not basic info"); return }
        #expect(info.voltageVolts == 13.99)
        #expect(info.temperaturesCelsius == [20.1, 20.4])
    }

    @Test func badChecksumIsReportedAndTheNextFrameStillArrives() {
        var corrupt = Self.liontronBasicInfo
        corrupt[10] ^= 0x01
        var assembler = FrameAssembler()
        let events = assembler.events(feeding: [corrupt + Self.liontronCells])
        #expect(events.first == .failure(.badChecksum(expected: 0xFC38, received: 0xFC39)))
        #expect(events.compactMap(\.frame).map(\.bytes) == [Self.liontronCells])
    }

    @Test func badEndByteIsReportedAndTheNextFrameStillArrives() {
        var corrupt = Self.liontronCells
        corrupt[corrupt.count - 1] = 0x78
        var assembler = FrameAssembler()
        let events = assembler.events(feeding: [corrupt, Self.liontronBasicInfo])
        #expect(events.first == .failure(.badEndByte(0x78)))
        #expect(events.compactMap(\.frame).map(\.bytes) == [Self.liontronBasicInfo])
    }

    @Test func garbageBeforeAFrameIsSkippedAndCounted() {
        var assembler = FrameAssembler()
        let events = assembler.events(feeding: [[0x00, 0x12, 0x77], Self.liontronCells])
        #expect(events.first == .failure(.garbageSkipped(byteCount: 3)))
        #expect(events.compactMap(\.frame).map(\.bytes) == [Self.liontronCells])
    }

    @Test func implausibleLengthIsReportedAtOnceInsteadOfWaitedFor() {
        var assembler = FrameAssembler(payloadLimit: 64)
        let events = assembler.events(feeding: [[0xDD, 0x03, 0x00, 0xF0], Self.liontronCells])
        #expect(events.first == .failure(.frameTooLong(declaredLength: 0xF0, limit: 64)))
        #expect(events.compactMap(\.frame).map(\.bytes) == [Self.liontronCells])
    }

    @Test func resetDropsAPartialFrame() {
        var assembler = FrameAssembler()
        assembler.append(Self.liontronBasicInfo.prefix(20))
        #expect(assembler.next() == nil)
        assembler.reset()
        #expect(assembler.bufferedByteCount == 0)
        let events = assembler.events(feeding: [Self.liontronCells])
        #expect(events.map(\.frame?.bytes) == [Self.liontronCells])
    }

    @Test func garbageAroundFramesNeverYieldsABadFrameNorLosesAGoodOne() {
        var random = SeededRandom(seed: 0x5EED_0002)
        let valid = FrameFixture.validReplies.map(\.bytes)
        for round in 0..<2_000 {
            var stream: [UInt8] = []
            var expected: [[UInt8]] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                stream += random.bytes(Int.random(in: 0...40, using: &random))
                let frame = valid.randomElement(using: &random)!
                stream += frame
                expected.append(frame)
            }
            stream += random.bytes(Int.random(in: 0...40, using: &random))
            var assembler = FrameAssembler()
            let frames = assembler.events(feeding: randomChunks(of: stream, using: &random)).compactMap(\.frame)
            // A frame is re-encoded with a freshly computed checksum, so it appears verbatim in
            // the stream only if the checksum it arrived with was right.
            for frame in frames {
                #expect(contains(stream, frame.bytes), "round \(round): \(frame)")
            }
            // Garbage may by chance form a valid frame of its own, but every real frame must arrive, in order.
            #expect(isSubsequence(expected, of: frames.map(\.bytes)), "round \(round)")
        }
    }

    @Test func randomBytesNeverCrashTheAssemblerOrTheDecoders() {
        var random = SeededRandom(seed: 0x5EED_0003)
        var assembler = FrameAssembler()
        for _ in 0..<20_000 {
            // Bias towards the start byte and small lengths so that many candidate frames form.
            var chunk = random.bytes(Int.random(in: 1...24, using: &random))
            if Bool.random(using: &random) { chunk[0] = 0xDD }
            assembler.append(chunk)
            while let event = assembler.next() {
                if case let .success(frame) = event { _ = try? Reply(decoding: frame) }
            }
        }
        // Random payloads of random length behind a forged frame must decode or fail cleanly.
        for length in 0...255 {
            for register in [UInt8(0x03), 0x04, 0x05, 0xAA] {
                _ = try? Reply(decoding: Frame(register: register, status: 0, payload: random.bytes(length)))
            }
        }
        #expect(assembler.bufferedByteCount <= FrameAssembler.defaultPayloadLimit + 7)
    }
}

private func randomChunks(of bytes: [UInt8], using random: inout SeededRandom) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var index = 0
    while index < bytes.count {
        let size = Int.random(in: 1...21, using: &random)
        chunks.append(Array(bytes[index..<min(index + size, bytes.count)]))
        index += size
    }
    return chunks
}

private func contains(_ stream: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= stream.count else { return false }
    return (0...(stream.count - needle.count)).contains { stream[$0..<($0 + needle.count)].elementsEqual(needle) }
}

private func isSubsequence(_ needles: [[UInt8]], of haystack: [[UInt8]]) -> Bool {
    var remaining = needles[...]
    for item in haystack where item == remaining.first { remaining = remaining.dropFirst() }
    return remaining.isEmpty
}
