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
check "unit starts the installed binary with \$ARGS" \
    contains "$d/etc/systemd/system/bms_exporter.service" "ExecStart=/usr/local/bin/bms_exporter \$ARGS"
check "unit reads ARGS from /etc/default/bms_exporter" \
    contains "$d/etc/systemd/system/bms_exporter.service" "EnvironmentFile=-/etc/default/bms_exporter"
check "defaults 0644" mode_is "$d/etc/default/bms_exporter" 644
check "ARGS serve the installed config" \
    contains "$d/etc/default/bms_exporter" 'ARGS="serve --config.file=/etc/bms_exporter/config.yml"'
check "README installed where the unit's Documentation= points" \
    cmp -s "$deploy_dir/../README.md" "$d/usr/local/share/doc/bms_exporter/README.md"
check "Documentation= names it" \
    contains "$d/etc/systemd/system/bms_exporter.service" "Documentation=file:/usr/local/share/doc/bms_exporter/README.md"
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
    "./etc/bms_exporter/config.yml ./etc/default/bms_exporter ./etc/systemd/system/bms_exporter.service ./etc/sysusers.d/bms_exporter.conf ./usr/local/bin/bms_exporter ./usr/local/share/doc/bms_exporter/README.md ./usr/local/share/doc/bms_exporter/config.yml.example "

echo "install.sh again over an edited config and a new build"
printf '\n# edited by the owner\n' >>"$d/etc/bms_exporter/config.yml"
cp "$d/etc/bms_exporter/config.yml" "$work/edited.yml"
printf 'ARGS="serve --config.file=/etc/bms_exporter/config.yml --log.level=debug"\n' >"$d/etc/default/bms_exporter"
cp "$d/etc/default/bms_exporter" "$work/edited.defaults"
printf '#!/bin/sh\necho build-2\n' >"$fake_bin"
check "second run succeeds" stage "$d"
check "edited config kept byte for byte" cmp -s "$work/edited.yml" "$d/etc/bms_exporter/config.yml"
check "config mode unchanged" mode_is "$d/etc/bms_exporter/config.yml" 640
check "second run says it kept the config" contains "$work/log" "keeping existing /etc/bms_exporter/config.yml"
check "edited defaults kept byte for byte" cmp -s "$work/edited.defaults" "$d/etc/default/bms_exporter"
check "binary replaced by the new build" cmp -s "$fake_bin" "$d/usr/local/bin/bms_exporter"

echo "install.sh with PREFIX and SYSCONFDIR"
p=$work/prefixed
check "run succeeds" stage "$p" PREFIX=/opt/bms SYSCONFDIR=/srv/etc
check "binary under PREFIX" test -x "$p/opt/bms/bin/bms_exporter"
check "config under SYSCONFDIR" test -f "$p/srv/etc/bms_exporter/config.yml"
check "unit runs the binary under PREFIX" contains "$p/etc/systemd/system/bms_exporter.service" \
    "ExecStart=/opt/bms/bin/bms_exporter \$ARGS"
check "unit reads the defaults under SYSCONFDIR" contains "$p/etc/systemd/system/bms_exporter.service" \
    "EnvironmentFile=-/srv/etc/default/bms_exporter"
check "unit documents the README under PREFIX" contains "$p/etc/systemd/system/bms_exporter.service" \
    "Documentation=file:/opt/bms/share/doc/bms_exporter/README.md"
check "ARGS name the config under SYSCONFDIR" contains "$p/srv/etc/default/bms_exporter" \
    "--config.file=/srv/etc/bms_exporter/config.yml"

echo "install.sh strips an ELF binary"
if command -v cc >/dev/null; then
    printf 'int main(void) { return 0; }\n' >"$work/main.c"
    cc -g -o "$work/elf" "$work/main.c"
    s=$work/stripped
    check "run with a binary carrying symbols succeeds" stage "$s" BMS_EXPORTER_BIN="$work/elf"
    check "installed binary has no symbol table" bash -c "! readelf -S '$s/usr/local/bin/bms_exporter' | grep -qE '\\.(symtab|debug_info)'"
    check "installed binary still runs" "$s/usr/local/bin/bms_exporter"
else
    echo "  skip (no C compiler to make an unstripped ELF binary)"
fi

echo "install.sh --uninstall"
uninstall() { env DESTDIR="$d" bash "$deploy_dir/install.sh" --uninstall >"$work/log" 2>&1; }
check "uninstall succeeds" uninstall
check "binary, unit, sysusers entry and docs are gone" \
    test ! -e "$d/usr/local/bin/bms_exporter" -a ! -e "$d/etc/systemd/system/bms_exporter.service" \
    -a ! -e "$d/etc/sysusers.d/bms_exporter.conf" -a ! -e "$d/usr/local/share/doc/bms_exporter"
check "config and defaults are kept" cmp -s "$work/edited.yml" "$d/etc/bms_exporter/config.yml"
check "uninstall says what it kept" contains "$work/log" "kept /etc/default/bms_exporter"
check "uninstall twice succeeds" uninstall

echo "install.sh refuses bad input"
check "a missing BMS_EXPORTER_BIN fails" \
    fails env DESTDIR="$work/bad" BMS_EXPORTER_BIN=/nonexistent bash "$deploy_dir/install.sh"
check "and installs nothing" test ! -e "$work/bad"
check "an unknown argument fails" fails env DESTDIR="$work/bad" bash "$deploy_dir/install.sh" --frobnicate
printf '#!/bin/sh\necho "Swift version 5.10.1 (swift-5.10.1-RELEASE)"\n' >"$work/oldswift"
chmod 0755 "$work/oldswift"
too_old() { ! env -u BMS_EXPORTER_BIN DESTDIR="$work/bad" SWIFT="$work/oldswift" bash "$deploy_dir/install.sh" >"$work/log" 2>&1; }
check "Swift older than 6.1 is refused" too_old
check "with a message naming both versions" grep -q "Swift 5.10.1 is too old: bms_exporter needs Swift 6.1 or later" "$work/log"
check "and installs nothing" test ! -e "$work/bad"

if ((failures)); then
    echo "test_install: $failures check(s) failed"
    exit 1
fi
echo "test_install: all checks passed"
