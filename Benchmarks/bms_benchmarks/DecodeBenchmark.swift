import JBD

/// Item 1: frame assembly and decoding of a 0x03 and a 0x04 reply, fed in 20-byte
/// notifications exactly as a link hands them to the reply inbox.
enum DecodeBenchmark {
    struct Result {
        /// Frames per second, one value per run.
        let framesPerSecond: Summary
        /// Nanoseconds per frame, one value per run.
        let nanosecondsPerFrame: Summary
        let frameBytes: (basicInfo: Int, cellVoltages: Int)
    }

    /// `runs` timed runs of `pairsPerRun` reply pairs each.
    static func run(runs: Int, pairsPerRun: Int) -> Result {
        let chunks = Fixtures.notifications(Fixtures.basicInfoFrame) + Fixtures.notifications(Fixtures.cellVoltagesFrame)
        var assembler = FrameAssembler()
        var checksum = 0
        // Warm-up: caches, allocator and branch predictors.
        for _ in 0..<(pairsPerRun / 4 + 1) { checksum &+= feed(chunks, into: &assembler) }
        let clock = ContinuousClock()
        var perFrame: [Double] = []
        perFrame.reserveCapacity(runs)
        for _ in 0..<runs {
            let start = clock.now
            for _ in 0..<pairsPerRun { checksum &+= feed(chunks, into: &assembler) }
            let elapsed = (clock.now - start).nanoseconds
            perFrame.append(elapsed / Double(2 * pairsPerRun))
        }
        precondition(checksum != 0)
        blackHole(checksum)
        return Result(
            framesPerSecond: Summary(perFrame.map { 1e9 / $0 }),
            nanosecondsPerFrame: Summary(perFrame),
            frameBytes: (Fixtures.basicInfoFrame.bytes.count, Fixtures.cellVoltagesFrame.bytes.count)
        )
    }

    /// One reply pair through the assembler and the decoders; returns a value derived from both.
    @inline(never)
    static func feed(_ chunks: [[UInt8]], into assembler: inout FrameAssembler) -> Int {
        var checksum = 0
        for chunk in chunks {
            assembler.append(chunk)
            while let event = assembler.next() {
                guard case let .success(frame) = event, let reply = try? Reply(decoding: frame) else {
                    fatalError("benchmark frames failed to assemble or decode")
                }
                switch reply {
                case let .basicInfo(info): checksum &+= info.cellCount &+ info.temperaturesCelsius.count
                case let .cellVoltages(cells): checksum &+= cells.millivolts[cells.millivolts.count - 1]
                default: fatalError("unexpected reply \(reply)")
                }
            }
        }
        return checksum
    }
}
