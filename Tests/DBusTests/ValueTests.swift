import DBus
import Testing

extension DBusTests {
    @Suite struct Values {
        @Test func signaturesDescribeNestedContainers() {
            #expect(DBusValue.vardict([:]).signature == "a{sv}")
            #expect(DBusValue.bytes([1]).signature == "ay")
            #expect(DBusValue.strings([]).signature == "as")
            #expect(DBusValue.structure([.string("a"), .variant(.byte(1)), .bytes([])]).signature == "(svay)")
            #expect(DBusValue.dictionary(keySignature: "o", valueSignature: "a{sa{sv}}", []).signature == "a{oa{sa{sv}}}")
        }

        @Test func vardictSortsKeysAndWrapsValuesOnce() {
            let value = DBusValue.vardict(["type": "command", "offset": .variant(.uint16(0))])
            #expect(value == .dictionary(keySignature: "s", valueSignature: "v", [
                DBusDictionaryEntry("offset", .variant(.uint16(0))),
                DBusDictionaryEntry("type", .variant("command")),
            ]))
        }

        @Test func decodingLooksThroughVariantsAndReportsMismatches() throws {
            #expect(try DBusValue.variant(.variant(.int16(-5))).decode(Int16.self) == -5)
            #expect(DBusValue.variant(.string("x")).value(as: Bool.self) == nil)
            #expect(throws: DBusError.typeMismatch(expected: "o", actual: "s")) {
                try DBusValue.string("/a").decode(ObjectPath.self)
            }
            #expect(throws: DBusError.self) { try [DBusValue]().decode(String.self) }
            #expect(try DBusValue.array(elementSignature: "y", [.byte(7)]).decode([UInt8].self) == [7])
        }

        @Test func matchRuleTextQuotesValues() {
            let rule = MatchRule(
                sender: "org.bluez", pathNamespace: "/org/bluez", interface: "org.freedesktop.DBus.Properties",
                member: "PropertiesChanged", arg0: "it's")
            #expect(rule.description == "type='signal',sender='org.bluez',path_namespace='/org/bluez',"
                + "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',arg0='it'\\''s'")
        }

        @Test func objectPathNamespaces() {
            let device: ObjectPath = "/org/bluez/hci0/dev_1"
            #expect(device.isInNamespace("/org/bluez/hci0"))
            #expect(device.isInNamespace(.root))
            #expect(device.isInNamespace(device))
            #expect(!ObjectPath("/org/bluez/hci01").isInNamespace("/org/bluez/hci0"))
            #expect(ObjectPath.root.appending("org") == "/org")
            #expect(device.appending("char0010") == "/org/bluez/hci0/dev_1/char0010")
        }
    }
}
