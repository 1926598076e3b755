#!/usr/bin/python3
"""Fake BlueZ 5.66 (org.bluez) with JBD smart-BMS batteries, for bms_exporter tests.

Run with /usr/bin/python3 (needs python3-dbus and python3-gi). Prints READY once
org.bluez is owned and the objects exist. See README.md.
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dbus  # noqa: E402
import dbus.bus  # noqa: E402
import dbus.service  # noqa: E402
from dbus.mainloop.glib import DBusGMainLoop  # noqa: E402
from gi.repository import GLib  # noqa: E402

from fakebluez.control import Control  # noqa: E402
from fakebluez.dbusobj import ObjectTree  # noqa: E402
from fakebluez.world import World  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bus-address", default=os.environ.get("DBUS_SYSTEM_BUS_ADDRESS"),
                        help="bus to claim org.bluez on (default: $DBUS_SYSTEM_BUS_ADDRESS)")
    parser.add_argument("--write-log", help="append every WriteValue payload to this file")
    parser.add_argument("--state-file", help="JSON world state: loaded at start, rewritten on every change")
    parser.add_argument("--no-default-adapter", action="store_true",
                        help="start without hci0 (when no state file is given)")
    parser.add_argument("--hostname", default="bms-exporter-test", help="adapter Name")
    args = parser.parse_args()
    if not args.bus_address:
        parser.error("--bus-address or DBUS_SYSTEM_BUS_ADDRESS is required (never the real system bus)")

    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(args.bus_address)
    loop = GLib.MainLoop()
    bus.call_on_disconnection(lambda _conn: loop.quit())

    tree = ObjectTree(bus)
    world = World(bus, tree, write_log=args.write_log, state_file=args.state_file,
                  hostname=args.hostname, default_adapter=not args.no_default_adapter)
    world.start()
    Control(world, bus)
    try:
        name = dbus.service.BusName("org.bluez", bus, do_not_queue=True)  # noqa: F841 (keeps the name)
    except dbus.exceptions.NameExistsException:
        print("org.bluez is already owned on this bus", file=sys.stderr)
        return 3

    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, loop.quit)
    print("READY", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
