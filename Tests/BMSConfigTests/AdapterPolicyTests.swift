import Basics
import BatterySession
@testable import BMSConfig
import Testing

/// Issue 15: the kept-link budget per adapter, `--bluez.max-links`, `--bluez.power-cycle-after`
/// and the config file's `adapters:` section.
@Suite struct AdapterPolicyTests {
    static func battery(_ index: Int, adapter: String = "hci0", keep: Bool = true) -> BatteryConfig {
        BatteryConfig(
            name: "b\(index)", address: String(format: "A4:C1:38:00:00:%02X", index), adapter: adapter,
            schedule: PollSchedule(pollInterval: .seconds(10), keepConnected: keep))
    }

    @Test func everyBatteryFitsNothingChanges() {
        let batteries = (1...5).map { Self.battery($0) }
        #expect(LinkBudget.apply(batteries, policies: AdapterPolicies()) == batteries)
    }

    /// Past the budget the first maxLinks − 1 keep their link, the rest take turns on the last one.
    @Test func beyondTheBudgetTheRestTakeTurns() {
        let batteries = (1...8).map { Self.battery($0) }
        let planned = LinkBudget.apply(batteries, policies: AdapterPolicies())
        #expect(planned.prefix(4).allSatisfy { !$0.pollsInTurn && $0.schedule.keepConnected })
        #expect(planned.dropFirst(4).allSatisfy { $0.pollsInTurn && !$0.schedule.keepConnected })
    }

    @Test func budgetsArePerAdapter() {
        let batteries = (1...6).map { Self.battery($0) } + (7...12).map { Self.battery($0, adapter: "hci1") }
        let policies = AdapterPolicies(overrides: ["hci1": AdapterPolicy(maxLinks: 7)])
        let planned = LinkBudget.apply(batteries, policies: policies)
        #expect(planned.filter { $0.adapter == "hci0" && $0.pollsInTurn }.map(\.name) == ["b5", "b6"])
        #expect(planned.filter { $0.adapter == "hci1" }.allSatisfy { !$0.pollsInTurn })
    }

    /// Batteries that connect per poll anyway take turns on the link the kept ones leave free.
    @Test func perPollBatteriesShareTheFreeLink() {
        let batteries = (1...3).map { Self.battery($0) } + (4...7).map { Self.battery($0, keep: false) }
        let planned = LinkBudget.apply(batteries, policies: AdapterPolicies())
        #expect(planned.filter(\.pollsInTurn).map(\.name) == ["b4", "b5", "b6", "b7"])
        #expect(planned.prefix(3).allSatisfy { $0.schedule.keepConnected })
    }

    @Test func serialBatteriesAreNotCounted() {
        var serial = Self.battery(9)
        serial.serial = SerialLine(device: "/dev/ttyUSB0")
        let batteries = (1...5).map { Self.battery($0) } + [serial]
        #expect(LinkBudget.apply(batteries, policies: AdapterPolicies()) == batteries)
    }

    @Test func flagsSetTheDefaults() throws {
        let settings = try ServeSettings.resolve(.init(bmsAddress: "A4:C1:38:00:00:01", maxLinks: "7", powerCycleAfter: "5"))
        #expect(settings.adapters.defaults == AdapterPolicy(maxLinks: 7, powerCycleAfter: 5))
        let off = try ServeSettings.resolve(.init(bmsAddress: "A4:C1:38:00:00:01", powerCycleAfter: "0"))
        #expect(off.adapters.defaults == AdapterPolicy(maxLinks: 5, powerCycleAfter: nil))
    }

    @Test(arguments: [("0", nil), ("33", nil), ("five", nil), (nil, "1"), (nil, "-3"), (nil, "x")] as [(String?, String?)])
    func badFlagsNameTheFlag(maxLinks: String?, powerCycle: String?) throws {
        let error = try #require(flagRefusal(.init(bmsAddress: "A4:C1:38:00:00:01", maxLinks: maxLinks, powerCycleAfter: powerCycle)))
        #expect("\(error)".contains(maxLinks != nil ? "--bluez.max-links" : "--bluez.power-cycle-after"), "\(error)")
    }

    @Test func configFileOverridesPerAdapter() throws {
        let yaml = """
        adapters:
          hci1:
            max_links: 7
            power_cycle_after: 4
          hci2: {power_cycle_after: 0}
        batteries:
          - name: house
            address: A4:C1:38:00:00:01
        """
        let defaults = ConfigFile.Defaults(
            adapter: "hci0", pollInterval: .seconds(10), adapterPolicy: AdapterPolicy(maxLinks: 3, powerCycleAfter: 9))
        let document = try ConfigFile.document(yaml, source: "c.yml", defaults: defaults)
        #expect(document.adapters.policy(for: "hci0") == AdapterPolicy(maxLinks: 3, powerCycleAfter: 9))
        #expect(document.adapters.policy(for: "hci1") == AdapterPolicy(maxLinks: 7, powerCycleAfter: 4))
        #expect(document.adapters.policy(for: "hci2") == AdapterPolicy(maxLinks: 3, powerCycleAfter: nil))
    }

    @Test(arguments: [
        ("adapters:\n  usb0: {max_links: 3}\n", 2, "bad adapter"),
        ("adapters:\n  hci0: {max_links: 0}\n", 2, "max_links"),
        ("adapters:\n  hci0: {power_cycle_after: 1}\n", 2, "power_cycle_after"),
        ("adapters:\n  hci0: {links: 3}\n", 2, "unknown key `links`"),
    ])
    func badAdapterSectionsNameTheLine(section: String, line: Int, words: String) throws {
        let yaml = "poll_interval: 10s\n" + section + "batteries:\n  - name: a\n    address: A4:C1:38:00:00:01\n"
        let error = try #require(configRefusal(yaml))
        #expect("\(error)".contains("c.yml:\(line + 1)") && "\(error)".contains(words), "\(error)")
    }
}
