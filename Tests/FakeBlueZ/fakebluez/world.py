"""The simulated world: adapters, batteries in radio range, delays, the write log, persistence."""

import copy
import datetime
import json
import os

import dbus

from . import gatt, jbd
from .adapter import Adapter
from .dbusobj import Exported
from .device import Device

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
}

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


class ControlError(dbus.DBusException):
    _dbus_error_name = "io.bmsexporter.FakeControl1.Error"


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
        try:
            self.bms = jbd.BMSState(config.get("bms"))
        except (ValueError, TypeError) as e:
            raise ControlError(f"bad bms state: {e}")
        self.faults = {}
        self.set_faults(config.get("faults") or {})
        self.device = None
        self.stats = dict(connect_attempts=0, connect_count=0, disconnect_count=0,
                          requests_received=0, replies_sent=0, notifications_sent=0,
                          notifications_dropped=0)
        self.requests = {}

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


class BlueZRoot(Exported):
    """/org/bluez: AgentManager1 and ProfileManager1, as on a real system (stubs that accept)."""

    def __init__(self, tree):
        super().__init__(tree, "/org/bluez")
        self.props["org.bluez.AgentManager1"] = {}
        self.props["org.bluez.ProfileManager1"] = {}

    @dbus.service.method("org.bluez.AgentManager1", in_signature="os", out_signature="")
    def RegisterAgent(self, agent, capability):
        pass

    @dbus.service.method("org.bluez.AgentManager1", in_signature="o", out_signature="")
    def UnregisterAgent(self, agent):
        pass

    @dbus.service.method("org.bluez.AgentManager1", in_signature="o", out_signature="")
    def RequestDefaultAgent(self, agent):
        pass


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
        tree.add(BlueZRoot(tree))
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
                self.add_adapter(adapter.pop("name"), adapter)
            for battery in state.get("batteries", []):
                self.add_battery(battery)
        finally:
            self.loading = False
        self.save()

    def snapshot(self):
        return {
            "delays": dict(self.delays),
            "adapters": [{"name": a.name, "address": a.address, "alias": str(a.props["org.bluez.Adapter1"]["Alias"]),
                          "powered": a.powered} for a in self.adapters.values()],
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
        self.delays = dict(DEFAULT_DELAYS)
        self.writes.clear()
        if self.default_adapter:
            self.add_adapter("hci0", {})
        self.save()

    # ------------------------------------------------------------------ adapters
    def add_adapter(self, name, config):
        if name in self.adapters:
            raise ControlError(f"adapter {name} exists")
        unknown = set(config) - {"address", "alias", "powered"}
        if unknown:
            raise ControlError(f"unknown adapter fields: {sorted(unknown)}")
        index = len(self.adapters)
        address = config.get("address") or f"00:1A:7D:DA:71:{0x13 + index:02X}"
        adapter = Adapter(self, name, address.upper(), config.get("alias"), config.get("powered", True))
        self.adapters[name] = adapter
        self.tree.add(adapter)
        self.save()
        return adapter

    def adapter(self, name):
        if name not in self.adapters:
            raise ControlError(f"no adapter {name}")
        return self.adapters[name]

    # ------------------------------------------------------------------ batteries and devices
    def add_battery(self, config):
        battery = Battery(config)
        if battery.address in self.batteries:
            raise ControlError(f"battery {battery.address} exists")
        adapter = self.adapter(battery.adapter)
        self.batteries[battery.address] = battery
        if battery.known:
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
        if device.connected or device.pending_connect is not None:
            device.link_down()
        device.expiry.cancel_all()
        device.remove_gatt()
        self.tree.remove(device)
        device.battery.device = None
        device.battery.known = False
        self.save()

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
            "bms": battery.bms.to_json(),
            "faults": dict(battery.faults),
        }
