#!/usr/bin/env bash
# `bms_exporter serve` under valgrind memcheck (--leak-check=full) against the fake BlueZ, through
# link drops, corrupt/chunked/garbage frames, a device removal, a bluetoothd SIGKILL and a restart
# of the bus daemon itself, then SIGTERM. Prints valgrind's leak and error summary.
#
#   Benchmarks/soak/valgrind-serve.sh [path/to/bms_exporter]     (default: the debug build)
#
# Three workarounds for valgrind 3.19 (Debian 12) with Swift 6.3 binaries, none touching the code:
# - it cannot read DWARF 5: the binary and the toolchain's runtime libraries are copied with
#   `objcopy --strip-debug` (function symbols stay, so stacks still name functions);
# - its rt_sigsuspend wrapper writes into the caller's signal mask, which libdispatch keeps in
#   read-only memory, and valgrind dies with SIGSEGV: sigsuspend_shim.c (LD_PRELOAD) passes a copy;
# - the bus address has no `guid=`, or libdbus would refuse every bus daemon after the first.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-$(swift build --show-bin-path)/bms_exporter}
work=$(mktemp -d -t bms-valgrind.XXXXXX)
address="unix:path=$work/bus"
battery='{"address":"A4:C1:38:00:00:01","name":"xiaoxiang BMS","bms":{"counters":[1,2,3,4,5,6,7,8,9,10,11]}}'
port=19914
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

control() { busctl --address="$address" call org.bluez /io/bmsexporter/Fake io.bmsexporter.FakeControl1 "$@" > /dev/null; }
start_bus() {
    rm -f "$work/bus.out"
    /usr/bin/dbus-daemon --nofork --config-file="$PWD/Tests/FakeBlueZ/test-bus.conf" --address="$address" \
        --print-address=1 > "$work/bus.out" 2>> "$work/bus.err" &
    bus_pid=$!; pids+=("$bus_pid")
    for _ in $(seq 100); do [ -s "$work/bus.out" ] && return; sleep 0.1; done
    echo "dbus-daemon did not start" >&2; exit 1
}
start_fake() {
    rm -f "$work/fake.out"
    /usr/bin/python3 Tests/FakeBlueZ/fake_bluez.py --bus-address "$address" --write-log "$work/writes.log" \
        > "$work/fake.out" 2>> "$work/fake.err" &
    fake_pid=$!; pids+=("$fake_pid")
    for _ in $(seq 150); do grep -q READY "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
    control AddBattery s "$battery"
}
wait_up() {  # bounded polling of the exporter's own answer
    for _ in $(seq 240); do
        curl -sf "127.0.0.1:$port/metrics" | grep -q '^bms_up{battery="battery"} 1' && { echo "  up again"; return; }
        sleep 0.5
    done
    echo "  NOT up after 120 s" >&2
}

mkdir -p "$work/lib"
objcopy --strip-debug "$binary" "$work/bms_exporter"
for library in /opt/swift/usr/lib/swift/linux/*.so; do
    objcopy --strip-debug "$library" "$work/lib/$(basename "$library")" 2> /dev/null || cp "$library" "$work/lib/"
done
gcc -shared -fPIC -O2 -o "$work/sigsuspend_shim.so" Benchmarks/soak/sigsuspend_shim.c -ldl

start_bus
start_fake
echo "serve under valgrind (log: $work/valgrind.txt)"
DBUS_SYSTEM_BUS_ADDRESS="$address" LD_LIBRARY_PATH="$work/lib" LD_PRELOAD="$work/sigsuspend_shim.so" \
    valgrind --tool=memcheck --leak-check=full --track-origins=yes --num-callers=40 --log-file="$work/valgrind.txt" \
    "$work/bms_exporter" serve --bms.address A4:C1:38:00:00:01 --poll.interval 1s \
    --web.listen-address "127.0.0.1:$port" 2> "$work/serve.log" &
exporter=$!; pids+=("$exporter")
wait_up
echo "link drop";                control DropLink s A4:C1:38:00:00:01; wait_up
echo "corrupt + first reply dropped"
control SetFaults ss A4:C1:38:00:00:01 '{"corrupt_checksum":3,"drop_first_reply":2}'; control DropLink s A4:C1:38:00:00:01; wait_up
echo "random chunks, strays, garbage"
control SetFaults ss A4:C1:38:00:00:01 '{"random_chunks":true,"stray_frames":["dd0700020102fffb77"],"garbage_prefix":"dd03771a00ff"}'; wait_up
echo "device removed";           control RemoveDeviceObject s A4:C1:38:00:00:01; wait_up
echo "bluetoothd SIGKILL";       kill -KILL "$fake_pid"; start_fake; wait_up
echo "bus daemon restart";       kill -TERM "$fake_pid" "$bus_pid"; sleep 1; start_bus; start_fake; wait_up
kill -TERM "$exporter"; status=0; wait "$exporter" || status=$?
echo "exporter exit status: $status"
grep -E "^==[0-9]+== +(Invalid (read|write)|(definitely|indirectly|possibly) lost:|ERROR SUMMARY)" "$work/valgrind.txt" \
    | sed 's/^==[0-9]*== *//' | sort | uniq -c
echo "uninitialised-value reports: $(grep -c 'uninitialised value' "$work/valgrind.txt" || true)," \
    "origins in a Swift runtime metadata allocation: $(grep -A3 'Uninitialised value was created' "$work/valgrind.txt" | grep -c 'MetadataAllocator' || true)" \
    "of $(grep -c 'Uninitialised value was created' "$work/valgrind.txt" || true)"
