#!/usr/bin/env bash
# Tests deploy/install.sh by staging into temporary DESTDIRs with a stand-in
# binary, so neither Swift nor root's file system is involved.
# Exits non-zero if any check fails.
set -euo pipefail

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; failures=$((failures + 1)); fi
}
mode_is() { [[ $(stat -c %a "$1") == "$2" ]]; }
contains() { grep -qF -- "$2" "$1"; }
fails() { ! "$@" >/dev/null 2>&1; }

fake_bin=$work/bms_exporter
printf '#!/bin/sh\necho build-1\n' >"$fake_bin"
chmod 0755 "$fake_bin"

stage() { # stage DESTDIR [VAR=VALUE...]: run install.sh into DESTDIR
    local dest=$1; shift
    env DESTDIR="$dest" BMS_EXPORTER_BIN="$fake_bin" "$@" bash "$deploy_dir/install.sh" >"$work/log" 2>&1
}

echo "install.sh into a fresh DESTDIR"
d=$work/root
check "first run succeeds" stage "$d"
check "binary 0755" mode_is "$d/usr/local/bin/bms_exporter" 755
check "binary is the given one" cmp -s "$fake_bin" "$d/usr/local/bin/bms_exporter"
check "unit 0644" mode_is "$d/etc/systemd/system/bms_exporter.service" 644
check "unit starts the installed binary with the installed config" \
    contains "$d/etc/systemd/system/bms_exporter.service" \
    "ExecStart=/usr/local/bin/bms_exporter serve --config.file=/etc/bms_exporter/config.yml"
check "unit equals the shipped one for default paths" \
    cmp -s "$deploy_dir/systemd/bms_exporter.service" "$d/etc/systemd/system/bms_exporter.service"
check "sysusers entry 0644" mode_is "$d/etc/sysusers.d/bms_exporter.conf" 644
check "sysusers entry puts the user in bluetooth" \
    grep -qE '^m[[:space:]]+bms_exporter[[:space:]]+bluetooth' "$d/etc/sysusers.d/bms_exporter.conf"
check "config dir 0750" mode_is "$d/etc/bms_exporter" 750
check "config 0640" mode_is "$d/etc/bms_exporter/config.yml" 640
check "config is the shipped default" cmp -s "$deploy_dir/config.yml" "$d/etc/bms_exporter/config.yml"
check "example config 0644" mode_is "$d/usr/local/share/doc/bms_exporter/config.yml.example" 644
check "nothing else installed" \
    test "$(cd "$d" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" = \
    "./etc/bms_exporter/config.yml ./etc/systemd/system/bms_exporter.service ./etc/sysusers.d/bms_exporter.conf ./usr/local/bin/bms_exporter ./usr/local/share/doc/bms_exporter/config.yml.example "

echo "install.sh again over an edited config and a new build"
printf '\n# edited by the owner\n' >>"$d/etc/bms_exporter/config.yml"
cp "$d/etc/bms_exporter/config.yml" "$work/edited.yml"
printf '#!/bin/sh\necho build-2\n' >"$fake_bin"
check "second run succeeds" stage "$d"
check "edited config kept byte for byte" cmp -s "$work/edited.yml" "$d/etc/bms_exporter/config.yml"
check "config mode unchanged" mode_is "$d/etc/bms_exporter/config.yml" 640
check "second run says it kept the config" contains "$work/log" "keeping existing /etc/bms_exporter/config.yml"
check "binary replaced by the new build" cmp -s "$fake_bin" "$d/usr/local/bin/bms_exporter"

echo "install.sh with PREFIX and SYSCONFDIR"
p=$work/prefixed
check "run succeeds" stage "$p" PREFIX=/opt/bms SYSCONFDIR=/srv/etc
check "binary under PREFIX" test -x "$p/opt/bms/bin/bms_exporter"
check "config under SYSCONFDIR" test -f "$p/srv/etc/bms_exporter/config.yml"
check "unit points at both" contains "$p/etc/systemd/system/bms_exporter.service" \
    "ExecStart=/opt/bms/bin/bms_exporter serve --config.file=/srv/etc/bms_exporter/config.yml"

echo "install.sh refuses bad input"
check "a missing BMS_EXPORTER_BIN fails" \
    fails env DESTDIR="$work/bad" BMS_EXPORTER_BIN=/nonexistent bash "$deploy_dir/install.sh"
check "and installs nothing" test ! -e "$work/bad"

if ((failures)); then
    echo "test_install: $failures check(s) failed"
    exit 1
fi
echo "test_install: all checks passed"
