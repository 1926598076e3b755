"""Several adapters: pinning, unplug/re-plug, power, the controller's link limit and connect serialisation."""

import json
import unittest

import dbus

from tests.client import ADAPTER, DEVICE
from tests.test_fake_dbus import ADDR, DEV, FakeTestCase

HCI1 = "/org/bluez/hci1"
PROPS = "org.freedesktop.DBus.Properties"


def address(i):
    return f"A4:C1:38:00:01:{i:02X}"


def dev_path(adapter, i):
    return f"/org/bluez/{adapter}/dev_{address(i).replace(':', '_')}"


class AdapterCase(FakeTestCase):
    def add(self, i, adapter="hci0"):
        self.c.control("AddBattery", json.dumps({"address": address(i), "known": True, "adapter": adapter}))
        return dev_path(adapter, i)

    def connect_all(self, paths):
        """Issue every Connect before any reply can arrive; returns {path: reply event}."""
        for path in paths:
            self.c.call_async(path, path, DEVICE, "Connect")
        return {path: self.c.wait_reply(path) for path in paths}

    def stats(self, adapter="hci0"):
        return self.c.control("GetConnectStats", adapter)


class TwoAdapters(AdapterCase):
    def setUp(self):
        super().setUp()
        self.assertEqual(self.c.control("AddAdapter", "hci1", "{}")["path"], HCI1)
        self.on0 = self.add(1, "hci0")
        self.on1 = self.add(2, "hci1")

    def test_batteries_are_pinned(self):
        objects = self.c.objects()
        self.assertEqual(objects[self.on1][DEVICE]["Adapter"], HCI1)
        self.assertNotIn(dev_path("hci0", 2), objects)
        self.assertNotEqual(objects[HCI1][ADAPTER]["Address"], objects["/org/bluez/hci0"][ADAPTER]["Address"])

    def test_unplug_removes_adapter_and_its_devices_only(self):
        self.connect(self.on0)
        self.connect(self.on1)
        self.c.events.clear()
        self.c.control("UnplugAdapter", "hci1")
        self.c.wait_event(lambda e: e[0] == "removed" and e[1] == HCI1, what="adapter removed")
        removed = [e[1] for e in self.c.events if e[0] == "removed"]
        self.assertEqual(removed[-2:], [self.on1, HCI1])  # devices before their adapter
        self.assertNotIn(HCI1, self.c.objects())
        self.assertTrue(self.c.state(address(1))["connected"])
        with self.assertRaises(dbus.DBusException):
            self.c.control("GetConnectStats", "hci1")
        self.c.control("PlugAdapter", "hci1")
        objects = self.c.objects()
        self.assertIn(HCI1, objects)
        self.assertFalse(objects[self.on1][DEVICE]["Connected"])
        self.connect(self.on1)

    def test_unplugged_adapter_stays_unplugged_across_restart(self):
        self.c.control("UnplugAdapter", "hci1")
        self.bus.stop_fake(self.fake)
        self.bus.start_fake()
        self.assertNotIn(HCI1, self.c.objects())
        self.c.control("PlugAdapter", "hci1")
        self.assertIn(self.on1, self.c.objects())

    def test_power_off_through_properties_drops_only_that_adapters_links(self):
        self.connect(self.on0)
        self.connect(self.on1)
        self.c.call(HCI1, PROPS, "Set", ADAPTER, "Powered", dbus.Boolean(False))
        self.assertFalse(self.c.state(address(2))["connected"])
        self.assertTrue(self.c.state(address(1))["connected"])
        self.c.call_async("c", self.on1, DEVICE, "Connect")
        self.assertEqual(self.c.wait_reply("c")[2], "org.bluez.Error.NotReady")
        self.c.call(HCI1, PROPS, "Set", ADAPTER, "Powered", dbus.Boolean(True))
        self.c.events.clear()
        self.connect(self.on1)


class ControllerLimits(AdapterCase):
    def test_link_limit(self):
        self.c.control("SetAdapter", "hci0", json.dumps({"max_le_links": 2}))
        paths = [self.add(i) for i in range(3)]
        for path in paths[:2]:
            self.assertEqual(self.connect_all([path])[path][0], "reply")
        self.c.call_async("third", paths[2], DEVICE, "Connect")
        self.assertEqual(self.c.wait_reply("third")[2:],
                         ("org.bluez.Error.Failed", "le-connection-concurrent-connection-limit"))
        stats = self.stats()
        self.assertEqual((stats["current_links"], stats["link_limit_rejections"]), (2, 1))
        self.c.call(paths[0], DEVICE, "Disconnect")
        self.c.events.clear()
        self.connect(paths[2])

    def test_concurrent_connects_are_counted(self):
        paths = [self.add(i) for i in range(3)]
        replies = self.connect_all(paths)
        self.assertTrue(all(r[0] == "reply" for r in replies.values()), replies)
        self.assertEqual(self.stats()["max_concurrent_connects"], 3)
        self.c.control("ResetConnectStats", "hci0")
        for path in paths:
            self.c.call(path, DEVICE, "Disconnect")
        self.c.events.clear()
        for path in paths:
            self.assertEqual(self.connect_all([path])[path][0], "reply")
        stats = self.stats()
        self.assertEqual((stats["max_concurrent_connects"], stats["connects"], stats["current_links"]), (1, 3, 3))

    def test_busy_controller_rejects_a_second_outstanding_connect(self):
        self.c.control("SetAdapter", "hci0", json.dumps({"reject_concurrent_connects": True}))
        paths = [self.add(i) for i in range(2)]
        replies = self.connect_all(paths)
        self.assertEqual(replies[paths[0]][0], "reply")
        self.assertEqual(replies[paths[1]][2:], ("org.bluez.Error.Failed", "le-connection-busy"))
        stats = self.stats()
        self.assertEqual((stats["max_concurrent_connects"], stats["concurrent_connect_rejections"]), (1, 1))

    def test_wedged_until_power_cycle(self):
        path = self.add(1)
        self.c.control("SetAdapter", "hci0", json.dumps({"wedged": True}))
        self.c.call_async("c", path, DEVICE, "Connect")
        self.assertEqual(self.c.wait_reply("c")[3], "le-connection-abort-by-local")
        self.c.call("/org/bluez/hci0", PROPS, "Set", ADAPTER, "Powered", dbus.Boolean(False))
        self.c.call("/org/bluez/hci0", PROPS, "Set", ADAPTER, "Powered", dbus.Boolean(True))
        self.assertFalse(self.c.control("GetState", "")["adapters"]["hci0"]["wedged"])
        self.connect(path)
        self.assertEqual(self.stats()["wedged_connects"], 1)

    def test_bad_adapter_settings_are_refused(self):
        for bad in ({"max_le_links": 0}, {"max_le_links": "7"}, {"wedged": "yes"}, {"address": "00:00:00:00:00:01"}, {"x": 1}):
            with self.subTest(bad=bad), self.assertRaises(dbus.DBusException):
                self.c.control("SetAdapter", "hci0", json.dumps(bad))
        self.assertEqual(self.stats()["max_le_links"], 7)
        for bad in ({"address": 5}, {"address": "00:1A"}, {"powered": "on"}):
            with self.subTest(bad=bad), self.assertRaises(dbus.DBusException) as ctx:
                self.c.control("AddAdapter", "hci9", json.dumps(bad))
            self.assertEqual(ctx.exception.get_dbus_name(), "io.bmsexporter.FakeControl1.Error")
        self.assertNotIn("/org/bluez/hci9", self.c.objects())
        self.assertEqual(self.c.control("AddAdapter", "hci9", "{}")["path"], "/org/bluez/hci9")

    def test_pair_connect_is_counted_too(self):
        self.c.control("AddBattery", json.dumps({"address": ADDR, "known": True, "classic_pairing": "just_works"}))
        self.c.call_async("p", DEV, DEVICE, "Pair")
        self.assertEqual(self.c.wait_reply("p")[0], "reply")
        self.assertEqual(self.stats()["connects"], 1)


if __name__ == "__main__":
    unittest.main()
