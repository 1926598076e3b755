"""org.bluez.Device1 for a JBD battery: two-phase connect, link loss, the UART bridge behind ff01/ff02."""

import random

import dbus
import dbus.service

from . import gatt, jbd
from .dbusobj import BluezError, Exported, byte_array, failed, not_ready, string_array
from .timers import Timers

DEVICE = "org.bluez.Device1"

ERR_ABORT_BY_LOCAL = "le-connection-abort-by-local"
ERR_CANCELED = "br-connection-canceled"
ERR_ALREADY = "Operation already in progress"  # strerror(EALREADY)


def device_path(adapter_path, address):
    return f"{adapter_path}/dev_{address.upper().replace(':', '_')}"


class Device(Exported):
    def __init__(self, world, adapter, battery, temporary):
        super().__init__(world.tree, device_path(adapter.path, battery.address))
        self.world = world
        self.adapter = adapter
        self.battery = battery
        self.temporary = temporary
        self.timers = Timers()          # everything tied to the current link
        self.expiry = Timers()          # temporary-device removal
        self.connected = False
        self.pending_connect = None     # (reply, error) of a Connect waiting for the link
        self.disconnects = []           # replies of Disconnect calls waiting for the link to go
        self.gatt_objects = []
        self.outbox = bytearray()       # UART bytes queued for notification
        self.pumping = False
        self.answered_since_connect = 0
        self.rng = random.Random(battery.address)
        name = battery.name
        props = {
            "Address": dbus.String(battery.address),
            "AddressType": dbus.String(battery.address_type),
            "Alias": dbus.String(name or battery.address.replace(":", "-")),
            "Paired": dbus.Boolean(False),
            "Bonded": dbus.Boolean(False),
            "Trusted": dbus.Boolean(False),
            "Blocked": dbus.Boolean(False),
            "LegacyPairing": dbus.Boolean(False),
            "Connected": dbus.Boolean(False),
            "UUIDs": string_array(battery.advertised_uuids()),
            "Adapter": dbus.ObjectPath(adapter.path),
            "ServicesResolved": dbus.Boolean(False),
        }
        if name:
            props["Name"] = dbus.String(name)
        self.props[DEVICE] = props

    # ------------------------------------------------------------------ advertising
    def advertisement_seen(self):
        """An advertising report while discovering: RSSI (re-)emitted every time, like DuplicateData."""
        self.expiry.cancel_all()
        b = self.battery
        changed = {"RSSI": dbus.Int16(b.rssi), "AdvertisingFlags": byte_array([0x06])}
        if b.name:
            changed["Name"] = dbus.String(b.name)
        if b.manufacturer_data:
            changed["ManufacturerData"] = dbus.Dictionary(
                {dbus.UInt16(int(k, 0)): dbus.Array(byte_array(bytes.fromhex(v)), variant_level=1)
                 for k, v in b.manufacturer_data.items()}, signature="qv")
        if b.service_data:
            changed["ServiceData"] = dbus.Dictionary(
                {dbus.String(k): dbus.Array(byte_array(bytes.fromhex(v)), variant_level=1)
                 for k, v in b.service_data.items()}, signature="sv")
        self.set_props(DEVICE, changed, force=("RSSI",))

    def discovery_stopped(self):
        self.set_props(DEVICE, {}, invalidated=("RSSI",))
        if self.temporary and not self.connected and self.pending_connect is None:
            self.expiry.after(self.world.delay("temporary_timeout_ms"), self.world.remove_device, self)

    # ------------------------------------------------------------------ Device1 methods
    @dbus.service.method(DEVICE, in_signature="", out_signature="", async_callbacks=("reply", "error"))
    def Connect(self, reply=None, error=None):
        b = self.battery
        if not self.adapter.powered:
            return error(not_ready())
        if self.connected:
            return reply()
        if self.pending_connect is not None or b.take_fault("stale_pending_connect", consume=False):
            return error(failed(ERR_ALREADY))
        b.stats["connect_attempts"] += 1
        self.temporary = False
        self.expiry.cancel_all()
        self.pending_connect = (reply, error)
        if not b.in_range:
            self.timers.after(self.world.delay("absent_connect_timeout_ms"), self._connect_failed, ERR_ABORT_BY_LOCAL)
        elif b.take_fault("connect_abort"):
            self.timers.after(self.world.delay("connect_delay_ms"), self._connect_aborted)
        elif b.take_fault("connect_hang"):
            pass  # answered only by Disconnect / DropLink
        else:
            self.timers.after(self.world.delay("connect_delay_ms"), self._link_up)

    @dbus.service.method(DEVICE, in_signature="", out_signature="", async_callbacks=("reply", "error"))
    def Disconnect(self, reply=None, error=None):
        self.battery.faults.pop("stale_pending_connect", None)  # a Disconnect clears a stale connect
        if self.pending_connect is not None:
            self._connect_failed(ERR_CANCELED)
            return reply()
        if not self.connected:
            return reply()
        self.disconnects.append(reply)
        self.timers.after(self.world.delay("disconnect_delay_ms"), self.link_down)

    @dbus.service.method(DEVICE, in_signature="", out_signature="", async_callbacks=("reply", "error"))
    def Pair(self, reply=None, error=None):
        # JBD modules have no SMP support: pairing always fails.
        self.timers.after(self.world.delay("connect_delay_ms"), error,
                          BluezError("org.bluez.Error.AuthenticationFailed", "Authentication Failed"))

    @dbus.service.method(DEVICE, in_signature="", out_signature="")
    def CancelPairing(self):
        raise BluezError("org.bluez.Error.DoesNotExist", "Does Not Exist")

    @dbus.service.method(DEVICE, in_signature="s", out_signature="")
    def ConnectProfile(self, uuid):
        raise BluezError("org.bluez.Error.NotAvailable", "Operation currently not available")

    @dbus.service.method(DEVICE, in_signature="s", out_signature="")
    def DisconnectProfile(self, uuid):
        raise BluezError("org.bluez.Error.NotAvailable", "Operation currently not available")

    def on_set(self, interface, name, value):
        if name == "Alias":
            return dbus.String(value or self.battery.name or self.battery.address.replace(":", "-"))
        if name in ("Trusted", "Blocked", "WakeAllowed"):
            return dbus.Boolean(value)
        return super().on_set(interface, name, value)

    # ------------------------------------------------------------------ link state machine
    def _connect_failed(self, message):
        self.timers.cancel_all()
        reply_error = self.pending_connect[1]
        self.pending_connect = None
        reply_error(failed(message))

    def _connect_aborted(self):
        """The link came up and was torn down at once: Connected flips true, the call fails, then false."""
        self.set_props(DEVICE, {"Connected": dbus.Boolean(True)})
        self._connect_failed(ERR_ABORT_BY_LOCAL)
        self.timers.after(self.world.delay("disconnect_delay_ms"), self._abort_cleanup)

    def _abort_cleanup(self):
        self.battery.stats["disconnect_count"] += 1
        self.set_props(DEVICE, {"Connected": dbus.Boolean(False)})

    def _link_up(self):
        reply = self.pending_connect[0]
        self.pending_connect = None
        self.connected = True
        self.answered_since_connect = 0
        self.battery.stats["connect_count"] += 1
        self.battery.known = True
        self.set_props(DEVICE, {"Connected": dbus.Boolean(True)})
        reply()
        self.world.save()
        if not self.battery.take_fault("services_never_resolve"):
            resolve = self.world.delay("resolve_delay_ms")
            self.timers.after(resolve // 2, self._export_gatt)
            self.timers.after(resolve, self._services_resolved)

    def _export_gatt(self):
        if not self.gatt_objects:
            self.gatt_objects = gatt.build(self.tree, self, self.battery.write_flags)
            for obj in self.gatt_objects:
                self.tree.add(obj)
        self.set_props(DEVICE, {"UUIDs": string_array(gatt.RESOLVED_UUIDS[self.battery.variant])})

    def _services_resolved(self):
        for char in self.characteristics():
            char.activate_sessions()
        self.set_props(DEVICE, {"ServicesResolved": dbus.Boolean(True)})

    def link_down(self):
        """Local Disconnect or link loss: ServicesResolved=false, GATT gone (no cache), Connected=false."""
        if self.pending_connect is not None:
            self._connect_failed(ERR_CANCELED)
        self.timers.cancel_all()
        self.outbox.clear()
        self.pumping = False
        was_connected = self.connected
        self.connected = False
        for char in self.characteristics():
            char.abort_pending()
        self.set_props(DEVICE, {"ServicesResolved": dbus.Boolean(False)})
        if self.battery.gatt_cache:
            for char in self.characteristics():
                char.suspend_sessions()
        else:
            self.remove_gatt()
        while self.disconnects:
            self.disconnects.pop(0)()
        if was_connected:
            self.battery.stats["disconnect_count"] += 1
            self.set_props(DEVICE, {"Connected": dbus.Boolean(False)})

    def remove_gatt(self):
        for obj in reversed(self.gatt_objects):
            self.tree.remove(obj)
        self.gatt_objects = []

    def characteristics(self):
        return [o for o in self.gatt_objects if isinstance(o, gatt.GattCharacteristic)]

    def characteristic(self, role):
        return next((c for c in self.characteristics() if c.role == role), None)

    def drop_sender(self, sender):
        for char in self.characteristics():
            char.drop_sender(sender)

    # ------------------------------------------------------------------ UART bridge to the BMS
    def uart_receive(self, payload):
        b = self.battery
        b.record_request(payload)
        first = self.answered_since_connect == 0
        self.answered_since_connect += 1
        if b.take_fault("silent") or (first and b.take_fault("drop_first_reply")):
            return
        _, reply = jbd.answer(b.bms, payload)
        if b.take_fault("corrupt_checksum"):
            reply = reply[:-2] + bytes([reply[-2] ^ 0xA5]) + reply[-1:]
        strays = [bytes.fromhex(h) for h in b.faults.get("stray_frames") or []]
        garbage = bytes.fromhex(b.faults.get("garbage_prefix") or "")
        drop_mid = b.take_fault("drop_link_mid_frame")
        self.timers.after(self.world.delay("reply_delay_ms"), self._emit_reply, strays, garbage + reply, drop_mid)

    def _emit_reply(self, strays, reply, drop_mid):
        for stray in strays:
            self.send_uart(stray)
        if drop_mid:
            chunk = reply[:self._chunk_size()]
            self._notify(chunk)
            self.timers.after(0, self.world.drop_link, self)
            return
        self.battery.stats["replies_sent"] += 1
        self.send_uart(reply)

    def send_uart(self, data):
        """Queue BMS output; the BLE module forwards it as notifications of at most MTU-3 bytes."""
        self.outbox.extend(data)
        if not self.pumping:
            self.pumping = True
            self._pump()

    def _chunk_size(self):
        f = self.battery.faults
        if f.get("random_chunks"):
            return self.rng.randint(1, gatt.ATT_MTU - 3)
        return max(1, min(int(f.get("chunk_size") or gatt.ATT_MTU - 3), gatt.ATT_MTU - 3))

    def _pump(self):
        if not self.outbox or not self.connected:
            self.pumping = False
            return
        size = self._chunk_size()
        chunk = bytes(self.outbox[:size])
        del self.outbox[:size]
        self._notify(chunk)
        self.timers.after(self.world.delay("chunk_interval_ms"), self._pump)

    def _notify(self, chunk):
        char = self.characteristic("notify")
        if char is None or not char.notifying:
            self.battery.stats["notifications_dropped"] += 1  # CCCD off: the module sends nothing
            return
        self.battery.stats["notifications_sent"] += 1
        char.notify(chunk)
