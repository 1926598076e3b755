"""org.bluez.Device1 for a JBD battery: two-phase connect, link loss, the UART bridge behind ff01/ff02."""

import random

import dbus
import dbus.service

from . import ffaa, gatt, jbd
from .adapter import ERR_LINK_LIMIT
from .agent import AGENT, CAN_ENTER_PASSKEY
from .dbusobj import (BluezError, Exported, byte_array, does_not_exist, failed, in_progress, not_ready,
                      string_array)
from .timers import Timers

DEVICE = "org.bluez.Device1"

ERR_ABORT_BY_LOCAL = "le-connection-abort-by-local"
ERR_CANCELED = "br-connection-canceled"
ERR_ALREADY = "Operation already in progress"  # strerror(EALREADY)
ERR_BOND_LOST = "Operation failed with ATT error: 0x0e"  # the module refuses the host's stale keys


def auth_failed():
    return BluezError("org.bluez.Error.AuthenticationFailed", "Authentication Failed")


def auth_canceled():
    return BluezError("org.bluez.Error.AuthenticationCanceled", "Authentication Canceled")


class Pairing:
    """One Pair() call in flight; `generation` lets late agent replies of a cancelled attempt be ignored."""
    counter = 0

    def __init__(self, sender, reply, error):
        Pairing.counter += 1
        self.generation = Pairing.counter
        self.sender = str(sender)
        self.reply = reply
        self.error = error
        self.agent = None       # the Agent asked for the passkey, while its answer is outstanding


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
        self.pairing = None             # Pairing in progress
        self.ffaa = None                # ffaa.Session of the current link (ffaa_password modules)
        self.pair_timers = Timers()
        name = battery.name
        props = {
            "Address": dbus.String(battery.address),
            "AddressType": dbus.String(battery.address_type),
            "Alias": dbus.String(name or battery.address.replace(":", "-")),
            "Paired": dbus.Boolean(battery.paired),
            "Bonded": dbus.Boolean(battery.paired),
            "Trusted": dbus.Boolean(battery.trusted),
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
        self._begin_connect(reply, lambda message: error(failed(message)))

    def _begin_connect(self, reply, error):
        """Start an LE connection; reply() once the link is up, error(message) if it fails."""
        b = self.battery
        refused = self.adapter.connect_started()
        if refused is not None:
            return error(refused)
        b.stats["connect_attempts"] += 1
        self.temporary = False
        self.expiry.cancel_all()
        self.pending_connect = (reply, error)
        if self.adapter.settings["wedged"]:
            self.adapter.stats["wedged_connects"] += 1
            self.timers.after(self.world.delay("absent_connect_timeout_ms"), self._connect_failed, ERR_ABORT_BY_LOCAL)
        elif not b.in_range:
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

    @dbus.service.method(DEVICE, in_signature="", out_signature="", sender_keyword="sender",
                         async_callbacks=("reply", "error"))
    def Pair(self, sender=None, reply=None, error=None):
        if not self.adapter.powered:
            return error(not_ready())
        if self.pairing is not None:
            return error(in_progress())
        if self.battery.paired:
            return error(BluezError("org.bluez.Error.AlreadyExists", "Already Exists"))
        self.pairing = Pairing(sender, reply, error)
        generation = self.pairing.generation
        if self.connected:
            self.pair_timers.after(self.world.delay("connect_delay_ms"), self._pair_start, generation)
        elif self.pending_connect is not None:
            self._pair_finish(generation, failed(ERR_ALREADY))
        else:
            # Pair on a disconnected device connects first, like bluetoothd's bonding request.
            self._begin_connect(lambda: self._pair_start(generation),
                                lambda message: self._pair_finish(generation, BluezError(
                                    "org.bluez.Error.ConnectionAttemptFailed", "Page Timeout")))

    @dbus.service.method(DEVICE, in_signature="", out_signature="")
    def CancelPairing(self):
        if self.pairing is None:
            raise does_not_exist()
        self._pair_finish(self.pairing.generation, auth_canceled())

    def cancel_pairing_for_removal(self):
        if self.pairing is not None:
            self._pair_finish(self.pairing.generation, auth_canceled())

    def _pair_start(self, generation):
        """Link up: SMP. Only the echoing module asks for a passkey (MITM); the others pair Just Works or not at all."""
        if self.pairing is None or self.pairing.generation != generation:
            return
        b = self.battery
        if b.security != "echo_until_paired":
            if b.classic_pairing == "just_works":
                return self._pair_finish(generation, None)
            return self._pair_finish(generation, auth_failed())  # SMP "Pairing Not Supported"
        agent = self.world.root.agent_for(self.pairing.sender)
        if agent is None or agent.capability not in CAN_ENTER_PASSKEY:
            # No agent = NoInputNoOutput: Just Works cannot satisfy the module's MITM requirement.
            return self._pair_finish(generation, auth_failed())
        self.pairing.agent = agent
        proxy = self.world.bus.get_object(agent.owner, agent.path, introspect=False)
        timeout_ms = self.world.delay("agent_timeout_ms")
        proxy.get_dbus_method("RequestPasskey", AGENT)(
            dbus.ObjectPath(self.path), timeout=timeout_ms / 1000 + 5,
            reply_handler=lambda passkey: self._passkey_entered(generation, passkey),
            error_handler=lambda _e: self._pair_finish(generation, auth_failed()))
        self.pair_timers.after(timeout_ms, self._agent_timed_out, generation)

    def _agent_timed_out(self, generation):
        if self.pairing is not None and self.pairing.generation == generation:
            self._pair_finish(generation, auth_failed())

    def _passkey_entered(self, generation, passkey):
        if self.pairing is None or self.pairing.generation != generation:
            return
        self.pairing.agent = None
        if int(passkey) != int(self.battery.pin):
            return self._pair_finish(generation, auth_failed())  # SMP "Confirm Value Failed"
        self._pair_finish(generation, None)

    def _pair_finish(self, generation, err):
        pairing = self.pairing
        if pairing is None or pairing.generation != generation:
            return
        self.pairing = None
        self.pair_timers.cancel_all()
        if pairing.agent is not None:
            # bluetoothd tells an agent whose request is still open that it is void.
            proxy = self.world.bus.get_object(pairing.agent.owner, pairing.agent.path, introspect=False)
            proxy.get_dbus_method("Cancel", AGENT)(reply_handler=lambda: None, error_handler=lambda _e: None)
        if err is not None:
            return pairing.error(err)
        b = self.battery
        b.paired = True
        b.bond_lost = False
        self.set_props(DEVICE, {"Paired": dbus.Boolean(True), "Bonded": dbus.Boolean(True)})
        self.world.save()
        pairing.reply()

    @dbus.service.method(DEVICE, in_signature="s", out_signature="")
    def ConnectProfile(self, uuid):
        raise BluezError("org.bluez.Error.NotAvailable", "Operation currently not available")

    @dbus.service.method(DEVICE, in_signature="s", out_signature="")
    def DisconnectProfile(self, uuid):
        raise BluezError("org.bluez.Error.NotAvailable", "Operation currently not available")

    def on_set(self, interface, name, value):
        if name == "Alias":
            return dbus.String(value or self.battery.name or self.battery.address.replace(":", "-"))
        if name == "Trusted":
            self.battery.trusted = bool(value)
            self.world.save()
            return dbus.Boolean(value)
        if name in ("Blocked", "WakeAllowed"):
            return dbus.Boolean(value)
        return super().on_set(interface, name, value)

    # ------------------------------------------------------------------ link state machine
    def _connect_failed(self, message):
        self.timers.cancel_all()
        reply_error = self.pending_connect[1]
        self.pending_connect = None
        reply_error(message)

    def _connect_aborted(self):
        """The link came up and was torn down at once: Connected flips true, the call fails, then false."""
        self.set_props(DEVICE, {"Connected": dbus.Boolean(True)})
        self._connect_failed(ERR_ABORT_BY_LOCAL)
        self.ffaa = None
        self.timers.after(self.world.delay("disconnect_delay_ms"), self._abort_cleanup)

    def _abort_cleanup(self):
        self.battery.stats["disconnect_count"] += 1
        self.set_props(DEVICE, {"Connected": dbus.Boolean(False)})

    def _link_up(self):
        if self.adapter.links() >= self.adapter.settings["max_le_links"]:
            self.adapter.stats["link_limit_rejections"] += 1
            return self._connect_failed(ERR_LINK_LIMIT)
        reply = self.pending_connect[0]
        self.pending_connect = None
        self.connected = True
        self.answered_since_connect = 0
        b = self.battery
        self.ffaa = (ffaa.Session(b.address, b.password, b.ffaa_challenge, self.rng)
                     if b.security == "ffaa_password" else None)
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
        self.ffaa = None
        if self.pairing is not None:
            self._pair_finish(self.pairing.generation, auth_canceled())
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
    def security_error(self):
        """The error every GATT operation gets while the module rejects the host's stale bond."""
        b = self.battery
        return failed(ERR_BOND_LOST) if b.paired and b.bond_lost else None

    def module_receive(self, payload):
        """A write reached the BLE module: it echoes, runs the FF AA exchange or passes DD frames on."""
        b = self.battery
        b.record_request(payload)
        is_ffaa = payload[:2] == ffaa.HEADER
        if is_ffaa and not ffaa.is_allowed_frame(payload):
            self.world.forbidden_write(b, payload)
        if b.security == "echo_until_paired" and not b.module_trusts_host():
            b.stats["echoed_writes"] += 1
            self.timers.after(self.world.delay("reply_delay_ms"), self.send_uart, payload)
            return
        if is_ffaa:
            if self.ffaa is None:
                return  # classic modules pass it to the BMS, which ignores frames not starting with DD
            try:
                reply = self.ffaa.receive(payload)
            except ValueError:
                return  # forbidden: never answered
            if reply:
                self.timers.after(self.world.delay("reply_delay_ms"), self.send_uart, reply)
            return
        if self.ffaa is not None and not self.ffaa.unlocked:
            return  # locked module: the BMS never sees the request
        self.uart_receive(payload)

    def uart_receive(self, payload):
        b = self.battery
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
