#!/usr/bin/env bash
# Build bms_exporter and install it as a systemd service.
#
#   deploy/install.sh                       # build, then install into /
#   BMS_EXPORTER_BIN=path deploy/install.sh # install a binary built before
#   DESTDIR=/tmp/stage deploy/install.sh    # stage into a directory (packaging, tests)
#
# Environment:
#   BMS_EXPORTER_BIN  an already built binary; skips `swift build`
#   DESTDIR           staging root prepended to every path (default: none).
#                     With DESTDIR set nothing on the running system is touched:
#                     no user is created and systemd is not reloaded.
#   PREFIX            where the binary goes (default /usr/local -> /usr/local/bin)
#   SYSCONFDIR        where the config goes (default /etc -> /etc/bms_exporter)
#   UNITDIR           default /etc/systemd/system
#   SYSUSERSDIR       default /etc/sysusers.d
#   SWIFT             the swift driver (default: swift on PATH)
#
# Safe to run again: the binary, unit and sysusers entry are replaced, an
# existing config file is never touched, and a running service is restarted
# only if it was running already.
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-/etc/sysusers.d}
SWIFT=${SWIFT:-swift}

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$deploy_dir")

bindir=$PREFIX/bin
confdir=$SYSCONFDIR/bms_exporter
docdir=$PREFIX/share/doc/bms_exporter

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

if [[ -z $DESTDIR && $(id -u) -ne 0 ]]; then
    die "installing into / needs root (sudo), or set DESTDIR to stage into a directory"
fi

# --- the binary ------------------------------------------------------------
if [[ -n ${BMS_EXPORTER_BIN:-} ]]; then
    binary=$BMS_EXPORTER_BIN
    [[ -f $binary && -x $binary ]] || die "BMS_EXPORTER_BIN=$binary is not an executable file"
    say "using pre-built binary $binary"
else
    command -v "$SWIFT" >/dev/null || die "no Swift toolchain ($SWIFT) on PATH; install one or set BMS_EXPORTER_BIN"
    say "building a release binary (this takes a few minutes on a Raspberry Pi)"
    # The flags scripts/run and the benchmarks use too, so this is the measured binary.
    . "$repo_dir/scripts/release-flags"
    build=("$SWIFT" build --package-path "$repo_dir" "${bms_release_flags[@]}")
    "${build[@]}"
    binary=$("${build[@]}" --show-bin-path)/bms_exporter
    [[ -x $binary ]] || die "the build did not produce $binary"
fi

# --- files -----------------------------------------------------------------
install -d -m 0755 "$DESTDIR$bindir" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$docdir"
install -m 0755 "$binary" "$DESTDIR$bindir/bms_exporter"

# The unit names the default paths; point it at the ones chosen here.
unit_tmp=$(mktemp)
trap 'rm -f "$unit_tmp"' EXIT
sed -e "s|/usr/local/bin/bms_exporter|$bindir/bms_exporter|g" \
    -e "s|/etc/bms_exporter/|$confdir/|g" \
    "$deploy_dir/systemd/bms_exporter.service" >"$unit_tmp"
install -m 0644 "$unit_tmp" "$DESTDIR$UNITDIR/bms_exporter.service"
install -m 0644 "$deploy_dir/systemd/sysusers.d/bms_exporter.conf" "$DESTDIR$SYSUSERSDIR/bms_exporter.conf"
install -m 0644 "$deploy_dir/config.yml" "$DESTDIR$docdir/config.yml.example"

# The user must exist before the config can be given to its group.
if [[ -z $DESTDIR ]]; then
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers "$SYSUSERSDIR/bms_exporter.conf"
    else
        die "systemd-sysusers not found; create the system user bms_exporter in group bluetooth by hand"
    fi
fi

# Readable by root and the service's group only: it holds battery addresses.
install -d -m 0750 "$DESTDIR$confdir"
config=$DESTDIR$confdir/config.yml
if [[ -e $config ]]; then
    say "keeping existing $confdir/config.yml (the shipped default is $docdir/config.yml.example)"
else
    install -m 0640 "$deploy_dir/config.yml" "$config"
    say "installed default $confdir/config.yml: put your battery's address in it"
fi
if [[ -z $DESTDIR ]]; then
    chgrp bms_exporter "$DESTDIR$confdir" "$config"
fi

# --- systemd ---------------------------------------------------------------
if [[ -z $DESTDIR && -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl try-restart bms_exporter.service
    say "done. Next: edit $confdir/config.yml, then: systemctl enable --now bms_exporter"
else
    say "installed into ${DESTDIR:-/} (systemd not reloaded)"
fi
