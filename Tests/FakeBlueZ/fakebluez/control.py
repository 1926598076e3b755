"""io.bmsexporter.FakeControl1 at /io/bmsexporter/Fake: JSON-in, JSON-out test control."""

import json

import dbus
import dbus.service

from .dbusobj import ControlError

CONTROL = "io.bmsexporter.FakeControl1"
CONTROL_PATH = "/io/bmsexporter/Fake"


def _json(text, kind=dict):
    try:
        value = json.loads(text) if text else kind()
    except ValueError as e:
        raise ControlError(f"bad JSON: {e}")
    if not isinstance(value, kind):
        raise ControlError(f"expected a JSON {kind.__name__}")
    return value


class Control(dbus.service.Object):
    def __init__(self, world, bus):
        self.world = world
        super().__init__(bus, CONTROL_PATH)

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="s")
    def AddAdapter(self, name, config):
        adapter = self.world.add_adapter(str(name), _json(config))
        return json.dumps({"path": adapter.path, "address": adapter.address})

    @dbus.service.method(CONTROL, in_signature="sb", out_signature="")
    def SetAdapterPowered(self, name, powered):
        self.world.adapter(str(name)).set_powered(bool(powered))

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def SetAdapter(self, name, partial):
        partial = _json(partial)
        unknown = set(partial) - {"max_le_links", "reject_concurrent_connects", "wedged"}
        if unknown:
            raise ControlError(f"unknown adapter settings: {sorted(unknown)}")
        self.world.adapter(str(name)).update(partial)
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def UnplugAdapter(self, name):
        self.world.unplug_adapter(str(name))

    @dbus.service.method(CONTROL, in_signature="s", out_signature="s")
    def PlugAdapter(self, name):
        adapter = self.world.plug_adapter(str(name))
        return json.dumps({"path": adapter.path, "address": adapter.address})

    @dbus.service.method(CONTROL, in_signature="s", out_signature="s")
    def GetConnectStats(self, name):
        return json.dumps(self.world.adapter(str(name)).connect_stats())

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def ResetConnectStats(self, name):
        adapter = self.world.adapter(str(name))
        for key in adapter.stats:
            adapter.stats[key] = 0

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def SetSecurity(self, address, partial):
        self.world.battery(address).set_security(_json(partial))
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def ForgetBond(self, address):
        self.world.forget_bond(self.world.battery(address))

    @dbus.service.method(CONTROL, in_signature="", out_signature="s")
    def GetAgents(self):
        return json.dumps(self.world.root.state())

    @dbus.service.method(CONTROL, in_signature="s", out_signature="s")
    def AddBattery(self, config):
        battery = self.world.add_battery(_json(config))
        return json.dumps(self.world.state(battery))

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def SetBMS(self, address, partial):
        battery = self.world.battery(address)
        try:
            battery.bms.update(_json(partial))
        except (ValueError, TypeError) as e:
            raise ControlError(f"bad bms state: {e}")
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def SetFaults(self, address, partial):
        self.world.battery(address).set_faults(_json(partial))
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def SetAdvertisement(self, address, partial):
        battery = self.world.battery(address)
        partial = _json(partial)
        unknown = set(partial) - {"name", "rssi", "manufacturer_data", "service_data"}
        if unknown:
            raise ControlError(f"unknown advertisement fields: {sorted(unknown)}")
        for key, value in partial.items():
            setattr(battery, key, value)
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="sb", out_signature="")
    def SetInRange(self, address, in_range):
        self.world.set_in_range(self.world.battery(address), bool(in_range))

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def RemoveDeviceObject(self, address):
        battery = self.world.battery(address)
        if battery.device is None:
            raise ControlError(f"{address} has no device object")
        self.world.remove_device(battery.device)

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def RemoveBattery(self, address):
        self.world.remove_battery(self.world.battery(address))
        self.world.save()

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def DropLink(self, address):
        battery = self.world.battery(address)
        if battery.device is not None:
            self.world.drop_link(battery.device)

    @dbus.service.method(CONTROL, in_signature="ss", out_signature="")
    def InjectNotification(self, address, hexdata):
        device = self.world.battery(address).device
        if device is None or not device.connected:
            raise ControlError(f"{address} is not connected")
        try:
            data = bytes.fromhex(str(hexdata))
        except ValueError:
            raise ControlError("expected hex")
        device.send_uart(data)

    @dbus.service.method(CONTROL, in_signature="s", out_signature="s")
    def GetState(self, address):
        if not address:
            return json.dumps({
                "adapters": {name: {**a.config(), "path": a.path, "present": True,
                                    "discovering": a.discovering, "discovery_sessions": sorted(a.sessions),
                                    "connect_stats": a.connect_stats()}
                             for name, a in self.world.adapters.items()},
                "unplugged_adapters": dict(self.world.unplugged),
                **self.world.root.state(),
                "batteries": {addr: self.world.state(b) for addr, b in self.world.batteries.items()},
                "delays": dict(self.world.delays),
            })
        return json.dumps(self.world.state(self.world.battery(address)))

    @dbus.service.method(CONTROL, in_signature="", out_signature="s")
    def GetWriteLog(self):
        return json.dumps(self.world.writes)

    @dbus.service.method(CONTROL, in_signature="s", out_signature="")
    def SetDelays(self, partial):
        self.world.set_delays(_json(partial))

    @dbus.service.method(CONTROL, in_signature="", out_signature="")
    def Reset(self):
        self.world.reset()
