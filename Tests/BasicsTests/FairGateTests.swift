import Basics
import Testing

/// The one-at-a-time queue that connects and turns go through (`Basics.FairGate`).
@Suite struct FairGateTests {
    /// Holders enter in the order they arrived, and never more than the capacity at once.
    @Test func admitsInArrivalOrderAndNeverMoreThanCapacity() async throws {
        let gate = FairGate(capacity: 1)
        let recorder = Recorder()
        try await gate.enter()  // held, so every task below queues
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<8 {
            tasks.append(Task {
                try await gate.withTurn {
                    await recorder.enter(index)
                    await Task.yield()
                    await recorder.leave()
                }
            })
            // Each task is queued before the next starts: arrival order is the index.
            while gate.statistics.waiting < index + 1 { await Task.yield() }
        }
        gate.leave()
        for task in tasks { try await task.value }
        #expect(await recorder.order == Array(0..<8))
        #expect(await recorder.most == 1)
        let statistics = gate.statistics
        #expect(statistics.turns == 9)
        #expect(statistics.waiting == 0)
        #expect(statistics.waitSeconds > 0)
    }

    @Test func capacityTwoLetsTwoThrough() async throws {
        let gate = FairGate(capacity: 2)
        try await gate.enter()
        try await gate.enter()
        let third = Task { try await gate.enter() }
        while gate.statistics.waiting < 1 { await Task.yield() }
        gate.leave()
        _ = try await third.value
        #expect(gate.statistics.waiting == 0)
        gate.leave()
        gate.leave()
        // Free again: an enter does not wait.
        let free = try await gate.enter()
        #expect(free == .zero)
    }

    /// A caller cancelled while queued leaves the queue holding nothing; the next one still gets its turn.
    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let gate = FairGate()
        try await gate.enter()
        let cancelled = Task { try await gate.enter() }
        while gate.statistics.waiting < 1 { await Task.yield() }
        let next = Task { try await gate.enter() }
        while gate.statistics.waiting < 2 { await Task.yield() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(gate.statistics.waiting == 1)
        gate.leave()
        _ = try await next.value
        gate.leave()
        let free = try await gate.enter()
        #expect(free == .zero)
    }

    @Test func alreadyCancelledTaskDoesNotEnter() async throws {
        let gate = FairGate()
        try await gate.enter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await gate.enter()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(gate.statistics.waiting == 0)
    }
}

/// Who went through the gate, in order, and how many were inside at once.
private actor Recorder {
    var order: [Int] = []
    var inside = 0
    var most = 0

    func enter(_ index: Int) {
        order.append(index)
        inside += 1
        most = max(most, inside)
    }

    func leave() {
        inside -= 1
    }
}
