#!/usr/bin/env bash
# bleak (independent BlueZ client) against the fake BlueZ, after the fake's own unit tests.
# Venv: $BLEAK_VENV or <repo>/.venv-bleak, created with /usr/bin/python3 -m venv if missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${BLEAK_VENV:-$repo/.venv-bleak}
pins=(bleak==3.1.0 dbus-fast==5.2.0)

if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' "${pins[@]}" 2>/dev/null; then
  echo "setting up $venv with ${pins[*]}"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
fi

"$here/run-tests.sh"
cd "$here"
exec "$venv/bin/python" conformance_bleak.py
