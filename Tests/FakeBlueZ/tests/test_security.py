"""Paired (echoing) and FF AA password modules over a real private bus, with a real agent object."""

import json
import unittest

import dbus
import dbus.service

from fakebluez import ffaa
from tests.client import DEVICE
from tests.test_fake_dbus import ADDR, DEV, FF01, READ_03, FakeTestCase, reassemble

AGENT_PATH = "/test/agent"
AGENT_MANAGER = "org.bluez.AgentManager1"


class Agent(dbus.service.Object):
    """An Agent1 on the test client's connection: answers RequestPasskey with a fixed passkey or an error."""

    def __init__(self, bus, passkey=None, error=None, silent=False):
        super().__init__(bus, AGENT_PATH)
        self.passkey, self.error, self.silent = passkey, error, silent
        self.calls = []

    @dbus.service.method("org.bluez.Agent1", in_signature="o", out_signature="u",
                         async_callbacks=("reply", "fail"))
    def RequestPasskey(self, device, reply=None, fail=None):
        self.calls.append(("RequestPasskey", str(device)))
        if self.silent:
            return
        if self.error:
            return fail(dbus.DBusException(self.error, name=self.error))
        reply(dbus.UInt32(self.passkey))

    @dbus.service.method("org.bluez.Agent1", in_signature="", out_signature="")
    def Cancel(self):
        self.calls.append(("Cancel",))


class SecurityCase(FakeTestCase):
    def register_agent(self, capability="KeyboardDisplay", **agent):
        self.agent = Agent(self.c.bus, **agent)
        self.addCleanup(self.agent.remove_from_connection)
        self.c.call("/org/bluez", AGENT_MANAGER, "RegisterAgent", dbus.ObjectPath(AGENT_PATH), capability)

    def pair(self):
        tag = f"pair{len(self.c.events)}"
        self.c.call_async(tag, DEV, DEVICE, "Pair")
        return self.c.wait_reply(tag)

    def write(self, payload):
        self.request(bytes(payload))

    def raw_notifications(self):
        return b"".join(self.c.notifications(FF01))

    def wait_bytes(self, n):
        return self.c.wait(lambda: (lambda b: b if len(b) >= n else None)(self.raw_notifications()),
                           3, f"{n} notified bytes")


class EchoUntilPaired(SecurityCase):
    def setUp(self):
        super().setUp()
        self.add_battery(security="echo_until_paired", pin="246810")

    def test_unpaired_module_echoes_every_write(self):
        self.connect()
        self.subscribe()
        self.write(READ_03)
        self.assertEqual(self.wait_bytes(7), READ_03)
        frames = reassemble(self.c.notifications(FF01))
        self.assertEqual(frames, [READ_03])  # the echo is itself a checksum-valid frame
        state = self.c.state(ADDR)
        self.assertEqual(state["echoed_writes"], 1)
        self.assertEqual(state["replies_sent"], 0)
        props = self.c.objects()[DEV][DEVICE]
        self.assertEqual((props["Paired"], props["Bonded"], props["Trusted"]), (False, False, False))

    def test_pair_with_right_pin_then_bms_answers(self):
        self.register_agent(passkey=246810)
        self.connect()
        self.assertEqual(self.pair()[0], "reply")
        self.assertEqual(self.agent.calls, [("RequestPasskey", DEV)])
        props = self.c.objects()[DEV][DEVICE]
        self.assertEqual((props["Paired"], props["Bonded"]), (True, True))
        self.c.call(DEV, "org.freedesktop.DBus.Properties", "Set", DEVICE, "Trusted", dbus.Boolean(True))
        self.assertTrue(self.c.state(ADDR)["trusted"])
        self.subscribe()
        self.write(READ_03)
        frame = self.wait_frames(1)[0]
        self.assertEqual(frame[:3], bytes.fromhex("dd0300"))
        self.assertEqual(self.pair()[::2], ("error", "org.bluez.Error.AlreadyExists"))

    def test_pair_connects_first_when_disconnected(self):
        self.register_agent(passkey=246810)
        self.assertEqual(self.pair()[0], "reply")
        self.assertTrue(self.c.state(ADDR)["connected"])

    def test_wrong_pin(self):
        self.register_agent(passkey=123456)
        self.connect()
        self.assertEqual(self.pair()[2:], ("org.bluez.Error.AuthenticationFailed", "Authentication Failed"))
        self.assertFalse(self.c.objects()[DEV][DEVICE]["Paired"])

    def test_no_agent(self):
        self.connect()
        self.assertEqual(self.pair()[2], "org.bluez.Error.AuthenticationFailed")

    def test_agent_that_cannot_type_a_passkey(self):
        self.register_agent(capability="NoInputNoOutput", passkey=246810)
        self.connect()
        self.assertEqual(self.pair()[2], "org.bluez.Error.AuthenticationFailed")
        self.assertEqual(self.agent.calls, [])

    def test_agent_rejects(self):
        self.register_agent(error="org.bluez.Error.Rejected")
        self.connect()
        self.assertEqual(self.pair()[2], "org.bluez.Error.AuthenticationFailed")

    def test_cancel_pairing_while_agent_is_asked(self):
        self.register_agent(silent=True)
        self.connect()
        self.c.call_async("pair", DEV, DEVICE, "Pair")
        self.c.wait(lambda: self.agent.calls, what="RequestPasskey")
        self.c.call(DEV, DEVICE, "CancelPairing")
        self.assertEqual(self.c.wait_reply("pair")[2], "org.bluez.Error.AuthenticationCanceled")
        self.c.wait(lambda: ("Cancel",) in self.agent.calls, what="agent Cancel")
        with self.assertRaises(dbus.DBusException) as ctx:
            self.c.call(DEV, DEVICE, "CancelPairing")
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.DoesNotExist")

    def test_agent_timeout(self):
        self.c.control("SetDelays", json.dumps({"agent_timeout_ms": 50}))
        self.register_agent(silent=True)
        self.connect()
        self.assertEqual(self.pair()[2], "org.bluez.Error.AuthenticationFailed")

    def test_default_agent_of_another_client_is_used(self):
        from tests.client import Client
        other = Client(self.bus.address)
        self.addCleanup(other.close)
        agent = Agent(other.bus, passkey=246810)
        self.addCleanup(agent.remove_from_connection)
        other.call("/org/bluez", AGENT_MANAGER, "RegisterAgent", dbus.ObjectPath(AGENT_PATH), "KeyboardOnly")
        other.call("/org/bluez", AGENT_MANAGER, "RequestDefaultAgent", dbus.ObjectPath(AGENT_PATH))
        self.connect()
        self.c.call_async("pair", DEV, DEVICE, "Pair")
        # The agent lives on the other connection: run the loop until the fake's call has reached it.
        self.assertEqual(self.c.wait_reply("pair")[0], "reply")
        self.assertEqual(agent.calls, [("RequestPasskey", DEV)])

    def test_agent_manager_errors(self):
        root = "/org/bluez"
        with self.assertRaises(dbus.DBusException) as ctx:
            self.c.call(root, AGENT_MANAGER, "RegisterAgent", dbus.ObjectPath(AGENT_PATH), "Telepathy")
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.InvalidArguments")
        with self.assertRaises(dbus.DBusException) as ctx:
            self.c.call(root, AGENT_MANAGER, "RequestDefaultAgent", dbus.ObjectPath(AGENT_PATH))
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.DoesNotExist")
        self.register_agent(passkey=1)
        with self.assertRaises(dbus.DBusException) as ctx:
            self.c.call(root, AGENT_MANAGER, "RegisterAgent", dbus.ObjectPath(AGENT_PATH), "")
        self.assertEqual(ctx.exception.get_dbus_name(), "org.bluez.Error.AlreadyExists")
        self.assertEqual(self.c.control("GetAgents")["agents"][self.c.unique_name]["capability"], "KeyboardDisplay")
        self.c.call(root, AGENT_MANAGER, "UnregisterAgent", dbus.ObjectPath(AGENT_PATH))
        self.assertEqual(self.c.control("GetAgents")["agents"], {})

    def test_forget_bond(self):
        self.register_agent(passkey=246810)
        self.connect()
        self.pair()
        self.c.control("ForgetBond", ADDR)
        self.c.wait_event(self.c.prop_event(DEV, DEVICE, "Connected", False), what="link drop")
        self.c.events.clear()
        self.connect()
        with self.assertRaises(dbus.DBusException) as ctx:
            self.subscribe()
        self.assertEqual((ctx.exception.get_dbus_name(), ctx.exception.get_dbus_message()),
                         ("org.bluez.Error.Failed", "Operation failed with ATT error: 0x0e"))
        with self.assertRaises(dbus.DBusException) as ctx:
            self.write(READ_03)
        self.assertIn("ATT error: 0x0e", ctx.exception.get_dbus_message())
        self.assertTrue(self.c.objects()[DEV][DEVICE]["Paired"])  # the host still holds its keys
        self.assertEqual(self.pair()[2], "org.bluez.Error.AlreadyExists")
        # Remedy: remove the device, then pair again.
        self.c.call("/org/bluez/hci0", "org.bluez.Adapter1", "RemoveDevice", dbus.ObjectPath(DEV))
        self.assertFalse(self.c.state(ADDR)["paired"])

    def test_pairing_survives_a_restart(self):
        self.register_agent(passkey=246810)
        self.pair()
        self.bus.stop_fake(self.fake)
        self.bus.start_fake()
        self.assertTrue(self.c.objects()[DEV][DEVICE]["Paired"])


class ClassicPair(SecurityCase):
    def test_unsupported_by_default(self):
        self.add_battery()
        self.connect()
        self.assertEqual(self.pair()[2], "org.bluez.Error.AuthenticationFailed")

    def test_just_works_needs_no_agent(self):
        self.add_battery(classic_pairing="just_works")
        self.connect()
        self.assertEqual(self.pair()[0], "reply")
        self.assertTrue(self.c.objects()[DEV][DEVICE]["Bonded"])

    def test_bad_security_settings_are_refused(self):
        self.add_battery()
        for bad in ({"security": "pin"}, {"pin": "12345"}, {"password": "1234567"}, {"ffaa_challenge": 256},
                    {"ffaa_challenge": True}, {"classic_pairing": "always"},
                    {"colour": 1}):
            with self.subTest(bad=bad), self.assertRaises(dbus.DBusException):
                self.c.control("SetSecurity", ADDR, json.dumps(bad))
        self.assertEqual(self.c.state(ADDR)["security"], "classic")


class FFAAPassword(SecurityCase):
    def setUp(self):
        super().setUp()
        self.add_battery(security="ffaa_password", password="123456", ffaa_challenge=0x24)
        self.connect()
        self.subscribe()

    def unlock(self, password="123456"):
        self.write(ffaa.frame(ffaa.CMD_APP_KEY, b"000000"))
        self.write(ffaa.frame(ffaa.CMD_CHALLENGE))
        self.write(ffaa.frame(ffaa.CMD_PASSWORD, ffaa.encode_password(ADDR, password, 0x24)))
        return self.wait_bytes(18)

    def test_locked_module_answers_nothing(self):
        self.write(READ_03)
        self.write(ffaa.frame(ffaa.CMD_APP_KEY, b"000000"))
        # The app-key reply arriving proves the DD request (written first) was swallowed, not delayed.
        self.assertEqual(self.wait_bytes(6), bytes.fromhex("ffaa15010016"))
        self.assertEqual(self.c.state(ADDR)["replies_sent"], 0)

    def test_right_password_then_reads(self):
        replies = self.unlock()
        self.assertEqual(replies.hex(), "ffaa15010016" + "ffaa1701243c" + "ffaa18010019")
        self.assertTrue(self.c.state(ADDR)["ffaa_unlocked"])
        self.write(READ_03)
        self.assertEqual(self.c.wait(lambda: reassemble([self.raw_notifications()[18:]]), 3, "frame")[0][:2],
                         bytes.fromhex("dd03"))

    def test_wrong_password(self):
        self.assertEqual(self.unlock("000000")[-6:].hex(), "ffaa1801011a")
        self.assertFalse(self.c.state(ADDR)["ffaa_unlocked"])

    def test_unlock_is_per_connection(self):
        self.unlock()
        self.c.call(DEV, DEVICE, "Disconnect")
        self.c.events.clear()
        self.connect()
        self.subscribe()
        self.assertFalse(self.c.state(ADDR)["ffaa_unlocked"])

    def test_forbidden_frames_are_recorded_and_unanswered(self):
        for cmd, data in ((0x16, b"654321"), (0x1D, b"\x01"), (0x07, b"pwned")):
            self.write(ffaa.frame(cmd, data))
        self.write(ffaa.frame(ffaa.CMD_APP_KEY, b"000000"))
        self.assertEqual(self.wait_bytes(6).hex(), "ffaa15010016")
        state = self.c.state(ADDR)
        self.assertEqual(len(state["forbidden_writes"]), 3)
        logged = [w["hex"] for w in self.c.control("GetWriteLog")]
        self.assertIn(ffaa.frame(0x16, b"654321").hex(), logged)
        with open(self.bus.write_log) as f:
            sixth = [line.split()[5] for line in f]
        self.assertEqual(sixth[-4:], [ffaa.frame(0x16, b"654321").hex(), ffaa.frame(0x1D, b"\x01").hex(),
                                      ffaa.frame(0x07, b"pwned").hex(), "ffaa15063030303030303b"])

    def test_no_password_set(self):
        self.c.control("SetSecurity", ADDR, json.dumps({"password": None}))
        self.c.call(DEV, DEVICE, "Disconnect")
        self.c.events.clear()
        self.connect()
        self.subscribe()
        self.write(ffaa.frame(ffaa.CMD_APP_KEY, b"000000"))
        self.assertEqual(self.wait_bytes(6).hex(), "ffaa15010218")
        self.write(READ_03)
        self.assertEqual(self.c.wait(lambda: reassemble([self.raw_notifications()[6:]]), 3, "frame")[0][:2],
                         bytes.fromhex("dd03"))


if __name__ == "__main__":
    unittest.main()
