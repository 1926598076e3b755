#!/usr/bin/env bash
# Unit tests of the fake itself: JBD encoder vs real frames, and the fake's D-Bus behaviour
# over a private dbus-daemon. Needs /usr/bin/python3 with python3-dbus and python3-gi.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
exec /usr/bin/python3 -m unittest discover -s tests -t . "$@"
