import Basics
import DBus
import Synchronization

/// How a pairing ended when it did not fail.
public enum PairingOutcome: Sendable, Equatable {
    /// Paired and trusted; `askedForPasskey` is false when the module paired without a PIN.
    case paired(askedForPasskey: Bool)
    /// BlueZ already holds a bond (`AlreadyExists`); nothing was changed.
    case alreadyPaired
}

/// Why a pairing failed, each with the sentence a person reads.
public enum PairingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// bluetoothd has no `org.bluez.AgentManager1`, so no passkey can be supplied.
    case agentManagerMissing(String)
    /// The module asked for the passkey and refused the one given.
    case wrongPasskey(String)
    /// Pairing failed without the module ever asking for a passkey: it does not pair this way.
    case notSupported(String)
    /// Pairing was cancelled (link lost, or our deadline).
    case cancelled(String)
    /// Anything else BlueZ reported (adapter off, device not found, connect failed).
    case bluez(BlueZError)

    public var description: String {
        switch self {
        case .agentManagerMissing(let reason):
            "BlueZ offers no agent manager (org.bluez.AgentManager1), so no PIN can be supplied: \(reason)"
        case .wrongPasskey(let reason):
            "the module refused the PIN (\(reason)): check the 6-digit PIN in the PIN file"
        case .notSupported(let reason):
            "the module did not ask for a PIN and refused pairing (\(reason)): it most likely needs no pairing;"
                + " try `bms_exporter read` directly"
        case .cancelled(let reason):
            "pairing was cancelled (\(reason)): is the battery in range and not connected to a phone?"
        case .bluez(let error):
            error.description
        }
    }
}

/// A one-shot `org.bluez.Agent1` that answers a passkey request with one PIN, for one pairing.
///
/// It is registered with capability `KeyboardOnly` (it can "type" a passkey, never show one),
/// made the default agent, and unregistered when the pairing ends. The passkey never appears in
/// any message it produces.
final class PasskeyAgent: Sendable {
    static let capability = "KeyboardOnly"
    static let agentInterface = "org.bluez.Agent1"
    static let managerInterface = "org.bluez.AgentManager1"
    static let managerPath: ObjectPath = "/org/bluez"

    let path: ObjectPath
    let passkey: UInt32
    /// Whether BlueZ asked for the passkey (or a PIN code) during this pairing.
    let asked = Mutex(false)

    init(passkey: UInt32) {
        self.passkey = passkey
        path = ObjectPath("/io/bmsexporter/agent\(UInt32.random(in: 0...UInt32.max))")
    }

    /// What the agent answers; every request other than a passkey or PIN is refused.
    func answer(_ call: DBusMethodCall) -> DBusMethodReply {
        switch (call.interface ?? Self.agentInterface, call.member) {
        case (Self.agentInterface, "RequestPasskey"):
            asked.withLock { $0 = true }
            return .values([.uint32(passkey)])
        case (Self.agentInterface, "RequestPinCode"):
            asked.withLock { $0 = true }
            return .values([.string(sixDigits(passkey))])
        case (Self.agentInterface, "Release"), (Self.agentInterface, "Cancel"),
             (Self.agentInterface, "DisplayPasskey"), (Self.agentInterface, "DisplayPinCode"):
            return .values([])
        case (Self.agentInterface, _):
            return .error(name: "org.bluez.Error.Rejected", message: "this agent only enters a passkey")
        default:
            return .error(name: "org.freedesktop.DBus.Error.UnknownMethod", message: "no such method")
        }
    }
}

/// Six digits with leading zeros, as a PIN is typed.
func sixDigits(_ value: UInt32) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
}

extension BluetoothStack {
    /// Pairs with the device at `address` on adapter `adapterName`, answering its passkey request
    /// with `passkey`, then trusts it and disconnects. Discovers the device (with `filter`) when
    /// BlueZ does not know it. Everything within `timeout`.
    public func pair(
        address: BluetoothAddress, adapterName: String, passkey: UInt32, filter: DiscoveryFilter, timeout: Duration
    ) async throws(PairingError) -> PairingOutcome {
        let deadline = ContinuousClock.now + timeout
        let session: BusSession
        let device: Device
        do throws(BlueZError) {
            session = try await self.session()
            let adapter = try await self.adapter(named: adapterName)
            try adapter.requirePowered()
            device = try await adapter.findDevice(address, filter: filter, timeout: deadline.remaining)
        } catch {
            throw .bluez(error)
        }
        let agent = PasskeyAgent(passkey: passkey)
        session.connection.export(agent.path) { call in agent.answer(call) }
        defer { session.connection.unexport(agent.path) }
        try await register(agent, session: session)
        let outcome: PairingOutcome
        do throws(PairingError) {
            outcome = try await pair(device, agent: agent, session: session, deadline: deadline, timeout: timeout)
        } catch {
            await unregister(agent, session: session)
            await device.disconnect(timeout: .seconds(3))
            throw error
        }
        await unregister(agent, session: session)
        if case .paired = outcome {
            // Trusted lets bluetoothd accept the module's reconnects without asking an agent.
            _ = try? await session.call(
                device.path, BlueZInterface.properties, "Set",
                [.string(BlueZInterface.device), .string(DeviceProperties.trustedName), .variant(.boolean(true))],
                timeout: .seconds(5))
        }
        // Free the module for the exporter (or a phone) at once.
        await device.disconnect(timeout: .seconds(3))
        return outcome
    }

    private func pair(
        _ device: Device, agent: PasskeyAgent, session: BusSession, deadline: ContinuousClock.Instant, timeout: Duration
    ) async throws(PairingError) -> PairingOutcome {
        do {
            _ = try await session.connection.call(
                destination: BusSession.bluezName, path: device.path, interface: BlueZInterface.device,
                method: "Pair", timeout: max(deadline.remaining, .milliseconds(1)))
            return .paired(askedForPasskey: agent.asked.withLock { $0 })
        } catch DBusError.errorReply(let name, let message) {
            let asked = agent.asked.withLock { $0 }
            switch name {
            case "org.bluez.Error.AlreadyExists":
                return .alreadyPaired
            case "org.bluez.Error.AuthenticationFailed", "org.bluez.Error.AuthenticationRejected":
                throw asked ? .wrongPasskey(message) : .notSupported(message)
            case "org.bluez.Error.AuthenticationCanceled":
                throw .cancelled(message)
            case "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Timeout":
                await cancelPairing(device, session: session)
                throw .cancelled("no result within \(DurationText.format(timeout))")
            default:
                throw .bluez(BlueZError(DBusError.errorReply(name: name, message: message)))
            }
        } catch DBusError.timeout {
            await cancelPairing(device, session: session)
            throw .cancelled("no result within \(DurationText.format(timeout))")
        } catch {
            throw .bluez(BlueZError(error))
        }
    }

    private func cancelPairing(_ device: Device, session: BusSession) async {
        _ = try? await session.call(device.path, BlueZInterface.device, "CancelPairing", timeout: .seconds(3))
    }

    private func register(_ agent: PasskeyAgent, session: BusSession) async throws(PairingError) {
        do {
            _ = try await session.connection.call(
                destination: BusSession.bluezName, path: PasskeyAgent.managerPath, interface: PasskeyAgent.managerInterface,
                method: "RegisterAgent", arguments: [.objectPath(agent.path), .string(PasskeyAgent.capability)],
                timeout: .seconds(5))
        } catch DBusError.errorReply(let name, let message)
            where name == "org.freedesktop.DBus.Error.UnknownMethod" || name == "org.freedesktop.DBus.Error.UnknownObject"
            || name == "org.freedesktop.DBus.Error.UnknownInterface"
        {
            throw .agentManagerMissing("\(name): \(message)")
        } catch {
            throw .bluez(BlueZError(error))
        }
        do {
            _ = try await session.connection.call(
                destination: BusSession.bluezName, path: PasskeyAgent.managerPath, interface: PasskeyAgent.managerInterface,
                method: "RequestDefaultAgent", arguments: [.objectPath(agent.path)], timeout: .seconds(5))
        } catch {
            await unregister(agent, session: session)
            throw .bluez(BlueZError(error))
        }
    }

    private func unregister(_ agent: PasskeyAgent, session: BusSession) async {
        _ = try? await session.connection.call(
            destination: BusSession.bluezName, path: PasskeyAgent.managerPath, interface: PasskeyAgent.managerInterface,
            method: "UnregisterAgent", arguments: [.objectPath(agent.path)], timeout: .seconds(5))
    }
}
