"""org.bluez.Adapter1: power, discovery sessions per D-Bus client, filters, RemoveDevice."""

import dbus
import dbus.service

from . import gatt
from .dbusobj import (BluezError, ControlError, Exported, does_not_exist, failed, invalid_args, not_ready,
                      string_array)
from .timers import Timers

ADAPTER = "org.bluez.Adapter1"
GATT_MANAGER = "org.bluez.GattManager1"
ADV_MANAGER = "org.bluez.LEAdvertisingManager1"

FILTER_TYPES = {"UUIDs": list, "RSSI": int, "Pathloss": int, "Transport": str,
                "DuplicateData": bool, "Discoverable": bool, "Pattern": str}
ADAPTER_DEFAULTS = {
    "address": None,                  # None = 00:1A:7D:DA:71:13 + index
    "alias": None,                    # None = the hostname
    "powered": True,
    "max_le_links": 7,                # controller limit of simultaneous LE links (BCM20702: 7, CSR8510: 5)
    "reject_concurrent_connects": False,  # a second outstanding Connect fails le-connection-busy
    "wedged": False,                  # every Connect aborts until Powered is cycled off -> on
}
ERR_LINK_LIMIT = "le-connection-concurrent-connection-limit"  # EMLINK (HCI 0x09 Connection Limit Exceeded)
ERR_BUSY = "le-connection-busy"                               # EBUSY

LOCAL_UUIDS = [gatt.uuid16(u) for u in ("1800", "1801", "110e", "110c", "1200", "110a", "110b")]


def full_uuid(uuid):
    uuid = str(uuid).lower()
    if len(uuid) == 4:
        return gatt.uuid16(uuid)
    if len(uuid) == 8:
        return f"{uuid}-0000-1000-8000-00805f9b34fb"
    return uuid


class Adapter(Exported):
    def __init__(self, world, name, config):
        self.settings = {}
        self.update({**ADAPTER_DEFAULTS, **config})  # before exporting: a refused config leaves no object
        super().__init__(world.tree, f"/org/bluez/{name}")
        self.world = world
        self.name = name
        address = config["address"].upper()
        alias = self.settings.pop("alias")
        powered = bool(self.settings.pop("powered"))
        self.settings.pop("address")
        self.stats = dict(connects=0, max_concurrent_connects=0, link_limit_rejections=0,
                          concurrent_connect_rejections=0, wedged_connects=0)
        self.filters = {}    # sender -> filter dict (SetDiscoveryFilter, kept while the client has a session)
        self.sessions = set()  # senders with a running discovery
        self.scan = Timers()
        self.props[ADAPTER] = {
            "Address": dbus.String(address),
            "AddressType": dbus.String("public"),
            "Name": dbus.String(world.hostname),
            "Alias": dbus.String(alias or world.hostname),
            "Class": dbus.UInt32(0x7C0104),
            "Powered": dbus.Boolean(powered),
            "PowerState": dbus.String("on" if powered else "off"),
            "Discoverable": dbus.Boolean(False),
            "DiscoverableTimeout": dbus.UInt32(180),
            "Pairable": dbus.Boolean(False),
            "PairableTimeout": dbus.UInt32(0),
            "Discovering": dbus.Boolean(False),
            "UUIDs": string_array(LOCAL_UUIDS),
            "Modalias": dbus.String("usb:v1D6Bp0246d0542"),
            "Roles": string_array(["central", "peripheral"]),
        }
        self.props[GATT_MANAGER] = {}
        self.props[ADV_MANAGER] = {
            "ActiveInstances": dbus.Byte(0),
            "SupportedInstances": dbus.Byte(5),
            "SupportedIncludes": string_array(["tx-power", "appearance", "local-name"]),
        }

    def update(self, partial):
        """Validate and apply adapter settings (AddAdapter fields or SetAdapter's partial update)."""
        unknown = set(partial) - set(ADAPTER_DEFAULTS)
        if unknown:
            raise ControlError(f"unknown adapter fields: {sorted(unknown)}")
        limit = partial.get("max_le_links", self.settings.get("max_le_links", 7))
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ControlError("max_le_links must be a positive integer")
        for key in ("powered", "reject_concurrent_connects", "wedged"):
            if key in partial and not isinstance(partial[key], bool):
                raise ControlError(f"{key} must be true or false")
        self.settings.update(partial)

    def config(self):
        return {"address": self.address, "alias": str(self.props[ADAPTER]["Alias"]), "powered": self.powered,
                **{k: self.settings[k] for k in ("max_le_links", "reject_concurrent_connects", "wedged")}}

    # ------------------------------------------------------------------ links (controller limits)
    def pending_connects(self):
        return sum(1 for d in self.devices() if d.pending_connect is not None)

    def links(self):
        return sum(1 for d in self.devices() if d.connected)

    def connect_started(self):
        """Count one more outstanding LE Create Connection; None = accepted, else the error text."""
        outstanding = self.pending_connects()
        if outstanding >= 1 and self.settings["reject_concurrent_connects"]:
            self.stats["concurrent_connect_rejections"] += 1
            return ERR_BUSY
        self.stats["connects"] += 1
        self.stats["max_concurrent_connects"] = max(self.stats["max_concurrent_connects"], outstanding + 1)
        return None

    def connect_stats(self):
        return {**self.stats, "current_links": self.links(), "pending_connects": self.pending_connects(),
                "max_le_links": self.settings["max_le_links"]}

    @property
    def powered(self):
        return bool(self.props[ADAPTER]["Powered"])

    @property
    def address(self):
        return str(self.props[ADAPTER]["Address"])

    def devices(self):
        return [d for d in self.world.devices() if d.adapter is self]

    # ------------------------------------------------------------------ power
    def set_powered(self, powered):
        if powered == self.powered:
            return
        if powered:
            self.settings["wedged"] = False  # a power cycle resets the controller
        else:
            self.sessions.clear()
            self.filters.clear()
            self._discovery_changed()
            for device in self.devices():
                if device.connected or device.pending_connect is not None:
                    device.link_down()
        self.set_props(ADAPTER, {"Powered": dbus.Boolean(powered),
                                 "PowerState": dbus.String("on" if powered else "off")})
        self.world.save()

    def on_set(self, interface, name, value):
        if interface == ADAPTER and name == "Powered":
            self.set_powered(bool(value))
            return dbus.Boolean(value)
        if interface == ADAPTER and name == "Alias":
            return dbus.String(value or self.world.hostname)
        if interface == ADAPTER and name in ("Discoverable", "Pairable"):
            return dbus.Boolean(value)
        if interface == ADAPTER and name in ("DiscoverableTimeout", "PairableTimeout"):
            return dbus.UInt32(value)
        return super().on_set(interface, name, value)

    # ------------------------------------------------------------------ discovery
    @dbus.service.method(ADAPTER, in_signature="a{sv}", out_signature="", sender_keyword="sender")
    def SetDiscoveryFilter(self, properties, sender=None):
        if not self.powered:
            raise not_ready()
        parsed = {}
        for key, value in properties.items():
            kind = FILTER_TYPES.get(str(key))
            if kind is None:
                raise invalid_args()
            parsed[str(key)] = [full_uuid(u) for u in value] if kind is list else kind(value)
        if parsed.get("Transport", "auto") not in ("auto", "bredr", "le"):
            raise invalid_args()
        if parsed:
            self.filters[sender] = parsed
            self.world.watch_sender(sender)
        else:
            self.filters.pop(sender, None)

    @dbus.service.method(ADAPTER, in_signature="", out_signature="as")
    def GetDiscoveryFilters(self):
        return string_array(FILTER_TYPES)

    @dbus.service.method(ADAPTER, in_signature="", out_signature="", sender_keyword="sender")
    def StartDiscovery(self, sender=None):
        if not self.powered:
            raise not_ready()
        if sender in self.sessions:
            raise BluezError("org.bluez.Error.InProgress", "Operation already in progress")
        self.sessions.add(sender)
        self.world.watch_sender(sender)
        self._discovery_changed()

    @dbus.service.method(ADAPTER, in_signature="", out_signature="", sender_keyword="sender")
    def StopDiscovery(self, sender=None):
        if not self.powered:
            raise not_ready()
        if sender not in self.sessions:
            raise failed("No discovery started")
        self.sessions.discard(sender)
        self.filters.pop(sender, None)
        self._discovery_changed()

    @dbus.service.method(ADAPTER, in_signature="o", out_signature="", async_callbacks=("reply", "error"))
    def RemoveDevice(self, path, reply=None, error=None):
        device = next((d for d in self.devices() if d.path == str(path)), None)
        if device is None:
            return error(does_not_exist())
        if device.connected or device.pending_connect is not None:
            device.link_down()
        self.world.remove_device(device)
        reply()

    def drop_sender(self, sender):
        self.filters.pop(sender, None)
        if sender in self.sessions:
            self.sessions.discard(sender)
            self._discovery_changed()

    @property
    def discovering(self):
        return bool(self.props[ADAPTER]["Discovering"])

    def _discovery_changed(self):
        active = bool(self.sessions)
        if active == self.discovering:
            return
        self.set_props(ADAPTER, {"Discovering": dbus.Boolean(active)})
        self.scan.cancel_all()
        if active:
            self.scan.after(self.world.delay("discovery_delay_ms"), self._scan_tick)
        else:
            for device in self.devices():
                device.discovery_stopped()

    def _scan_tick(self):
        """One round of advertising reports from every in-range, unconnected battery that matches."""
        for battery in self.world.batteries_on(self):
            if battery.in_range and not battery.is_connected() and self._wanted(battery):
                self.world.advertisement(self, battery)
        self.scan.after(self.world.delay("rssi_interval_ms"), self._scan_tick)

    def _wanted(self, battery):
        filters = [self.filters.get(sender) for sender in self.sessions]
        return any(f is None or self._matches(f, battery) for f in filters)

    @staticmethod
    def _matches(f, battery):
        if f.get("Transport") == "bredr":
            return False
        if f.get("UUIDs") and not set(f["UUIDs"]) & set(battery.advertised_uuids()):
            return False
        if "RSSI" in f and battery.rssi < f["RSSI"]:
            return False
        pattern = f.get("Pattern")
        if pattern and not (battery.address.startswith(pattern) or (battery.name or "").startswith(pattern)):
            return False
        return True
