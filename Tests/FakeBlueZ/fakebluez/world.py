"""The simulated world: adapters, batteries in radio range, delays, the write log, persistence."""

import copy
import datetime
import json
import os
import re
import sys

from . import gatt, jbd
from .adapter import ADAPTER_DEFAULTS, Adapter
from .agent import BlueZRoot
from .dbusobj import ControlError
from .device import Device

MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")

DEFAULT_DELAYS = {
    "reply_delay_ms": 50,             # write of a request -> first notification of the reply
    "chunk_interval_ms": 0,           # between notifications of one reply
    "connect_delay_ms": 30,           # Connect() -> link up (Connected=true, reply)
    "resolve_delay_ms": 60,           # link up -> ServicesResolved=true (GATT objects at half of it)
    "notify_delay_ms": 5,             # StartNotify -> CCCD written (Notifying=true, reply)
    "disconnect_delay_ms": 10,        # Disconnect() -> link down
    "discovery_delay_ms": 20,         # StartDiscovery -> first advertising reports
    "rssi_interval_ms": 500,          # advertising reports (RSSI updates) while discovering
    "absent_connect_timeout_ms": 2000,  # Connect to an out-of-range battery fails after this
    "temporary_timeout_ms": 30000,    # discovered, never connected device removed after discovery stops
    "agent_timeout_ms": 60000,        # Pair: an agent's unanswered RequestPasskey is cancelled after this
}

BATTERY_DEFAULTS = {
    "address": None,
    "name": "xiaoxiang BMS",
    "adapter": "hci0",
    "address_type": "public",
    "rssi": -60,
    "in_range": True,
    "known": False,                   # already in BlueZ's object tree (connected before)
    "variant": "ff00",                # "ff00" (ff01/ff02) or "fff0" (fff1/fff2)
    "write_flags": ["read", "write-without-response"],  # current JBD modules; older: ["read", "write"]
    "gatt_cache": False,              # True = keep GATT objects across disconnects (BlueZ Cache=always)
    "manufacturer_data": {},          # {"0x1234": "hex"}
    "service_data": {},               # {"uuid": "hex"}
    "security": "classic",            # see SECURITY
    "pin": "123456",                  # echo_until_paired: the 6-digit passkey the user must type
    "password": None,                 # ffaa_password: 6 ASCII characters, None = no password set
    "ffaa_challenge": None,           # ffaa_password: fixed RR byte for tests, None = random per 0x17
    "classic_pairing": "unsupported",  # Pair on classic/ffaa modules: "unsupported" or "just_works"
    "paired": False,                  # the host holds a bond (Device1.Paired/Bonded)
    "trusted": False,                 # Device1.Trusted
    "bond_lost": False,               # the module forgot the bond the host still holds (ForgetBond)
}

SECURITY = {
    "classic": "DD A5 requests are answered at once",
    "echo_until_paired": "every write is echoed on the notify characteristic until the device is paired",
    "ffaa_password": "DD A5 requests are answered only after the FF AA app key / challenge / password exchange",
}
SECURITY_FIELDS = ("security", "pin", "password", "ffaa_challenge", "classic_pairing")

FAULTS = {
    "connect_abort": "Connect fails with Failed 'le-connection-abort-by-local' (Connected flips true, then false)",
    "connect_hang": "Connect never answers until Disconnect/DropLink (then Failed 'br-connection-canceled')",
    "stale_pending_connect": "Connect answers Failed 'Operation already in progress' until someone calls Disconnect",
    "services_never_resolve": "link comes up but no GATT objects and no ServicesResolved",
    "silent": "the BMS never answers",
    "drop_first_reply": "the first request after each connect is not answered",
    "corrupt_checksum": "replies carry a wrong checksum",
    "drop_link_mid_frame": "the link drops right after the first notification of a reply",
    "garbage_prefix": "hex bytes sent before every reply (same notification stream)",
    "stray_frames": "list of hex frames sent, unsolicited, before every reply",
    "random_chunks": "notifications of random size 1..20 instead of 20",
    "chunk_size": "fixed notification size 1..20",
}


class Battery:
    def __init__(self, config):
        unknown = set(config) - set(BATTERY_DEFAULTS) - {"bms", "faults"}
        if unknown:
            raise ControlError(f"unknown battery fields: {sorted(unknown)}")
        merged = {**copy.deepcopy(BATTERY_DEFAULTS), **config}
        if not merged["address"]:
            raise ControlError("battery needs an address")
        if merged["variant"] not in gatt.LAYOUTS:
            raise ControlError(f"variant must be one of {sorted(gatt.LAYOUTS)}")
        for key in BATTERY_DEFAULTS:
            setattr(self, key, merged[key])
        self.address = self.address.upper()
        self.check_security()
        try:
            self.bms = jbd.BMSState(config.get("bms"))
        except (ValueError, TypeError) as e:
            raise ControlError(f"bad bms state: {e}")
        self.faults = {}
        self.set_faults(config.get("faults") or {})
        self.device = None
        self.stats = dict(connect_attempts=0, connect_count=0, disconnect_count=0,
                          requests_received=0, replies_sent=0, notifications_sent=0,
                          notifications_dropped=0, echoed_writes=0)
        self.requests = {}
        self.forbidden_writes = []    # hex of FF AA frames no reader may send

    def check_security(self):
        if self.security not in SECURITY:
            raise ControlError(f"security must be one of {sorted(SECURITY)}")
        if not (isinstance(self.pin, str) and len(self.pin) == 6 and self.pin.isdigit()):
            raise ControlError("pin must be a string of 6 digits")
        if self.password is not None and not (
                isinstance(self.password, str) and len(self.password) == 6 and self.password.isascii()):
            raise ControlError("password must be 6 ASCII characters or null")
        if self.ffaa_challenge is not None and (
                isinstance(self.ffaa_challenge, bool) or not isinstance(self.ffaa_challenge, int)
                or not 0 <= self.ffaa_challenge <= 255):
            raise ControlError("ffaa_challenge must be 0..255 or null")
        if self.classic_pairing not in ("unsupported", "just_works"):
            raise ControlError("classic_pairing must be 'unsupported' or 'just_works'")
        for key in ("paired", "trusted", "bond_lost"):
            if not isinstance(getattr(self, key), bool):
                raise ControlError(f"{key} must be true or false")

    def set_security(self, partial):
        unknown = set(partial) - set(SECURITY_FIELDS)
        if unknown:
            raise ControlError(f"unknown security fields: {sorted(unknown)}")
        before = {key: getattr(self, key) for key in SECURITY_FIELDS}
        for key, value in partial.items():
            setattr(self, key, value)
        try:
            self.check_security()
        except ControlError:
            for key, value in before.items():
                setattr(self, key, value)
            raise

    def module_trusts_host(self):
        """The module and the host share a bond: encrypted links, no echo."""
        return self.paired and not self.bond_lost

    def config(self):
        return {key: copy.deepcopy(getattr(self, key)) for key in BATTERY_DEFAULTS}

    def advertised_uuids(self):
        return [gatt.uuid16(self.variant)]

    def is_connected(self):
        return self.device is not None and (self.device.connected or self.device.pending_connect is not None)

    def set_faults(self, partial):
        unknown = set(partial) - set(FAULTS)
        if unknown:
            raise ControlError(f"unknown faults: {sorted(unknown)}")
        for name, value in partial.items():
            if not value:
                self.faults.pop(name, None)
            else:
                self.faults[name] = value

    def take_fault(self, name, consume=True):
        """Does the fault fire now? true/-1 = always; N > 0 = the next N times."""
        value = self.faults.get(name)
        if value is True or value == -1:
            return True
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            if consume:
                if value == 1:
                    del self.faults[name]
                else:
                    self.faults[name] = value - 1
            return True
        return False

    def record_request(self, payload):
        self.stats["requests_received"] += 1
        key = payload.hex()
        self.requests[key] = self.requests.get(key, 0) + 1


class World:
    def __init__(self, bus, tree, write_log=None, state_file=None, hostname="bms-exporter-test",
                 default_adapter=True):
        self.bus = bus
        self.tree = tree
        self.write_log_path = write_log
        self.state_file = state_file
        self.hostname = hostname
        self.default_adapter = default_adapter
        self.delays = dict(DEFAULT_DELAYS)
        self.adapters = {}
        self.batteries = {}
        self.writes = []
        self.watched = set()
        self.loading = False
        self.unplugged = {}   # name -> adapter config of adapters pulled out (UnplugAdapter)
        self.root = BlueZRoot(self, tree)
        tree.add(self.root)
        bus.add_signal_receiver(self._name_owner_changed, "NameOwnerChanged",
                                "org.freedesktop.DBus", "org.freedesktop.DBus", "/org/freedesktop/DBus")

    # ------------------------------------------------------------------ setup
    def start(self):
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file) as f:
                self.load(json.load(f))
        elif self.default_adapter:
            self.add_adapter("hci0", {})

    def load(self, state):
        self.loading = True
        try:
            self.set_delays(state.get("delays", {}))
            for adapter in state.get("adapters", [{"name": "hci0"}]):
                adapter = dict(adapter)
                name = adapter.pop("name")
                present = adapter.pop("present", True)
                self.add_adapter(name, adapter)
                if not present:
                    self.unplug_adapter(name)
            for battery in state.get("batteries", []):
                self.add_battery(battery)
        finally:
            self.loading = False
        self.save()

    def snapshot(self):
        return {
            "delays": dict(self.delays),
            "adapters": [{"name": a.name, **a.config(), "present": True} for a in self.adapters.values()]
            + [{"name": name, **config, "present": False} for name, config in self.unplugged.items()],
            "batteries": [{**b.config(), "bms": b.bms.to_json(), "faults": dict(b.faults)}
                          for b in self.batteries.values()],
        }

    def save(self):
        if not self.state_file or self.loading:
            return
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.snapshot(), f, indent=1)
        os.replace(tmp, self.state_file)

    def reset(self):
        for battery in list(self.batteries.values()):
            self.remove_battery(battery)
        for adapter in list(self.adapters.values()):
            adapter.set_powered(False)
            adapter.scan.cancel_all()
            self.tree.remove(adapter)
        self.adapters.clear()
        self.unplugged.clear()
        self.delays = dict(DEFAULT_DELAYS)
        self.writes.clear()
        if self.default_adapter:
            self.add_adapter("hci0", {})
        self.save()

    # ------------------------------------------------------------------ adapters
    def add_adapter(self, name, config):
        if name in self.adapters or name in self.unplugged:
            raise ControlError(f"adapter {name} exists")
        unknown = set(config) - set(ADAPTER_DEFAULTS)
        if unknown:
            raise ControlError(f"unknown adapter fields: {sorted(unknown)}")
        config = dict(config)
        address = config.get("address")
        if address is not None and not (isinstance(address, str) and MAC.fullmatch(address)):
            raise ControlError(f"adapter address must look like 00:1A:7D:DA:71:13, not {address!r}")
        if not address:
            config["address"] = f"00:1A:7D:DA:71:{0x13 + len(self.adapters) + len(self.unplugged):02X}"
        adapter = Adapter(self, name, config)
        self.adapters[name] = adapter
        self.tree.add(adapter)
        self._export_known_devices(adapter)
        self.save()
        return adapter

    def _export_known_devices(self, adapter):
        """Devices bluetoothd remembers for this adapter come back with it."""
        for battery in self.batteries_on(adapter):
            if battery.known and battery.device is None:
                battery.device = Device(self, adapter, battery, temporary=False)
                self.tree.add(battery.device)

    def unplug_adapter(self, name):
        """The dongle is pulled: links and devices go, then the adapter (InterfacesRemoved each).

        Batteries stay pinned to the name and remembered devices come back with PlugAdapter.
        """
        adapter = self.adapter(name)
        adapter.scan.cancel_all()
        for device in adapter.devices():
            if device.connected or device.pending_connect is not None:
                device.link_down()
            device.expiry.cancel_all()
            device.cancel_pairing_for_removal()
            device.remove_gatt()
            self.tree.remove(device)
            device.battery.device = None
        self.tree.remove(adapter)
        del self.adapters[name]
        self.unplugged[name] = adapter.config()
        self.save()

    def plug_adapter(self, name):
        if name not in self.unplugged:
            raise ControlError(f"no unplugged adapter {name}")
        config = self.unplugged.pop(name)
        return self.add_adapter(name, config)

    def adapter(self, name):
        if name not in self.adapters:
            raise ControlError(f"no adapter {name}")
        return self.adapters[name]

    # ------------------------------------------------------------------ batteries and devices
    def add_battery(self, config):
        battery = Battery(config)
        if battery.address in self.batteries:
            raise ControlError(f"battery {battery.address} exists")
        if battery.adapter not in self.adapters and battery.adapter not in self.unplugged:
            raise ControlError(f"no adapter {battery.adapter}")
        adapter = self.adapters.get(battery.adapter)
        self.batteries[battery.address] = battery
        if battery.known and adapter is not None:
            battery.device = Device(self, adapter, battery, temporary=False)
            self.tree.add(battery.device)
        self.save()
        return battery

    def battery(self, address):
        battery = self.batteries.get(str(address).upper())
        if battery is None:
            raise ControlError(f"no battery {address}")
        return battery

    def remove_battery(self, battery):
        if battery.device is not None:
            self.remove_device(battery.device)
        del self.batteries[battery.address]

    def devices(self):
        return [b.device for b in self.batteries.values() if b.device is not None]

    def batteries_on(self, adapter):
        return [b for b in self.batteries.values() if b.adapter == adapter.name]

    def advertisement(self, adapter, battery):
        if battery.device is None:
            device = Device(self, adapter, battery, temporary=True)
            device.advertisement_seen()  # properties set before export: InterfacesAdded carries RSSI
            battery.device = device
            self.tree.add(device)
        else:
            battery.device.advertisement_seen()

    def remove_device(self, device):
        """The device is forgotten (RemoveDevice, temporary expiry): with it the host's bond."""
        if device.connected or device.pending_connect is not None:
            device.link_down()
        device.expiry.cancel_all()
        device.cancel_pairing_for_removal()
        device.remove_gatt()
        self.tree.remove(device)
        battery = device.battery
        battery.device = None
        battery.known = False
        battery.paired = battery.trusted = battery.bond_lost = False
        self.save()

    def forget_bond(self, battery):
        """The module lost its bond (reset, phone app paired it): the host still thinks it is paired."""
        if not battery.paired:
            raise ControlError(f"{battery.address} is not paired")
        battery.bond_lost = True
        if battery.device is not None:
            self.drop_link(battery.device)
        self.save()

    def forbidden_write(self, battery, payload):
        battery.forbidden_writes.append(payload.hex())
        print(f"FORBIDDEN write to {battery.address}: {payload.hex()}", file=sys.stderr, flush=True)

    def drop_link(self, device):
        if device.connected or device.pending_connect is not None:
            device.link_down()

    def set_in_range(self, battery, in_range):
        battery.in_range = in_range
        if not in_range and battery.device is not None:
            self.drop_link(battery.device)  # supervision timeout: the link is lost
        self.save()

    # ------------------------------------------------------------------ misc
    def delay(self, name):
        return self.delays[name]

    def set_delays(self, partial):
        unknown = set(partial) - set(DEFAULT_DELAYS)
        if unknown:
            raise ControlError(f"unknown delays: {sorted(unknown)}")
        if any(not isinstance(v, (int, float)) or v < 0 for v in partial.values()):
            raise ControlError("delays are non-negative numbers of milliseconds")
        self.delays.update({k: int(v) for k, v in partial.items()})
        self.save()

    def log_write(self, device, obj, payload, kind, sender):
        """Append one line per WriteValue, whatever its outcome, before anything else happens."""
        uuid = str(obj.props[next(iter(obj.props))]["UUID"])
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
            "adapter": device.adapter.name,
            "address": device.battery.address,
            "uuid": uuid,
            "type": kind or "-",
            "hex": payload.hex() or "-",
            "path": obj.path,
            "sender": str(sender),
        }
        self.writes.append(entry)
        if self.write_log_path:
            line = " ".join(entry[k] for k in ("time", "adapter", "address", "uuid", "type", "hex", "path", "sender"))
            with open(self.write_log_path, "a") as f:
                f.write(line + "\n")
                f.flush()

    def watch_sender(self, sender):
        self.watched.add(str(sender))

    def _name_owner_changed(self, name, old, new):
        """A client left the bus: its discovery sessions, filters and notify sessions go with it."""
        if name not in self.watched or new:
            return
        self.watched.discard(name)
        self.root.drop_sender(name)
        for adapter in self.adapters.values():
            adapter.drop_sender(name)
        for device in self.devices():
            device.drop_sender(name)

    def state(self, battery):
        device = battery.device
        notify = device.characteristic("notify") if device else None
        return {
            **battery.config(),
            "path": device.path if device else None,
            "object_present": device is not None,
            "connected": bool(device and device.connected),
            "connect_pending": bool(device and device.pending_connect is not None),
            "services_resolved": bool(device and device.prop("org.bluez.Device1", "ServicesResolved")),
            "notifying": bool(notify and notify.notifying),
            "notify_sessions": sorted(notify.sessions) if notify else [],
            **battery.stats,
            "requests": dict(battery.requests),
            "forbidden_writes": list(battery.forbidden_writes),
            "pairing": bool(device and device.pairing is not None),
            "ffaa_unlocked": bool(device and device.ffaa is not None and device.ffaa.unlocked),
            "bms": battery.bms.to_json(),
            "faults": dict(battery.faults),
        }
