#!/usr/bin/env bash
# Build bms_exporter and install it as a systemd service, or remove it again.
#
#   deploy/install.sh                       # build, then install into /
#   BMS_EXPORTER_BIN=path deploy/install.sh # install a binary built before
#   DESTDIR=/tmp/stage deploy/install.sh    # stage into a directory (packaging, tests)
#   deploy/install.sh --uninstall           # stop the service and remove what was
#                                           # installed, keeping the two config files
#
# Environment:
#   BMS_EXPORTER_BIN  an already built binary (such as the one in a release archive);
#                     skips `swift build`
#   DESTDIR           staging root prepended to every path (default: none).
#                     With DESTDIR set nothing on the running system is touched:
#                     no user is created and systemd is not reloaded.
#   PREFIX            where the binary goes (default /usr/local -> /usr/local/bin)
#   SYSCONFDIR        where the config goes (default /etc -> /etc/bms_exporter,
#                     /etc/default/bms_exporter)
#   UNITDIR           default /etc/systemd/system
#   SYSUSERSDIR       default /etc/sysusers.d
#   SWIFT             the swift driver (default: swift on PATH)
#
# Building needs Swift 6.1 or later, libdbus-1-dev and pkg-config; the last two are
# installed with apt-get when missing. The installed binary is stripped (a fifth of
# the unstripped size).
#
# Safe to run again: the binary, unit and sysusers entry are replaced, existing
# config files are never touched, and a running service is restarted only if it
# was running already.
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-/etc/sysusers.d}
SWIFT=${SWIFT:-swift}
min_swift=6.1

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$deploy_dir")

bindir=$PREFIX/bin
confdir=$SYSCONFDIR/bms_exporter
docdir=$PREFIX/share/doc/bms_exporter

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

action=install
for arg in "$@"; do
    case $arg in
        --uninstall) action=uninstall ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) die "unknown argument $arg (see --help)" ;;
    esac
done

if [[ -z $DESTDIR && $(id -u) -ne 0 ]]; then
    die "installing into / needs root (sudo), or set DESTDIR to stage into a directory"
fi

# --- uninstall -------------------------------------------------------------------
if [[ $action == uninstall ]]; then
    if [[ -z $DESTDIR && -d /run/systemd/system ]]; then
        systemctl disable --now bms_exporter.service 2>/dev/null || true
    fi
    rm -f "$DESTDIR$bindir/bms_exporter" "$DESTDIR$UNITDIR/bms_exporter.service" \
        "$DESTDIR$SYSUSERSDIR/bms_exporter.conf"
    rm -rf "$DESTDIR$docdir"
    if [[ -z $DESTDIR && -d /run/systemd/system ]]; then systemctl daemon-reload; fi
    say "removed the binary, unit, sysusers entry and docs"
    # Like `dpkg -r`: the configuration stays, and so does the system user (a later
    # user given its uid would inherit whatever files still belong to it).
    for kept in "$confdir/config.yml" "$SYSCONFDIR/default/bms_exporter"; do
        if [[ -e $DESTDIR$kept ]]; then say "kept $kept; delete it yourself if you no longer need it"; fi
    done
    exit 0
fi

# --- the binary ------------------------------------------------------------
if [[ -n ${BMS_EXPORTER_BIN:-} ]]; then
    binary=$BMS_EXPORTER_BIN
    [[ -f $binary && -x $binary ]] || die "BMS_EXPORTER_BIN=$binary is not an executable file"
    say "using pre-built binary $binary"
else
    # An unpacked release archive has the binary but no sources.
    [[ -f $repo_dir/Package.swift ]] ||
        die "no source tree at $repo_dir to build; set BMS_EXPORTER_BIN (in a release archive: BMS_EXPORTER_BIN=./bms_exporter)"
    command -v "$SWIFT" >/dev/null ||
        die "no Swift toolchain ($SWIFT) on PATH: install Swift $min_swift or later (deploy/README.md, \"Build from source\"), or set BMS_EXPORTER_BIN to a release binary"
    swift_version=$("$SWIFT" --version 2>/dev/null | sed -nE 's/.*Swift version ([0-9]+\.[0-9]+(\.[0-9]+)?).*/\1/p' | head -1)
    [[ -n $swift_version ]] || die "could not tell the version of $SWIFT from \`$SWIFT --version\`"
    if [[ $(printf '%s\n%s\n' "$min_swift" "$swift_version" | sort -V | head -1) != "$min_swift" ]]; then
        die "Swift $swift_version is too old: bms_exporter needs Swift $min_swift or later (deploy/README.md, \"Build from source\")"
    fi
    "$repo_dir/scripts/ensure-deps" build
    say "building a release binary with Swift $swift_version (minutes on a Raspberry Pi 4 or 5)"
    # The flags scripts/release, scripts/run and the benchmarks use too: the measured binary.
    . "$repo_dir/scripts/release-flags"
    build=("$SWIFT" build --package-path "$repo_dir" "${bms_release_flags[@]}")
    "${build[@]}"
    binary=$("${build[@]}" --show-bin-path)/bms_exporter
    [[ -x $binary ]] || die "the build did not produce $binary"
fi

# --- files -----------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Symbols are most of an unstripped binary's size and no use on a Pi.
if [[ $(head -c 4 "$binary" | od -An -c | tr -d ' ') == 177ELF ]]; then
    command -v strip >/dev/null || die "strip is missing (apt-get install binutils)"
    strip --strip-unneeded -o "$tmp/bms_exporter" "$binary"
else
    cp "$binary" "$tmp/bms_exporter"
fi

install -d -m 0755 "$DESTDIR$bindir" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$docdir" \
    "$DESTDIR$SYSCONFDIR/default"
install -m 0755 "$tmp/bms_exporter" "$DESTDIR$bindir/bms_exporter"

# The unit and the defaults name the default paths; point them at the ones chosen here.
sed -e "s|/usr/local/bin/bms_exporter|$bindir/bms_exporter|g" \
    -e "s|/usr/local/share/doc/bms_exporter/|$docdir/|g" \
    -e "s|/etc/default/bms_exporter|$SYSCONFDIR/default/bms_exporter|g" \
    "$deploy_dir/systemd/bms_exporter.service" >"$tmp/unit"
install -m 0644 "$tmp/unit" "$DESTDIR$UNITDIR/bms_exporter.service"
install -m 0644 "$deploy_dir/systemd/sysusers.d/bms_exporter.conf" "$DESTDIR$SYSUSERSDIR/bms_exporter.conf"
install -m 0644 "$deploy_dir/config.yml" "$DESTDIR$docdir/config.yml.example"
install -m 0644 "$repo_dir/README.md" "$DESTDIR$docdir/README.md"

defaults=$DESTDIR$SYSCONFDIR/default/bms_exporter
if [[ -e $defaults ]]; then
    say "keeping existing $SYSCONFDIR/default/bms_exporter"
else
    sed -e "s|/etc/bms_exporter/|$confdir/|g" "$deploy_dir/default/bms_exporter" >"$tmp/defaults"
    install -m 0644 "$tmp/defaults" "$defaults"
fi

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
    say "done. Next: edit $confdir/config.yml (flags: $SYSCONFDIR/default/bms_exporter), then: systemctl enable --now bms_exporter"
else
    say "installed into ${DESTDIR:-/} (systemd not reloaded)"
fi
