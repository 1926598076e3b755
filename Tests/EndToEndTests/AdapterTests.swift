import TestSupport
import Foundation
import Testing

/// Issue 15: many batteries on one or two adapters, against the fake BlueZ's controller limits.
@Suite struct AdapterTests {
    /// Six batteries connecting for every poll on a controller that fails a second outstanding
    /// Connect ("le-connection-busy"): the exporter queues them, so the fake never sees two at once.
    @Test func connectsGoOneAtATimePerAdapter() async throws {
        let batteries = AdapterBattery.batteries(6, on: ["hci0"], keepConnected: false)
        try await ExporterRig.with(
            batteries, adapterSettings: ["reject_concurrent_connects": true],
            delays: FakeBlueZ.fastDelays.merging(["connect_delay_ms": 40]) { $1 }, arguments: ["--bluez.max-links", "32"]) { rig in
            let names = batteries.map(\.name)
            _ = try await rig.samples(until: rig.allUp(names))
            // A few more rounds of connects, all six competing.
            let after = Date().timeIntervalSince1970 + 1
            let samples = try await rig.samples(until: rig.allUp(names, since: after))
            #expect(rig.allUp(names, since: after)(samples), "\(rig.server.log.suffix(3000))")
            let stats = try await rig.fake.connectStats("hci0")
            #expect(stats["max_concurrent_connects"] == 1, "\(stats)")
            #expect(stats["concurrent_connect_rejections"] == 0, "\(stats)")
            #expect((stats["connects"] ?? 0) >= 12, "\(stats)")
            #expect(names.allSatisfy { samples.battery("bms_poll_failures_total", $0, #",reason="connect""#) == 0 })
            #expect((samples.adapter("bms_adapter_connect_wait_seconds_count", "hci0") ?? 0) >= 12)
            #expect((samples.adapter("bms_adapter_connect_wait_seconds_sum", "hci0") ?? 0) > 0)
        }
    }

    /// A battery whose connect never answers holds the queue only until its connect timeout: the
    /// others, queued behind it in turn, keep getting read.
    @Test func aHangingConnectDoesNotStarveTheOthers() async throws {
        let batteries = AdapterBattery.batteries(4, on: ["hci0"], keepConnected: false)
        try await ExporterRig.with(batteries, arguments: ["--bluez.max-links", "32"]) { rig in
            let others = batteries.dropFirst().map(\.name)
            _ = try await rig.samples(until: rig.allUp(batteries.map(\.name)))
            try await rig.fake.setFaults(batteries[0].address, ["connect_hang": true])
            try await rig.fake.dropLink(batteries[0].address)
            let hung = Date().timeIntervalSince1970
            // Each other battery read again and again while the first one's connects hang (1 s each).
            var seen: [String: Set<Double>] = [:]
            let samples = try await rig.samples(within: 40) { samples in
                for name in others {
                    if let last = samples.battery("bms_last_success_timestamp_seconds", name), last > hung {
                        seen[name, default: []].insert(last)
                    }
                }
                let hangs = ["timeout", "connect"].map {
                    samples.battery("bms_poll_failures_total", batteries[0].name, #",reason="\#($0)""#) ?? 0
                }.reduce(0, +)
                return hangs >= 3 && others.allSatisfy { (seen[$0]?.count ?? 0) >= 5 }
            }
            #expect(others.allSatisfy { (seen[$0]?.count ?? 0) >= 5 }, "\(seen.mapValues(\.count)) \(rig.server.log.suffix(2000))")
            #expect(samples.battery("bms_up", batteries[0].name) == 0)
            let stats = try await rig.fake.connectStats("hci0")
            #expect(stats["max_concurrent_connects"] == 1, "\(stats)")
        }
    }

    /// Four batteries that want kept links on a controller holding two, with `--bluez.max-links 2`:
    /// one keeps its link, three take turns on the other; the controller never refuses a link.
    @Test func batteriesBeyondTheBudgetTakeTurns() async throws {
        let batteries = AdapterBattery.batteries(4, on: ["hci0"])
        try await ExporterRig.with(
            batteries, adapterSettings: ["max_le_links": 2], arguments: ["--bluez.max-links", "2"]) { rig in
            let names = batteries.map(\.name)
            var mostLinks = 0.0
            _ = try await rig.samples(until: rig.allUp(names))
            let after = Date().timeIntervalSince1970 + 1
            let samples = try await rig.samples { samples in
                mostLinks = Swift.max(mostLinks, samples.adapter("bms_adapter_connections", "hci0") ?? 0)
                return rig.allUp(names, since: after)(samples)
            }
            #expect(rig.allUp(names, since: after)(samples))
            #expect(mostLinks <= 2)
            let stats = try await rig.fake.connectStats("hci0")
            #expect(stats["link_limit_rejections"] == 0, "\(stats)")
            #expect(stats["max_concurrent_connects"] == 1, "\(stats)")
            #expect(names.allSatisfy { samples.battery("bms_poll_failures_total", $0, #",reason="connect""#) == 0 })
            // The first keeps its link: connected once; the others connect for every poll.
            let kept = try await rig.fake.state(batteries[0].address)
            let turning = try await rig.fake.state(batteries[3].address)
            #expect(kept["connect_count"] as? Int == 1, "\(kept)")
            #expect((turning["connect_count"] as? Int ?? 0) >= 3, "\(turning)")
            #expect(rig.server.log.contains("link budget"), "\(rig.server.log)")
            #expect(rig.server.log.contains("in_turn=hci0-2,hci0-3,hci0-4"), "\(rig.server.log)")
        }
    }

    /// Two adapters, two batteries pinned to each: pulling hci1 leaves hci0's batteries reading,
    /// shows `bms_adapter_up` 0 for hci1 only, and plugging it back brings its batteries back.
    @Test func batteriesOnOneAdapterKeepWorkingWhileTheOtherIsUnplugged() async throws {
        let batteries = AdapterBattery.batteries(2, on: ["hci0", "hci1"])
        try await ExporterRig.with(batteries) { rig in
            let onHci0 = batteries.filter { $0.adapter == "hci0" }.map(\.name)
            let onHci1 = batteries.filter { $0.adapter == "hci1" }.map(\.name)
            let up = try await rig.samples { samples in
                rig.allUp(onHci0 + onHci1)(samples) && samples.adapter("bms_adapter_connections", "hci1") == 2
            }
            #expect(up.adapter("bms_adapter_up", "hci0") == 1)
            #expect(up.adapter("bms_adapter_up", "hci1") == 1)
            #expect(up.adapter("bms_adapter_connections", "hci0") == 2)

            try await rig.fake.unplugAdapter("hci1")
            let unplugged = Date().timeIntervalSince1970
            let during = try await rig.samples { samples in
                samples.adapter("bms_adapter_up", "hci1") == 0 && onHci1.allSatisfy { samples.battery("bms_connected", $0) == 0 }
                    && rig.allUp(onHci0, since: unplugged + 1)(samples)
            }
            #expect(during.adapter("bms_adapter_up", "hci1") == 0)
            #expect(during.adapter("bms_adapter_up", "hci0") == 1)
            #expect(during.adapter("bms_adapter_connections", "hci1") == 0)
            #expect(rig.allUp(onHci0, since: unplugged + 1)(during), "\(rig.server.log.suffix(2000))")
            #expect(await rig.logShows("adapter unavailable"))

            try await rig.fake.plugAdapter("hci1")
            let plugged = Date().timeIntervalSince1970
            let back = try await rig.samples { samples in
                rig.allUp(onHci0 + onHci1, since: plugged)(samples) && samples.adapter("bms_adapter_up", "hci1") == 1
            }
            #expect(rig.allUp(onHci0 + onHci1, since: plugged)(back), "\(rig.server.log.suffix(3000))")
            #expect(back.adapter("bms_adapter_up", "hci1") == 1)
            #expect(await rig.logShows("adapter available again"))
            for adapter in ["hci0", "hci1"] {
                let stats = try await rig.fake.connectStats(adapter)
                #expect(stats["max_concurrent_connects"] == 1, "\(adapter): \(stats)")
            }
            #expect(await rig.stopOffPool() == 0)
        }
    }

    /// A SIGHUP that moves batteries to an adapter the config did not name before: its series
    /// appear and its batteries are read; the adapter no longer named loses its series.
    @Test func aReloadAddsAndDropsAdapters() async throws {
        let before = AdapterBattery.batteries(1, on: ["hci0"])
        var after = AdapterBattery.batteries(1, on: ["hci0", "hci1"])
        after.removeFirst()
        try await ExporterRig.with(before + after) { rig in
            // Start with only hci0's battery in the config; the fake has both.
            try AdapterBattery.config(before).write(toFile: rig.configPath, atomically: true, encoding: .utf8)
            kill(rig.server.pid, SIGHUP)
            _ = try await rig.samples { $0.adapter("bms_adapter_up", "hci1") == nil && rig.allUp(before.map(\.name))($0) }
            try AdapterBattery.config(after).write(toFile: rig.configPath, atomically: true, encoding: .utf8)
            kill(rig.server.pid, SIGHUP)
            let reloaded = try await rig.samples { samples in
                samples.adapter("bms_adapter_up", "hci1") == 1 && samples.adapter("bms_adapter_up", "hci0") == nil
                    && rig.allUp(after.map(\.name))(samples)
            }
            #expect(reloaded.adapter("bms_adapter_up", "hci1") == 1, "\(rig.server.log.suffix(2000))")
            #expect(reloaded.adapter("bms_adapter_up", "hci0") == nil)
            #expect(rig.allUp(after.map(\.name))(reloaded))
        }
    }

    /// `bms_adapter_up` follows the adapter's power; the adapter families pass promtool and show on the landing page.
    @Test func adapterUpFollowsPower() async throws {
        let batteries = AdapterBattery.batteries(1, on: ["hci0"])
        try await ExporterRig.with(batteries) { rig in
            _ = try await rig.samples(until: rig.allUp(batteries.map(\.name)))
            try await rig.fake.setAdapterPowered("hci0", false)
            let off = try await rig.samples { $0.adapter("bms_adapter_up", "hci0") == 0 }
            #expect(off.adapter("bms_adapter_up", "hci0") == 0)
            try await rig.fake.setAdapterPowered("hci0", true)
            let on = try await rig.samples { $0.adapter("bms_adapter_up", "hci0") == 1 }
            #expect(on.adapter("bms_adapter_up", "hci0") == 1)
            #expect(on.adapter("bms_adapter_resets_total", "hci0") == 0)
            // promtool finds nothing in the adapter families (the documented `_ampere_hours` aside).
            let body = try await rig.server.request("/metrics").body
            #expect(body.contains("# TYPE bms_adapter_connect_wait_seconds summary"))
            let findings = try await promtoolFindings(body)
            #expect(findings.isEmpty, "promtool: \(findings)")
            let landing = try await rig.server.request("/").body
            #expect(landing.contains("<h2>Bluetooth adapters</h2>") && landing.contains("<td>hci0</td>"))
        }
    }

    /// A wedged controller (every connect aborts while it claims to be powered) is powered off
    /// and on once with `--bluez.power-cycle-after 3`, after which the batteries connect; a second
    /// wedge soon after is not cycled again (rate limit).
    @Test func aWedgedAdapterIsPowerCycledOnceWhenAllowed() async throws {
        let batteries = AdapterBattery.batteries(2, on: ["hci0"])
        try await ExporterRig.with(
            batteries, adapterSettings: ["wedged": true], arguments: ["--bluez.power-cycle-after", "3"]) { rig in
            let names = batteries.map(\.name)
            let recovered = try await rig.samples(within: 40) { samples in
                rig.allUp(names)(samples) && samples.adapter("bms_adapter_resets_total", "hci0") == 1
            }
            #expect(recovered.adapter("bms_adapter_resets_total", "hci0") == 1, "\(rig.server.log.suffix(3000))")
            #expect(rig.allUp(names)(recovered))
            #expect(await rig.logShows("powering it off and on"))
            #expect((try await rig.fake.connectStats("hci0"))["wedged_connects"] ?? 0 >= 3)

            // Wedged again at once: the failures pile up, but the adapter is not cycled again.
            let connectFailures = { (samples: [String: Double], name: String) in
                samples.battery("bms_poll_failures_total", name, #",reason="connect""#) ?? 0
            }
            let before = try await rig.samples { _ in true }
            try await rig.fake.setAdapter("hci0", ["wedged": true])
            for battery in batteries { try await rig.fake.dropLink(battery.address) }
            let failing = try await rig.samples(within: 40) { samples in
                names.allSatisfy { connectFailures(samples, $0) >= connectFailures(before, $0) + 4 }
            }
            #expect(names.allSatisfy { connectFailures(failing, $0) >= connectFailures(before, $0) + 4 })
            #expect(failing.adapter("bms_adapter_resets_total", "hci0") == 1)
        }
    }

    /// While one battery on the adapter is still read over its kept link, the others' failing
    /// connects never make the exporter cycle the adapter (which would drop that link too).
    @Test func noPowerCycleWhileABatteryOnTheAdapterIsReadFine() async throws {
        let batteries = AdapterBattery.batteries(3, on: ["hci0"])
        try await ExporterRig.with(batteries, arguments: ["--bluez.power-cycle-after", "2"]) { rig in
            let names = batteries.map(\.name)
            _ = try await rig.samples(until: rig.allUp(names))
            try await rig.fake.setAdapter("hci0", ["wedged": true])
            for battery in batteries.dropFirst() { try await rig.fake.dropLink(battery.address) }
            let wedged = Date().timeIntervalSince1970
            let failing = try await rig.samples(within: 40) { samples in
                names.dropFirst().allSatisfy { (samples.battery("bms_poll_failures_total", $0, #",reason="connect""#) ?? 0) >= 4 }
                    && rig.allUp([names[0]], since: wedged + 1)(samples)
            }
            #expect(names.dropFirst().allSatisfy { (failing.battery("bms_poll_failures_total", $0, #",reason="connect""#) ?? 0) >= 4 })
            #expect(rig.allUp([names[0]], since: wedged + 1)(failing), "\(rig.server.log.suffix(2000))")
            #expect(failing.adapter("bms_adapter_resets_total", "hci0") == 0)
            #expect(!rig.server.log.contains("powering it off and on"))
        }
    }

    /// Batteries that discovery never finds count towards the streak too (a wedged controller
    /// often stops scanning as well): with every battery of the adapter unseen, it is cycled.
    @Test func batteriesNeverFoundCountTowardsThePowerCycle() async throws {
        let batteries = AdapterBattery.batteries(2, on: ["hci0"]).map { battery in
            var away = battery
            away.inRange = false
            return away
        }
        try await ExporterRig.with(batteries, arguments: ["--bluez.power-cycle-after", "2"]) { rig in
            let cycled = try await rig.samples(within: 40) { $0.adapter("bms_adapter_resets_total", "hci0") == 1 }
            #expect(cycled.adapter("bms_adapter_resets_total", "hci0") == 1, "\(rig.server.log.suffix(2000))")
            #expect(batteries.allSatisfy { (cycled.battery("bms_poll_failures_total", $0.name, #",reason="not_found""#) ?? 0) >= 1 })
        }
    }

    /// Without the flag the exporter never touches the adapter's power.
    @Test func noPowerCycleUnlessAskedFor() async throws {
        let batteries = AdapterBattery.batteries(2, on: ["hci0"])
        try await ExporterRig.with(batteries, adapterSettings: ["wedged": true]) { rig in
            let failing = try await rig.samples(within: 40) { samples in
                batteries.allSatisfy { (samples.battery("bms_poll_failures_total", $0.name, #",reason="connect""#) ?? 0) >= 4 }
            }
            #expect(failing.adapter("bms_adapter_resets_total", "hci0") == 0)
            #expect(batteries.allSatisfy { failing.battery("bms_up", $0.name) == 0 })
        }
    }
}
