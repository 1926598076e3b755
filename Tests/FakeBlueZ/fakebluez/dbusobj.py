"""Minimal BlueZ-style D-Bus object model: Properties + ObjectManager on dbus-python."""

import dbus
import dbus.service

PROPS = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"


class BluezError(dbus.DBusException):
    """An error reply with an explicit D-Bus error name."""

    def __init__(self, name, message):
        self._dbus_error_name = name
        super().__init__(message)


class ControlError(dbus.DBusException):
    """A refused control call (bad JSON, unknown field or address): changes nothing."""
    _dbus_error_name = "io.bmsexporter.FakeControl1.Error"


def failed(message):
    return BluezError("org.bluez.Error.Failed", message)


def in_progress():
    return BluezError("org.bluez.Error.InProgress", "In Progress")


def not_ready():
    return BluezError("org.bluez.Error.NotReady", "Resource Not Ready")


def not_supported():
    return BluezError("org.bluez.Error.NotSupported", "Operation is not supported")


def not_permitted(message):
    return BluezError("org.bluez.Error.NotPermitted", message)


def invalid_args(message="Invalid arguments in method call"):
    return BluezError("org.bluez.Error.InvalidArguments", message)


def does_not_exist():
    return BluezError("org.bluez.Error.DoesNotExist", "Does Not Exist")


def byte_array(data):
    return dbus.Array([dbus.Byte(b) for b in bytes(data)], signature="y")


def string_array(items):
    return dbus.Array([dbus.String(s) for s in items], signature="s")


class Exported(dbus.service.Object):
    """An object with BlueZ-like properties: emits PropertiesChanged only for real changes."""

    def __init__(self, tree, path):
        self.tree = tree
        self.path = path
        self.props = {}  # interface -> {name: dbus-typed value}
        super().__init__(tree.bus, path)

    # --- helpers for subclasses ---
    def set_props(self, interface, changed, invalidated=(), force=()):
        """Apply changes; emit one PropertiesChanged with those that differ (or are forced)."""
        current = self.props[interface]
        emit = {}
        for name, value in changed.items():
            if name in force or current.get(name) != value or name not in current:
                current[name] = value
                emit[name] = value
        gone = [name for name in invalidated if current.pop(name, None) is not None]
        if (emit or gone) and self.tree.is_exported(self):
            self.PropertiesChanged(interface, dbus.Dictionary(emit, signature="sv"),
                                   dbus.Array(gone, signature="s"))

    def prop(self, interface, name, default=None):
        return self.props.get(interface, {}).get(name, default)

    def managed_interfaces(self):
        return dbus.Dictionary(
            {iface: dbus.Dictionary(values, signature="sv") for iface, values in self.props.items()},
            signature="sa{sv}")

    def on_set(self, interface, name, value):
        """Override to make properties writable; return the value to store."""
        raise BluezError("org.freedesktop.DBus.Error.PropertyReadOnly",
                         f"Property '{name}' is not writable")

    # --- org.freedesktop.DBus.Properties ---
    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        values = self._interface(interface)
        if name not in values:
            raise BluezError("org.freedesktop.DBus.Error.InvalidArgs", f"No such property '{name}'")
        return values[name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return dbus.Dictionary(self._interface(interface), signature="sv")

    @dbus.service.method(PROPS, in_signature="ssv", out_signature="")
    def Set(self, interface, name, value):
        values = self._interface(interface)
        if name not in values:
            raise BluezError("org.freedesktop.DBus.Error.InvalidArgs", f"No such property '{name}'")
        stored = self.on_set(interface, name, value)
        self.set_props(interface, {name: stored})

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass

    def _interface(self, interface):
        if interface not in self.props:
            raise BluezError("org.freedesktop.DBus.Error.InvalidArgs", f"No such interface '{interface}'")
        return self.props[interface]


class ObjectTree(dbus.service.Object):
    """org.freedesktop.DBus.ObjectManager at '/', owning every exported BlueZ object."""

    def __init__(self, bus):
        self.bus = bus
        self.objects = {}
        super().__init__(bus, "/")

    def is_exported(self, obj):
        return self.objects.get(obj.path) is obj

    def add(self, obj):
        self.objects[obj.path] = obj
        self.InterfacesAdded(dbus.ObjectPath(obj.path), obj.managed_interfaces())

    def remove(self, obj):
        if not self.is_exported(obj):
            return
        del self.objects[obj.path]
        self.InterfacesRemoved(dbus.ObjectPath(obj.path), dbus.Array(list(obj.props), signature="s"))
        obj.remove_from_connection()

    @dbus.service.method(OBJECT_MANAGER, in_signature="", out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        return dbus.Dictionary(
            {dbus.ObjectPath(path): obj.managed_interfaces() for path, obj in self.objects.items()},
            signature="oa{sa{sv}}")

    @dbus.service.signal(OBJECT_MANAGER, signature="oa{sa{sv}}")
    def InterfacesAdded(self, path, interfaces):
        pass

    @dbus.service.signal(OBJECT_MANAGER, signature="oas")
    def InterfacesRemoved(self, path, interfaces):
        pass
