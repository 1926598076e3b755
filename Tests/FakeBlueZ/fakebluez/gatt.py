"""GATT services, characteristics and descriptors as BlueZ 5.66 exports them for a JBD module."""

import dbus
import dbus.service

from .dbusobj import (Exported, byte_array, failed, in_progress, not_permitted,
                      not_supported, string_array)

SERVICE = "org.bluez.GattService1"
CHARACTERISTIC = "org.bluez.GattCharacteristic1"
DESCRIPTOR = "org.bluez.GattDescriptor1"

ATT_MTU = 23  # JBD modules never negotiate a larger MTU: at most 20 bytes per notification


def uuid16(short):
    return f"0000{short}-0000-1000-8000-00805f9b34fb"


CCCD = uuid16("2902")

# (service handle, uuid, [(char decl handle, uuid, role, flags, [(desc handle, uuid)])])
# Value handle = declaration + 1, so ff01 has value handle 0x11 and ff02 0x15 as on real modules.
# role: "notify" = BMS -> host, "write" = host -> BMS, None = not part of the UART bridge.
LAYOUTS = {
    "ff00": [
        (0x0008, uuid16("1801"), [(0x0009, uuid16("2a05"), None, ["indicate"], [(0x000b, CCCD)])]),
        (0x000f, uuid16("ff00"), [(0x0010, uuid16("ff01"), "notify", ["read", "notify"], [(0x0012, CCCD)]),
                                  (0x0014, uuid16("ff02"), "write", None, [])]),
    ],
    "fff0": [
        (0x0008, uuid16("1801"), [(0x0009, uuid16("2a05"), None, ["indicate"], [(0x000b, CCCD)])]),
        (0x001a, uuid16("fff0"), [(0x001b, uuid16("fff1"), "notify", ["read", "notify"], [(0x001d, CCCD)]),
                                  (0x001e, uuid16("fff2"), "write", None, [])]),
    ],
}

# GAP is discovered too (it shows up in Device1.UUIDs) but BlueZ claims it and does not export it.
RESOLVED_UUIDS = {variant: sorted([uuid16("1800")] + [svc[1] for svc in layout])
                  for variant, layout in LAYOUTS.items()}


def build(tree, device, write_flags):
    """Create (not yet exported) GATT objects for the device's variant, parents first."""
    objects = []
    for handle, uuid, chars in LAYOUTS[device.battery.variant]:
        service = GattService(tree, device, handle, uuid)
        objects.append(service)
        for chandle, cuuid, role, flags, descs in chars:
            char = GattCharacteristic(tree, device, service, chandle, cuuid, role,
                                      write_flags if role == "write" else flags)
            objects.append(char)
            for dhandle, duuid in descs:
                objects.append(GattDescriptor(tree, device, char, dhandle, duuid))
    return objects


class GattService(Exported):
    def __init__(self, tree, device, handle, uuid):
        super().__init__(tree, f"{device.path}/service{handle:04x}")
        self.props[SERVICE] = {
            "UUID": dbus.String(uuid),
            "Device": dbus.ObjectPath(device.path),
            "Primary": dbus.Boolean(True),
            "Handle": dbus.UInt16(handle),
        }


class GattCharacteristic(Exported):
    def __init__(self, tree, device, service, handle, uuid, role, flags):
        super().__init__(tree, f"{service.path}/char{handle:04x}")
        self.device = device
        self.role = role
        self.flags = list(flags)
        self.sessions = {}  # sender -> True once the CCCD write completed (BlueZ notify_id != 0)
        self.pending = {}   # sender -> (reply, error) of a StartNotify waiting for its CCCD write
        props = {
            "UUID": dbus.String(uuid),
            "Service": dbus.ObjectPath(service.path),
            "Flags": string_array(self.flags),
            "MTU": dbus.UInt16(ATT_MTU),
            "Handle": dbus.UInt16(handle + 1),
        }
        if self.can_notify:
            props["Notifying"] = dbus.Boolean(False)
            props["NotifyAcquired"] = dbus.Boolean(False)
        if "write-without-response" in self.flags:
            props["WriteAcquired"] = dbus.Boolean(False)
        self.props[CHARACTERISTIC] = props

    @property
    def can_notify(self):
        return "notify" in self.flags or "indicate" in self.flags

    @property
    def notifying(self):
        return any(self.sessions.values())

    def notify(self, chunk):
        """One ATT notification -> one PropertiesChanged(Value), even if the value repeats."""
        self.set_props(CHARACTERISTIC, {"Value": byte_array(chunk)}, force=("Value",))

    def activate_sessions(self):
        """GATT client ready again: re-register every surviving session (BlueZ does this itself)."""
        for sender in self.sessions:
            self.sessions[sender] = True
        if self.sessions:
            self.set_props(CHARACTERISTIC, {"Notifying": dbus.Boolean(True)})

    def suspend_sessions(self):
        """Link gone but GATT cache kept: sessions stay, waiting for the next connection."""
        for sender in self.sessions:
            self.sessions[sender] = False

    def drop_sender(self, sender):
        self.pending.pop(sender, None)
        if self.sessions.pop(sender, None) is not None and not self.sessions and self.can_notify:
            self.set_props(CHARACTERISTIC, {"Notifying": dbus.Boolean(False)})

    @dbus.service.method(CHARACTERISTIC, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        if not self.device.connected:
            raise failed("Not connected")
        if "read" not in self.flags:
            raise not_permitted("Read not permitted")
        return byte_array(bytes(self.prop(CHARACTERISTIC, "Value", [])))

    @dbus.service.method(CHARACTERISTIC, in_signature="aya{sv}", out_signature="",
                         sender_keyword="sender")
    def WriteValue(self, value, options, sender=None):
        kind = str(options["type"]) if "type" in options else None
        self.device.world.log_write(self.device, self, bytes(value), kind, sender)
        if not self.device.connected:
            raise failed("Not connected")
        if self.device.security_error():
            raise self.device.security_error()
        if kind == "command" and "write-without-response" not in self.flags:
            raise not_supported()
        if kind == "request" and "write" not in self.flags:
            raise not_permitted("Write not permitted")  # ATT error 0x03 from the module
        if kind is None and not {"write", "write-without-response"} & set(self.flags):
            raise not_supported()
        if kind not in (None, "command", "request"):
            raise not_supported()
        if self.role == "write":
            self.device.module_receive(bytes(value))

    @dbus.service.method(CHARACTERISTIC, in_signature="", out_signature="",
                         sender_keyword="sender", async_callbacks=("reply", "error"))
    def StartNotify(self, sender=None, reply=None, error=None):
        if not self.can_notify:
            return error(not_supported())
        if self.device.connected and self.device.security_error():
            return error(self.device.security_error())
        if sender in self.sessions:
            # 5.66: an active session answers success, one still registering InProgress.
            return reply() if self.sessions[sender] else error(in_progress())
        self.sessions[sender] = False
        self.device.world.watch_sender(sender)
        if not self.device.connected:
            return reply()  # registered when the GATT client becomes ready again

        self.pending[sender] = (reply, error)
        self.device.timers.after(self.device.world.delay("notify_delay_ms"), self._enabled, sender)

    def _enabled(self, sender):
        reply, _ = self.pending.pop(sender)
        self.sessions[sender] = True
        self.set_props(CHARACTERISTIC, {"Notifying": dbus.Boolean(True)})
        reply()

    def abort_pending(self):
        """The link dropped while CCCD writes were in flight: those StartNotify calls fail."""
        for sender, (_, error) in list(self.pending.items()):
            self.sessions.pop(sender, None)
            error(failed("Not connected"))
        self.pending.clear()

    @dbus.service.method(CHARACTERISTIC, in_signature="", out_signature="", sender_keyword="sender")
    def StopNotify(self, sender=None):
        if sender not in self.sessions:
            raise failed("No notify session started")
        self.drop_sender(sender)

    @dbus.service.method(CHARACTERISTIC, in_signature="a{sv}", out_signature="hq")
    def AcquireNotify(self, options):
        raise not_supported()  # not emulated: use StartNotify (bleak's default too)

    @dbus.service.method(CHARACTERISTIC, in_signature="a{sv}", out_signature="hq")
    def AcquireWrite(self, options):
        raise not_supported()  # not emulated: use WriteValue


class GattDescriptor(Exported):
    def __init__(self, tree, device, char, handle, uuid):
        super().__init__(tree, f"{char.path}/desc{handle:04x}")
        self.device = device
        self.props[DESCRIPTOR] = {
            "UUID": dbus.String(uuid),
            "Characteristic": dbus.ObjectPath(char.path),
            "Handle": dbus.UInt16(handle),
        }

    @dbus.service.method(DESCRIPTOR, in_signature="a{sv}", out_signature="ay")
    def ReadValue(self, options):
        if not self.device.connected:
            raise failed("Not connected")
        return byte_array(b"\x00\x00")

    @dbus.service.method(DESCRIPTOR, in_signature="aya{sv}", out_signature="", sender_keyword="sender")
    def WriteValue(self, value, options, sender=None):
        self.device.world.log_write(self.device, self, bytes(value), None, sender)
        if not self.device.connected:
            raise failed("Not connected")
        raise not_permitted("Write not permitted")  # BlueZ refuses direct CCCD writes
