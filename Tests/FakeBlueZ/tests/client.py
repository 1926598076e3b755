"""A small recording D-Bus client for the fake's own tests (dbus-python + GLib)."""

import json
import time

import dbus
import dbus.bus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

DBusGMainLoop(set_as_default=True)

PROPS = "org.freedesktop.DBus.Properties"
OM = "org.freedesktop.DBus.ObjectManager"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
CHAR = "org.bluez.GattCharacteristic1"
CONTROL = "io.bmsexporter.FakeControl1"


def plain(value):
    """dbus-python values -> plain Python values."""
    if isinstance(value, dbus.Array) and value.signature == "y":
        return bytes(value)
    if isinstance(value, (dbus.Array, list)):
        return [plain(v) for v in value]
    if isinstance(value, (dbus.Dictionary, dict)):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.String, dbus.ObjectPath)):
        return str(value)
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.UInt16, dbus.Int32, dbus.UInt32, dbus.Int64, dbus.UInt64)):
        return int(value)
    return value


class Client:
    def __init__(self, address):
        self.bus = dbus.bus.BusConnection(address)
        self.events = []  # ("props", path, iface, changed, invalidated) | ("added", path, ifaces) | ("removed", path, ifaces) | ("reply", tag, result) | ("error", tag, name, message) | ("owner", name, old, new)
        self.bus.add_signal_receiver(self._props, "PropertiesChanged", PROPS, "org.bluez", path_keyword="path")
        self.bus.add_signal_receiver(lambda p, i: self.events.append(("added", str(p), plain(i))),
                                     "InterfacesAdded", OM, "org.bluez")
        self.bus.add_signal_receiver(lambda p, i: self.events.append(("removed", str(p), plain(i))),
                                     "InterfacesRemoved", OM, "org.bluez")
        self.bus.add_signal_receiver(lambda n, o, w: self.events.append(("owner", str(n), str(o), str(w))),
                                     "NameOwnerChanged", "org.freedesktop.DBus", arg0="org.bluez")

    def _props(self, iface, changed, invalidated, path=None):
        self.events.append(("props", str(path), str(iface), plain(changed), plain(invalidated)))

    def close(self):
        self.bus.close()

    @property
    def unique_name(self):
        return self.bus.get_unique_name()

    def call(self, path, iface, method, *args, timeout=5):
        obj = self.bus.get_object("org.bluez", path, introspect=False)
        return plain(obj.get_dbus_method(method, iface)(*args, timeout=timeout))

    def call_async(self, tag, path, iface, method, *args, timeout=25):
        obj = self.bus.get_object("org.bluez", path, introspect=False)
        obj.get_dbus_method(method, iface)(
            *args, timeout=timeout,
            reply_handler=lambda *r: self.events.append(("reply", tag, plain(list(r)))),
            error_handler=lambda e: self.events.append(("error", tag, e.get_dbus_name(), e.get_dbus_message())))

    def control(self, method, *args):
        result = self.call("/io/bmsexporter/Fake", CONTROL, method, *args)
        return json.loads(result) if isinstance(result, str) and result else result

    def state(self, address):
        return self.control("GetState", address)

    def objects(self):
        return self.call("/", OM, "GetManagedObjects")

    def wait(self, predicate, timeout=5.0, what="condition"):
        """Run the main loop until predicate() is truthy; fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        ctx = GLib.MainContext.default()
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            wake = GLib.timeout_add(max(1, int(remaining * 1000)), lambda: False)
            ctx.iteration(True)
            GLib.source_remove(wake) if ctx.find_source_by_id(wake) else None

    def wait_event(self, match, timeout=5.0, what="event"):
        """Wait for the first recorded event satisfying match(event); returns (index, event)."""
        def find():
            for i, e in enumerate(self.events):
                if match(e):
                    return (i, e)
            return None
        return self.wait(find, timeout, what)

    def wait_reply(self, tag, timeout=5.0):
        _, e = self.wait_event(lambda e: e[0] in ("reply", "error") and e[1] == tag, timeout, f"reply {tag}")
        return e

    def prop_event(self, path, iface, key, value=None):
        def match(e):
            return (e[0] == "props" and e[1] == path and e[2] == iface and key in e[3]
                    and (value is None or e[3][key] == value))
        return match

    def notifications(self, char_path):
        return [e[3]["Value"] for e in self.events if e[0] == "props" and e[1] == char_path and "Value" in e[3]]
