"""The Bluetooth fake's JBD encoder, shared rather than copied: both fakes must serve the same bytes."""

import os
import sys

_FAKEBLUEZ = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "FakeBlueZ")
if _FAKEBLUEZ not in sys.path:
    sys.path.insert(0, _FAKEBLUEZ)

from fakebluez import jbd  # noqa: E402  (needs the path above)

__all__ = ["jbd"]
