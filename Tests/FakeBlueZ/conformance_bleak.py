"""Conformance of the fake BlueZ against bleak, an independent BlueZ client (the fidelity oracle).

Run by run-conformance.sh inside a venv with bleak. Starts its own private bus + fake,
decodes frames with its own small JBD decoder (not the fake's encoder), prints
"N passed, M failed" and exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tests.harness import FakeBus  # noqa: E402

REQ_03 = bytes.fromhex("dda50300fffd77")
REQ_04 = bytes.fromhex("dda50400fffc77")
ALLOWED = {"dda50300fffd77", "dda50400fffc77", "dda50500fffb77", "dda5aa00ff5677"}


def uuid16(short):
    return f"0000{short}-0000-1000-8000-00805f9b34fb"


BATTERIES = [
    {"address": "A4:C1:38:00:00:01", "name": "LX-12V100Ah", "rssi": -58, "variant": "ff00",
     "bms": {"cells_mv": [3301, 3299, 3301, 3304], "temps_c": [20.1, 19.2], "current_a": -12.34,
             "remaining_ah": 70.9, "nominal_ah": 109.91, "cycles": 2, "rsoc": 65,
             "production_date": "2020-08-10", "software_version": "2.5", "fet_bits": 3}},
    {"address": "A4:C1:38:00:00:02", "name": "JBD-DH04SC02", "rssi": -77, "variant": "fff0",
     "bms": {"cells_mv": [3401, 3402, 3403, 3399, 0], "temps_c": [-30.0, 25.5, 24.1], "current_a": 5.5,
             "remaining_ah": 150.25, "nominal_ah": 200.0, "cycles": 117, "rsoc": 75,
             "production_date": "2023-11-05", "software_version": "1.0", "fet_bits": 1,
             "protection_bits": 0x0200, "balance_bits": 0b10010}},
]


def decode_03(frame):
    """Independent decoder per docs/protocol.md (parse by counts, not fixed length)."""
    d = frame[4:4 + frame[3]]
    u16 = lambda o: int.from_bytes(d[o:o + 2], "big")  # noqa: E731
    cells, ntc = d[21], d[22]
    date = u16(10)
    return {
        "voltage_v": u16(0) / 100, "current_a": int.from_bytes(d[2:4], "big", signed=True) / 100,
        "remaining_ah": u16(4) / 100, "nominal_ah": u16(6) / 100, "cycles": u16(8),
        "production_date": f"{2000 + (date >> 9)}-{(date >> 5) & 0xF:02d}-{date & 0x1F:02d}",
        "balance_bits": u16(12) | (u16(14) << 16), "protection_bits": u16(16),
        "software_version": f"{d[18] >> 4}.{d[18] & 0xF}", "rsoc": d[19], "fet_bits": d[20],
        "cell_count": cells, "temps_c": [round((u16(23 + 2 * i) - 2731) / 10, 1) for i in range(ntc)],
    }


def decode_04(frame):
    d = frame[4:4 + frame[3]]
    return [int.from_bytes(d[i:i + 2], "big") for i in range(0, len(d), 2)]


class Reassembler:
    """Collects notifications; yields complete, validated frames (cut by length, never at 0x77)."""

    def __init__(self):
        self.buf = b""
        self.chunks = []
        self.frames = asyncio.Queue()

    def feed(self, _char, data):
        self.chunks.append(bytes(data))
        self.buf += bytes(data)
        while True:
            start = self.buf.find(b"\xdd")
            if start < 0:
                self.buf = b""
                return
            self.buf = self.buf[start:]
            if len(self.buf) < 4 or len(self.buf) < self.buf[3] + 7:
                return
            size = self.buf[3] + 7
            frame, self.buf = self.buf[:size], self.buf[size:]
            chk = (0x10000 - sum(frame[2:size - 3])) & 0xFFFF
            if frame[-1] == 0x77 and chk == int.from_bytes(frame[size - 3:size - 1], "big"):
                self.frames.put_nowait(frame)


class Checks:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")


async def control(bus, method, signature="", body=()):
    from dbus_fast import Message, MessageType
    reply = await bus.call(Message(destination="org.bluez", path="/io/bmsexporter/Fake",
                                   interface="io.bmsexporter.FakeControl1", member=method,
                                   signature=signature, body=list(body)))
    if reply.message_type == MessageType.ERROR:
        raise RuntimeError(f"{method}: {reply.error_name} {reply.body}")
    return json.loads(reply.body[0]) if reply.body and reply.body[0] else None


async def exercise(c, ctl, battery, notify_uuid, write_uuid, service_uuid):
    from bleak import BleakClient, BleakScanner

    tag = battery["variant"]
    address = battery["address"]
    reports = []
    two_reports = asyncio.Event()

    def seen(device, adv):
        if device.address == address:
            reports.append(adv)
            if len(reports) >= 2:
                two_reports.set()

    async with BleakScanner(detection_callback=seen, service_uuids=[service_uuid]):
        try:
            await asyncio.wait_for(two_reports.wait(), 5)
        except asyncio.TimeoutError:
            pass
    c.check(f"{tag}: scanner found the battery (RSSI updates while discovering)", len(reports) >= 2, len(reports))
    if not reports:
        return
    adv = reports[-1]
    c.check(f"{tag}: name", adv.local_name == battery["name"], adv.local_name)
    c.check(f"{tag}: RSSI", adv.rssi == battery["rssi"], adv.rssi)
    c.check(f"{tag}: service UUID {service_uuid[4:8]} advertised", service_uuid in adv.service_uuids, adv.service_uuids)

    async with BleakClient(address, timeout=10) as client:
        c.check(f"{tag}: connected", client.is_connected)
        service = client.services.get_service(service_uuid)
        c.check(f"{tag}: service discovered", service is not None)
        notify = client.services.get_characteristic(notify_uuid)
        write = client.services.get_characteristic(write_uuid)
        c.check(f"{tag}: notify characteristic flags", notify is not None and "notify" in notify.properties,
                notify and notify.properties)
        c.check(f"{tag}: write characteristic flags", write is not None and "write-without-response" in write.properties,
                write and write.properties)
        c.check(f"{tag}: write without response size is 20", write.max_write_without_response_size == 20)
        r = Reassembler()
        await client.start_notify(notify, r.feed)
        await client.write_gatt_char(write, REQ_03, response=False)
        frame = await asyncio.wait_for(r.frames.get(), 3)
        c.check(f"{tag}: 0x03 reply register", frame[1] == 0x03 and frame[2] == 0, frame.hex())
        decoded = decode_03(frame)
        bms = battery["bms"]
        expect = {k: bms[k] for k in ("current_a", "remaining_ah", "nominal_ah", "cycles", "rsoc",
                                      "production_date", "software_version", "fet_bits", "temps_c")}
        expect["voltage_v"] = sum(bms["cells_mv"]) // 10 / 100
        expect["cell_count"] = len(bms["cells_mv"])
        expect["protection_bits"] = bms.get("protection_bits", 0)
        expect["balance_bits"] = bms.get("balance_bits", 0)
        wrong = {k: (decoded[k], v) for k, v in expect.items() if decoded[k] != v}
        c.check(f"{tag}: 0x03 decoded values equal the served state", not wrong, wrong)
        c.check(f"{tag}: notifications at most 20 bytes", all(len(x) <= 20 for x in r.chunks),
                [len(x) for x in r.chunks])
        c.check(f"{tag}: 0x03 reply spread over several notifications", len(r.chunks) >= 2, len(r.chunks))
        await client.write_gatt_char(write, REQ_04, response=False)
        frame = await asyncio.wait_for(r.frames.get(), 3)
        c.check(f"{tag}: 0x04 cell voltages", decode_04(frame) == bms["cells_mv"], decode_04(frame))
        await client.stop_notify(notify)
    state = await control(ctl, "GetState", "s", [address])
    c.check(f"{tag}: disconnected after the client closed", not state["connected"] and state["disconnect_count"] == 1,
            (state["connected"], state["disconnect_count"]))


async def abort_retry(c, ctl):
    """bleak retries le-connection-abort-by-local after Connected goes false: the fake must flip it."""
    from bleak import BleakClient, BleakScanner

    address = BATTERIES[0]["address"]
    await control(ctl, "SetFaults", "ss", [address, json.dumps({"connect_abort": 1})])
    device = await BleakScanner.find_device_by_address(address, timeout=5)
    async with BleakClient(device, timeout=10) as client:
        c.check("bleak retried after le-connection-abort-by-local", client.is_connected)
    state = await control(ctl, "GetState", "s", [address])
    c.check("second attempt connected", state["connect_attempts"] >= 2, state["connect_attempts"])


async def main(bus, c):
    from dbus_fast.aio import MessageBus
    ctl = await MessageBus(bus_address=bus.address).connect()
    await control(ctl, "SetDelays", "s", [json.dumps({"rssi_interval_ms": 100})])
    for battery in BATTERIES:
        await control(ctl, "AddBattery", "s", [json.dumps(battery)])
    for battery, (s, n, w) in zip(BATTERIES, (("ff00", "ff01", "ff02"), ("fff0", "fff1", "fff2"))):
        try:
            await exercise(c, ctl, battery, uuid16(n), uuid16(w), uuid16(s))
        except Exception:
            c.check(f"{battery['variant']}: no exception", False, traceback.format_exc())
    try:
        await abort_retry(c, ctl)
    except Exception:
        c.check("abort retry: no exception", False, traceback.format_exc())
    log = await control(ctl, "GetWriteLog")
    c.check("only the allowed read requests were written", log and all(w["hex"] in ALLOWED for w in log),
            [w["hex"] for w in log or []])
    ctl.disconnect()


def run():
    c = Checks()
    started = time.monotonic()
    try:
        with FakeBus() as bus:
            bus.start_fake(state_file=False)
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
            asyncio.run(main(bus, c))
    except Exception:
        c.check("harness", False, traceback.format_exc())
    from importlib.metadata import version
    print(f"bleak {version('bleak')} against fake BlueZ: {time.monotonic() - started:.1f}s")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed or not c.passed else 0


if __name__ == "__main__":
    sys.exit(run())
