#!/usr/bin/env bash
# The fake serial BMS's own tests: framer and board alone, then the fake on a real pty.
# Standard library only; /usr/bin/python3 like the Bluetooth fake (any python3 >= 3.9 works).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
exec /usr/bin/python3 -m unittest discover -s tests -t . "$@"
