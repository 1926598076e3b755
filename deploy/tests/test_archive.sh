#!/usr/bin/env bash
# Checks the release archive scripts/release left in dist/ the way a user meets it:
# checksums, layout, the binary's version, and install.sh run from the unpacked archive.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(cat "$repo/VERSION")
name=bms_exporter-$version.linux-$(dpkg --print-architecture)
archive=$repo/dist/$name.tar.gz
[[ -f $archive ]] || { echo "no $archive: run scripts/release first"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; failures=$((failures + 1)); fi
}

check "sha256sum -c sha256sums.txt inside dist/" bash -c "cd '$repo/dist' && sha256sum --quiet -c sha256sums.txt"
check "every file in dist/ is in sha256sums.txt" \
    test "$(cd "$repo/dist" && ls | grep -vx sha256sums.txt | LC_ALL=C sort | tr '\n' ' ')" = \
    "$(awk '{ print $2 }' "$repo/dist/sha256sums.txt" | LC_ALL=C sort | tr '\n' ' ')"
tar -C "$work" -xzf "$archive"
check "one top directory named like the archive" test "$(ls "$work")" = "$name"
top=$work/$name
for file in bms_exporter LICENSE NOTICE THIRD-PARTY-NOTICES README.md CHANGELOG.md deploy/config.yml \
    deploy/install.sh deploy/default/bms_exporter deploy/systemd/bms_exporter.service \
    deploy/systemd/sysusers.d/bms_exporter.conf deploy/prometheus/rules/bms_alerts.rules.yml \
    grafana/bms_exporter.json; do
    check "archive has $file" test -f "$top/$file"
done
check "archive files are owned by root" test -z "$(tar -tvzf "$archive" | awk '$2 != "0/0"')"
check "binary reports VERSION ($version)" bash -c "[[ \$('$top/bms_exporter' --version) == '$version '* ]]"
check "binary is stripped" bash -c "! readelf -S '$top/bms_exporter' | grep -q '\\.symtab'"
install_from_archive() {
    (cd "$top" && DESTDIR="$work/root" BMS_EXPORTER_BIN=./bms_exporter deploy/install.sh >"$work/log") &&
        cmp -s "$top/bms_exporter" "$work/root/usr/local/bin/bms_exporter" &&
        test -f "$work/root/etc/systemd/system/bms_exporter.service"
}
check "deploy/install.sh installs the archive's binary" install_from_archive
no_build_without_sources() { ! (cd "$top" && env -u BMS_EXPORTER_BIN DESTDIR="$work/nobuild" deploy/install.sh >"$work/log" 2>&1) &&
    grep -q "BMS_EXPORTER_BIN=./bms_exporter" "$work/log"; }
check "without BMS_EXPORTER_BIN it says how to use the archive's binary" no_build_without_sources

if ((failures)); then echo "test_archive: $failures check(s) failed"; exit 1; fi
echo "test_archive: all checks passed"
