import DBus
import Foundation

/// The fake's control interface (`io.bmsexporter.FakeControl1`, JSON strings), see its README.
extension FakeBlueZ {
    /// Adds a battery (`address` required; see the README for every key) and returns its state.
    @discardableResult
    public func addBattery(_ battery: [String: Any]) async throws -> [String: Any] {
        try Self.object(try await control("AddBattery", [.string(try Self.json(battery))]))
    }

    /// Adds an adapter, e.g. `addAdapter("hci1")`.
    public func addAdapter(_ name: String, _ config: [String: Any] = [:]) async throws {
        _ = try await control("AddAdapter", [.string(name), .string(try Self.json(config))])
    }

    /// Partial update of an adapter's `max_le_links`, `reject_concurrent_connects`, `wedged`.
    public func setAdapter(_ name: String, _ settings: [String: Any]) async throws {
        _ = try await control("SetAdapter", [.string(name), .string(try Self.json(settings))])
    }

    /// The dongle is pulled: links drop, its devices and then the adapter leave the tree.
    public func unplugAdapter(_ name: String) async throws {
        _ = try await control("UnplugAdapter", [.string(name)])
    }

    /// An unplugged adapter comes back with its settings and remembered devices.
    public func plugAdapter(_ name: String) async throws {
        _ = try await control("PlugAdapter", [.string(name)])
    }

    /// `connects`, `max_concurrent_connects`, `current_links`, `pending_connects`, `max_le_links`,
    /// `link_limit_rejections`, `concurrent_connect_rejections`, `wedged_connects` of one adapter.
    public func connectStats(_ adapter: String) async throws -> [String: Int] {
        let object = try Self.object(try await control("GetConnectStats", [.string(adapter)]))
        return object.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    /// Partial update of a battery's BMS values (`cells_mv`, `current_a`, `model`, …).
    public func setBMS(_ address: String, _ values: [String: Any]) async throws {
        _ = try await control("SetBMS", [.string(address), .string(try Self.json(values))])
    }

    /// Merges faults (`silent`, `drop_first_reply`, `connect_abort`: N, …); false/0/null removes one.
    public func setFaults(_ address: String, _ faults: [String: Any]) async throws {
        _ = try await control("SetFaults", [.string(address), .string(try Self.json(faults))])
    }

    /// Partial update of the delays, in milliseconds.
    public func setDelays(_ delays: [String: Int]) async throws {
        _ = try await control("SetDelays", [.string(try Self.json(delays))])
    }

    public func setAdapterPowered(_ name: String, _ powered: Bool) async throws {
        _ = try await control("SetAdapterPowered", [.string(name), .boolean(powered)])
    }

    public func setAdvertisement(_ address: String, _ values: [String: Any]) async throws {
        _ = try await control("SetAdvertisement", [.string(address), .string(try Self.json(values))])
    }

    public func setInRange(_ address: String, _ inRange: Bool) async throws {
        _ = try await control("SetInRange", [.string(address), .boolean(inRange)])
    }

    public func dropLink(_ address: String) async throws {
        _ = try await control("DropLink", [.string(address)])
    }

    public func removeDeviceObject(_ address: String) async throws {
        _ = try await control("RemoveDeviceObject", [.string(address)])
    }

    /// Partial update of a battery's `security` kind, `pin`, `password`, `ffaa_challenge`,
    /// `classic_pairing` (see the fake's README, "Security kinds").
    public func setSecurity(_ address: String, _ values: [String: Any]) async throws {
        _ = try await control("SetSecurity", [.string(address), .string(try Self.json(values))])
    }

    /// The module forgets its bond with the host; the host still lists it as paired.
    public func forgetBond(_ address: String) async throws {
        _ = try await control("ForgetBond", [.string(address)])
    }

    /// Registered agents: `{"agents": {unique_name: {"path", "capability"}}, "default_agent": …}`.
    public func agents() async throws -> [String: Any] {
        try Self.object(try await control("GetAgents", []))
    }

    public func removeBattery(_ address: String) async throws {
        _ = try await control("RemoveBattery", [.string(address)])
    }

    /// The BMS sends these raw bytes (hex) unsolicited, in notifications of at most 20 bytes.
    public func injectNotification(_ address: String, hex: String) async throws {
        _ = try await control("InjectNotification", [.string(address), .string(hex)])
    }

    /// One battery's state (`connected`, `requests`, `notify_sessions`, `connect_attempts`, …).
    public func state(_ address: String) async throws -> [String: Any] {
        try Self.object(try await control("GetState", [.string(address)]))
    }

    /// The whole world: `adapters`, `batteries`, `delays`.
    public func worldState() async throws -> [String: Any] {
        try Self.object(try await control("GetState", [.string("")]))
    }

    /// Every `WriteValue` anyone made to this fake process since it started.
    public func writes() async throws -> [FakeWrite] {
        let text = try await control("GetWriteLog", []).decode(String.self)
        let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
        return entries.map {
            FakeWrite(
                address: $0["address"] as? String ?? "", uuid: $0["uuid"] as? String ?? "",
                type: $0["type"] as? String ?? "", hex: $0["hex"] as? String ?? "")
        }
    }

    /// Payloads (hex, 6th field) of every line of the write log file, which spans restarts
    /// (and, with `FAKE_BLUEZ_WRITE_LOG`, the whole suite).
    public func writeLog() -> [String] {
        let text = (try? String(contentsOfFile: writeLogPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count >= 6 ? String(fields[5]) : nil
        }
    }

    /// Write-log payloads that are neither allowed read requests nor allowed password-exchange
    /// frames (should be empty).
    public func forbiddenWrites() -> [String] {
        writeLog().filter { !Self.isAllowedWrite($0) }
    }

    /// Calls a control method and returns its reply arguments.
    public func control(_ method: String, _ arguments: [DBusValue]) async throws -> [DBusValue] {
        guard let connection = controlConnection else { throw FakeBlueZError.control("the bus is not running") }
        do {
            return try await connection.call(
                destination: "org.bluez", path: "/io/bmsexporter/Fake", interface: "io.bmsexporter.FakeControl1",
                method: method, arguments: arguments, timeout: .seconds(10))
        } catch let error as DBusError {
            throw FakeBlueZError.control("\(method): \(error)")
        }
    }

    private static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    private static func object(_ reply: [DBusValue]) throws -> [String: Any] {
        let text = try reply.decode(String.self)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw FakeBlueZError.control("expected a JSON object, got \(text)")
        }
        return object
    }
}

/// One `WriteValue` as the fake logged it.
public struct FakeWrite: Sendable, Hashable {
    public let address: String
    /// Characteristic UUID, e.g. `0000ff02-0000-1000-8000-00805f9b34fb`.
    public let uuid: String
    /// The `type` option: `command`, `request`, or `-` when absent.
    public let type: String
    /// Payload in lower-case hex.
    public let hex: String
}
