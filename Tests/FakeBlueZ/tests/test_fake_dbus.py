"""Behaviour of the fake BlueZ over a real (private) D-Bus, driven through its control interface."""

import json
import os
import unittest

import dbus

from fakebluez import jbd
from tests.client import ADAPTER, CHAR, DEVICE, Client
from tests.harness import FakeBus

ADDR = "A4:C1:38:00:00:01"
HCI0 = "/org/bluez/hci0"
DEV = f"{HCI0}/dev_A4_C1_38_00_00_01"
SVC = f"{DEV}/service000f"
FF01 = f"{SVC}/char0010"
FF02 = f"{SVC}/char0014"
READ_03 = bytes.fromhex("dda50300fffd77")


def reassemble(chunks):
    """JBD reassembly as a client must do it: skip to DD, cut by length, validate."""
    buf, frames = b"".join(chunks), []
    while True:
        start = buf.find(b"\xdd")
        if start < 0 or len(buf) - start < 4:
            return frames
        buf = buf[start:]
        size = buf[3] + 7
        if len(buf) < size:
            return frames
        frame, buf = buf[:size], buf[size:]
        if frame[-1] == 0x77 and jbd.checksum(frame[2:-3]) == int.from_bytes(frame[-3:-1], "big"):
            frames.append(frame)
        else:
            frames.append(("invalid", frame))


class FakeTestCase(unittest.TestCase):
    fake_args = ()

    def setUp(self):
        self.bus = FakeBus()
        self.addCleanup(self.bus.close)
        self.fake = self.bus.start_fake(*self.fake_args)
        self.c = Client(self.bus.address)
        self.addCleanup(self.c.close)
        self.c.control("SetDelays", json.dumps({"reply_delay_ms": 5, "connect_delay_ms": 5,
                                                  "resolve_delay_ms": 10, "discovery_delay_ms": 1,
                                                  "rssi_interval_ms": 50, "absent_connect_timeout_ms": 50}))

    def add_battery(self, **config):
        config = {"address": ADDR, "name": "LX-12V100Ah", "known": True, **config}
        return self.c.control("AddBattery", json.dumps(config))

    def connect(self, path=DEV):
        self.c.call_async("connect", path, DEVICE, "Connect")
        reply = self.c.wait_reply("connect")
        self.assertEqual(reply[0], "reply", reply)
        self.c.wait_event(self.c.prop_event(path, DEVICE, "ServicesResolved", True), what="ServicesResolved")

    def subscribe(self, char=FF01):
        self.c.call(char, CHAR, "StartNotify")

    def request(self, payload=READ_03, char=FF02, kind="command"):
        self.c.call(char, CHAR, "WriteValue", dbus.ByteArray(payload), {"type": kind})

    def wait_frames(self, n, char=FF01, timeout=3):
        return self.c.wait(lambda: (lambda f: f if len(f) >= n else None)(reassemble(self.c.notifications(char))),
                           timeout, f"{n} frame(s)")


class ObjectTree(FakeTestCase):
    def test_adapter_properties(self):
        adapter = self.c.objects()[HCI0][ADAPTER]
        self.assertEqual(adapter["Roles"], ["central", "peripheral"])
        self.assertTrue(adapter["Powered"])
        self.assertFalse(adapter["Discovering"])
        self.assertIn("org.bluez.AgentManager1", self.c.objects()["/org/bluez"])

    def test_known_battery_is_in_tree_without_rssi(self):
        self.add_battery()
        dev = self.c.objects()[DEV][DEVICE]
        self.assertEqual((dev["Address"], dev["Name"], dev["Alias"]), (ADDR, "LX-12V100Ah", "LX-12V100Ah"))
        self.assertEqual(dev["UUIDs"], ["0000ff00-0000-1000-8000-00805f9b34fb"])
        self.assertNotIn("RSSI", dev)
        self.assertFalse(dev["Connected"])

    def test_properties_get_set(self):
        self.add_battery()
        self.assertEqual(self.c.call(DEV, "org.freedesktop.DBus.Properties", "Get", DEVICE, "Address"), ADDR)
        with self.assertRaises(Exception) as ctx:
            self.c.call(DEV, "org.freedesktop.DBus.Properties", "Set", DEVICE, "Connected", True)
        self.assertEqual(ctx.exception.get_dbus_name(), "org.freedesktop.DBus.Error.PropertyReadOnly")
        self.c.call(DEV, "org.freedesktop.DBus.Properties", "Set", DEVICE, "Trusted", True)
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Trusted", True))


class Discovery(FakeTestCase):
    def test_unknown_battery_appears_only_while_discovering(self):
        self.add_battery(known=False, rssi=-71)
        self.assertNotIn(DEV, self.c.objects())
        self.c.call(HCI0, ADAPTER, "StartDiscovery")  # no filter set first: must work
        _, added = self.c.wait_event(lambda e: e[0] == "added" and e[1] == DEV, what="InterfacesAdded")
        self.assertEqual(added[2][DEVICE]["RSSI"], -71)
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "RSSI", -71), what="RSSI update")
        self.c.call(HCI0, ADAPTER, "StopDiscovery")
        self.c.wait_event(lambda e: e[0] == "props" and e[1] == DEV and "RSSI" in e[4], what="RSSI invalidated")
        self.assertNotIn("RSSI", self.c.objects()[DEV][DEVICE])

    def test_filter_and_range(self):
        self.add_battery(known=False)
        self.add_battery(known=False, address="A4:C1:38:00:00:02", variant="fff0")
        self.add_battery(known=False, address="A4:C1:38:00:00:03", in_range=False)
        self.c.call(HCI0, ADAPTER, "SetDiscoveryFilter",
                    dbus.Dictionary({"Transport": "le", "UUIDs": dbus.Array(["ff00"], signature="s")}, signature="sv"))
        self.c.call(HCI0, ADAPTER, "StartDiscovery")
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "RSSI"), what="two reports")
        paths = {e[1] for e in self.c.events if e[0] == "added"}
        self.assertEqual(paths, {DEV})

    def test_discovery_session_ends_with_its_client(self):
        other = Client(self.bus.address)
        other.call(HCI0, ADAPTER, "StartDiscovery")
        self.c.wait_event(self.c.prop_event(HCI0, ADAPTER, "Discovering", True))
        with self.assertRaises(Exception) as ctx:
            self.c.call(HCI0, ADAPTER, "StopDiscovery")
        self.assertEqual(ctx.exception.get_dbus_message(), "No discovery started")
        other.close()
        self.c.wait_event(self.c.prop_event(HCI0, ADAPTER, "Discovering", False))

    def test_powered_off(self):
        self.add_battery()
        self.c.control("SetAdapterPowered", "hci0", False)
        for path, iface, method in ((HCI0, ADAPTER, "StartDiscovery"), (DEV, DEVICE, "Connect")):
            with self.assertRaises(Exception) as ctx:
                self.c.call(path, iface, method)
            self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.NotReady")


class Connection(FakeTestCase):
    def test_two_phase_connect_order(self):
        self.add_battery()
        self.connect()
        ev = self.c.events
        idx = lambda m: next(i for i, e in enumerate(ev) if m(e))  # noqa: E731
        connected = idx(self.c.prop_event(DEV, DEVICE, "Connected", True))
        reply = idx(lambda e: e[0] == "reply" and e[1] == "connect")
        service = idx(lambda e: e[0] == "added" and e[1] == SVC)
        desc = idx(lambda e: e[0] == "added" and e[1] == f"{FF01}/desc0012")
        resolved = idx(self.c.prop_event(DEV, DEVICE, "ServicesResolved", True))
        self.assertLess(connected, reply)
        self.assertLess(reply, service)
        self.assertLess(service, desc)
        self.assertLess(desc, resolved)
        objs = self.c.objects()
        self.assertEqual(objs[FF02][CHAR]["Flags"], ["read", "write-without-response"])
        self.assertEqual(objs[FF01][CHAR]["Flags"], ["read", "notify"])
        self.assertEqual(objs[SVC]["org.bluez.GattService1"]["UUID"], "0000ff00-0000-1000-8000-00805f9b34fb")
        self.c.call(DEV, DEVICE, "Connect")  # already connected: success
        self.assertEqual(self.c.state(ADDR)["connect_count"], 1)

    def test_read_basic_info(self):
        self.add_battery(bms={"current_a": -3.5, "cells_mv": [3400, 3401, 3402, 3403]})
        self.connect()
        self.subscribe()
        self.c.wait_event(self.c.prop_event(FF01, CHAR, "Notifying", True))
        self.request()
        [frame] = self.wait_frames(1)
        self.assertEqual(frame, jbd.BMSState({"current_a": -3.5, "cells_mv": [3400, 3401, 3402, 3403]}).reply(0x03))
        self.assertTrue(all(len(n) <= 20 for n in self.c.notifications(FF01)))
        self.assertEqual([len(n) for n in self.c.notifications(FF01)], [20, 14])
        with open(self.bus.write_log) as f:
            fields = f.read().split()
        self.assertEqual(fields[1:6], ["hci0", ADDR, "0000ff02-0000-1000-8000-00805f9b34fb", "command", "dda50300fffd77"])
        state = self.c.state(ADDR)
        self.assertEqual((state["requests_received"], state["replies_sent"]), (1, 1))

    def test_writes_are_answered_with_error_and_change_nothing(self):
        self.add_battery()
        self.connect()
        self.subscribe()
        before = self.c.state(ADDR)["bms"]
        self.request(bytes.fromhex("dd5ae1020002ff1b77"))
        [frame] = self.wait_frames(1)
        self.assertEqual(frame.hex(), "dde18000ff8077")
        self.assertEqual(self.c.state(ADDR)["bms"], before)
        self.assertEqual([w["hex"] for w in self.c.control("GetWriteLog")], ["dd5ae1020002ff1b77"])

    def test_no_notification_without_start_notify(self):
        self.add_battery()
        self.connect()
        self.request()
        self.c.wait(lambda: self.c.state(ADDR)["notifications_dropped"] >= 2, what="dropped notifications")
        self.assertEqual(self.c.notifications(FF01), [])

    def test_start_notify_twice(self):
        self.add_battery()
        self.connect()
        self.c.control("SetDelays", json.dumps({"notify_delay_ms": 200}))
        self.c.call_async("n1", FF01, CHAR, "StartNotify")
        self.c.call_async("n2", FF01, CHAR, "StartNotify")
        self.assertEqual(self.c.wait_reply("n2")[2], "org.bluez.Error.InProgress")
        self.assertEqual(self.c.wait_reply("n1")[0], "reply")
        self.c.call(FF01, CHAR, "StartNotify")  # already active: success

    def test_disconnect_removes_gatt(self):
        self.add_battery()
        self.connect()
        self.c.call(DEV, DEVICE, "Disconnect")
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False))
        ev = self.c.events
        resolved_false = next(i for i, e in enumerate(ev) if self.c.prop_event(DEV, DEVICE, "ServicesResolved", False)(e))
        removed = next(i for i, e in enumerate(ev) if e[0] == "removed" and e[1] == SVC)
        connected_false = next(i for i, e in enumerate(ev) if self.c.prop_event(DEV, DEVICE, "Connected", False)(e))
        self.assertLess(resolved_false, removed)
        self.assertLess(removed, connected_false)
        self.assertNotIn(FF01, self.c.objects())
        self.assertEqual(self.c.state(ADDR)["disconnect_count"], 1)

    def test_gatt_cache_keeps_objects_and_sessions(self):
        self.add_battery(gatt_cache=True)
        self.connect()
        self.subscribe()
        self.c.control("DropLink", ADDR)
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False))
        self.assertIn(FF01, self.c.objects())
        with self.assertRaises(Exception) as ctx:
            self.request()
        self.assertEqual((ctx.exception.get_dbus_name(), ctx.exception.get_dbus_message()),
                         ("org.bluez.Error.Failed", "Not connected"))
        with self.assertRaises(Exception) as ctx:
            self.subscribe()  # session survives the disconnect, waiting for re-registration
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.InProgress")
        del self.c.events[:]
        self.connect()
        self.request()
        self.assertEqual(len(self.wait_frames(1)), 1)

    def test_drop_link_order(self):
        self.add_battery()
        self.connect()
        self.c.control("DropLink", ADDR)
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False))
        kinds = [(e[0], e[1]) for e in self.c.events if e[1] == DEV and (e[0] != "props" or {"ServicesResolved", "Connected"} & set(e[3]))]
        self.assertEqual(kinds[-2:], [("props", DEV), ("props", DEV)])
        self.assertNotIn(SVC, self.c.objects())

    def test_pair_fails(self):
        self.add_battery()
        with self.assertRaises(Exception) as ctx:
            self.c.call(DEV, DEVICE, "Pair")
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.AuthenticationFailed")


class ConnectFaults(FakeTestCase):
    def test_abort_by_local(self):
        self.add_battery(faults={"connect_abort": 1})
        self.c.call_async("c", DEV, DEVICE, "Connect")
        reply = self.c.wait_reply("c")
        self.assertEqual(reply[2:], ("org.bluez.Error.Failed", "le-connection-abort-by-local"))
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False))
        self.connect()  # count exhausted: the retry works

    def test_hang_then_disconnect_cancels(self):
        self.add_battery(faults={"connect_hang": True})
        self.c.call_async("c1", DEV, DEVICE, "Connect")
        self.c.wait(lambda: self.c.state(ADDR)["connect_pending"], what="pending connect")
        self.c.call_async("c2", DEV, DEVICE, "Connect")
        self.assertEqual(self.c.wait_reply("c2")[2:], ("org.bluez.Error.Failed", "Operation already in progress"))
        self.c.call(DEV, DEVICE, "Disconnect")
        self.assertEqual(self.c.wait_reply("c1")[2:], ("org.bluez.Error.Failed", "br-connection-canceled"))

    def test_stale_pending_connect_cleared_by_disconnect(self):
        self.add_battery(faults={"stale_pending_connect": True})
        with self.assertRaises(Exception) as ctx:
            self.c.call(DEV, DEVICE, "Connect")
        self.assertEqual(ctx.exception.get_dbus_message(), "Operation already in progress")
        self.c.call(DEV, DEVICE, "Disconnect")
        self.connect()

    def test_out_of_range(self):
        self.add_battery(in_range=False)
        with self.assertRaises(Exception) as ctx:
            self.c.call(DEV, DEVICE, "Connect")
        self.assertEqual(ctx.exception.get_dbus_message(), "le-connection-abort-by-local")

    def test_services_never_resolve(self):
        self.add_battery(faults={"services_never_resolve": True})
        self.c.call(DEV, DEVICE, "Connect")
        self.c.control("SetDelays", json.dumps({}))
        self.assertTrue(self.c.state(ADDR)["connected"])
        self.assertNotIn(SVC, self.c.objects())

    def test_vanished_device(self):
        self.add_battery()
        self.c.control("RemoveDeviceObject", ADDR)
        self.c.wait_event(lambda e: e[0] == "removed" and e[1] == DEV)
        with self.assertRaises(Exception) as ctx:
            self.c.call(DEV, DEVICE, "Connect")
        self.assertEqual(ctx.exception.get_dbus_name(), "org.freedesktop.DBus.Error.UnknownObject")


class ReplyFaults(FakeTestCase):
    def start(self, **faults):
        self.add_battery(faults=faults)
        self.connect()
        self.subscribe()

    def test_corrupt_checksum(self):
        self.start(corrupt_checksum=1)
        self.request()
        self.request()
        frames = self.wait_frames(2)
        self.assertEqual(frames[0][0], "invalid")
        self.assertEqual(frames[1][1], 0x03)

    def test_garbage_and_stray_frames(self):
        self.start(garbage_prefix="0102", stray_frames=["dd058000ff8077"])
        self.request()
        frames = self.wait_frames(2)
        self.assertEqual(frames[0].hex(), "dd058000ff8077")
        self.assertEqual(frames[1][1], 0x03)
        self.assertEqual(self.c.notifications(FF01)[1][:2], b"\x01\x02")

    def test_random_chunks(self):
        self.start(random_chunks=True)
        for _ in range(5):
            self.request()
        frames = self.wait_frames(5)
        self.assertTrue(all(f[1] == 0x03 for f in frames))
        sizes = {len(n) for n in self.c.notifications(FF01)}
        self.assertTrue(sizes <= set(range(1, 21)) and len(sizes) > 2, sizes)

    def test_drop_first_reply_and_silent(self):
        self.start(drop_first_reply=True)
        self.request()
        self.request()
        self.assertEqual(len(self.wait_frames(1)), 1)
        self.c.control("SetFaults", ADDR, json.dumps({"silent": True}))
        self.request()
        self.c.wait(lambda: self.c.state(ADDR)["requests_received"] == 3)
        self.assertEqual(self.c.state(ADDR)["replies_sent"], 1)

    def test_drop_link_mid_frame(self):
        self.start(drop_link_mid_frame=True)
        self.request()
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False))
        self.assertEqual([len(n) for n in self.c.notifications(FF01)], [20])

    def test_inject_notification(self):
        self.start()
        self.c.control("InjectNotification", ADDR, "dd04000800010002000300040000ff77")
        self.c.wait(lambda: self.c.notifications(FF01))


class FFF0Variant(FakeTestCase):
    def test_fff0_paths(self):
        self.add_battery(variant="fff0")
        self.connect()
        objs = self.c.objects()
        notify, write = f"{DEV}/service001a/char001b", f"{DEV}/service001a/char001e"
        self.assertEqual(objs[notify][CHAR]["UUID"], "0000fff1-0000-1000-8000-00805f9b34fb")
        self.subscribe(notify)
        self.request(char=write)
        self.assertEqual(self.wait_frames(1, char=notify)[0][1], 0x03)


class Restart(FakeTestCase):
    def test_restart_reclaims_name_and_keeps_known_devices(self):
        self.add_battery(known=False)
        self.c.call(HCI0, ADAPTER, "StartDiscovery")
        self.c.wait_event(lambda e: e[0] == "added" and e[1] == DEV)
        self.connect()  # connected once: BlueZ now remembers the device
        self.bus.stop_fake(self.fake)
        self.c.wait_event(lambda e: e[0] == "owner" and e[3] == "", what="org.bluez gone")
        self.fake = self.bus.start_fake()
        self.c.wait_event(lambda e: e[0] == "owner" and e[3] != "", what="org.bluez back")
        dev = self.c.objects()[DEV][DEVICE]
        self.assertFalse(dev["Connected"])
        self.connect()
        with open(self.bus.state_file) as f:
            self.assertTrue(json.load(f)["batteries"][0]["known"])


if __name__ == "__main__":
    unittest.main()
