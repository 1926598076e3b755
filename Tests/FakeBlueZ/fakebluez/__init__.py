"""Fake BlueZ 5.66 with JBD smart-BMS batteries behind it (test double for bms_exporter)."""
