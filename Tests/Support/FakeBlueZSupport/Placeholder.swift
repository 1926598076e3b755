// Placeholder until the fake BlueZ harness lands.
