"""A JBD smart-BMS on a pseudo-terminal: the serial-cable counterpart of Tests/FakeBlueZ."""
