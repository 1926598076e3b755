import Basics
import BlueZ
import TestSupport
import Synchronization
import Testing

let address1 = "A4:C1:38:00:00:01"
let basicInfoRequest: [UInt8] = [0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77]
/// The 0x03 reply the fake serves by default (the LIONTRON capture): 34 bytes.
let basicInfoReplyLength = 34
let jbdFilter = DiscoveryFilter(uuids: [BluetoothUUID("ff00"), BluetoothUUID("fff0")])
/// The deadline for steps a test expects to succeed. Generous on purpose: CI runs every suite at
/// once on two shared cores, where a D-Bus round trip that takes milliseconds has needed seconds.
/// Only the failure paths a test is about get tight deadlines.
let ample: Duration = .seconds(20)

/// A fake with one battery and a stack on its bus; both torn down by `close()`.
struct World {
    let fake: FakeBlueZ
    let stack: BluetoothStack

    static func start(battery: [String: Any] = [:], delays: [String: Int] = [:]) async throws -> World {
        let fake = try await FakeBlueZ.start(delays: FakeBlueZ.fastDelays.merging(delays) { $1 })
        try await fake.addBattery(["address": address1, "name": "xiaoxiang BMS"].merging(battery) { $1 })
        return World(fake: fake, stack: BluetoothStack(busAddress: fake.busAddress))
    }

    func close() async {
        await stack.close()
        #expect(fake.forbiddenWrites().isEmpty)
        fake.stop()
    }

    func device(timeout: Duration = ample) async throws -> Device {
        let adapter = try await stack.adapter(named: "hci0")
        return try await adapter.findDevice(BluetoothAddress(address1)!, filter: jbdFilter, timeout: timeout)
    }

    func batteryState() async throws -> [String: Any] {
        try await fake.state(address1)
    }
}

/// Notified values, as a stream with bounded reads.
final class Notifications: Sendable {
    let stream: AsyncStream<[UInt8]>
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let buffer = Mutex<[UInt8]>([])

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    var handler: @Sendable ([UInt8]) -> Void {
        { [continuation] in continuation.yield($0) }
    }

    /// Collects bytes until `count` arrived or `timeout` passed; returns what arrived.
    func read(_ count: Int, timeout: Duration = ample) async -> [UInt8] {
        let task = Task {
            for await chunk in self.stream {
                let total = self.buffer.withLock { $0 += chunk; return $0.count }
                if total >= count { break }
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            task.cancel()
        }
        await task.value
        timer.cancel()
        return buffer.withLock { bytes in
            defer { bytes = [] }
            return bytes
        }
    }
}

/// Connects `device`, finds the UART pair by UUID, subscribes; returns the write characteristic.
func openUART(_ device: Device, notifications: Notifications, variant: String = "ff00") async throws
    -> (Characteristic, Subscription)
{
    try await device.connect(timeout: ample)
    let (service, notify, write) = variant == "ff00" ? ("ff00", "ff01", "ff02") : ("fff0", "fff1", "fff2")
    let notifyChar = try #require(device.characteristic(BluetoothUUID(notify), in: BluetoothUUID(service)))
    let writeChar = try #require(device.characteristic(BluetoothUUID(write), in: BluetoothUUID(service)))
    let subscription = try notifyChar.onValue(notifications.handler)
    try await notifyChar.startNotify(timeout: ample)
    return (writeChar, subscription)
}
