#!/usr/bin/env bash
# Installs the Debian package (bms-exporter: Debian names cannot hold "_") in a fresh Debian 12 (bookworm) chroot, the way a user
# would, and checks that it works and that removing and purging it leave nothing behind.
#
#   deploy/tests/test_deb.sh [PACKAGE.deb]    # default: dist/bms-exporter_*_ARCH.deb
#   deploy/tests/test_deb.sh --prepare        # only debootstrap the cached chroot
#
# Needs root, debootstrap and the apt mirror this machine is configured with (read from
# apt at run time, so no mirror is written down here). The debootstrapped chroot is kept
# as a tarball under $BMS_DEB_TEST_CACHE (default /var/tmp/bms_exporter-deb-test), one a
# day, with downloaded packages beside it, so a second run the same day takes seconds,
# not minutes. Every run unpacks a fresh copy and deletes it afterwards. Network steps
# have time limits (debootstrap 15 min, apt 5 min), so a dead mirror fails the test.
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${BMS_DEB_TEST_CACHE:-/var/tmp/bms_exporter-deb-test}
suite=bookworm
arch=$(dpkg --print-architecture)

started=$SECONDS
phase_started=$SECONDS
phase() { # phase NAME: prints how long the previous phase took, then names the next
    echo "  [$((SECONDS - phase_started)) s] done; next: $1"
    phase_started=$SECONDS
}
die() { echo "test_deb: error: $*" >&2; exit 1; }

failures=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "  ok   $what"; else echo "  FAIL $what"; failures=$((failures + 1)); fi
}

[[ $(id -u) -eq 0 ]] || die "needs root: it builds a chroot and mounts /proc into it"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"

deb=${1:-}
if [[ $deb == --prepare ]]; then
    :
elif [[ -z $deb ]]; then
    shopt -s nullglob
    candidates=("$repo_dir"/dist/bms-exporter_*_"$arch".deb)
    shopt -u nullglob
    ((${#candidates[@]} == 1)) ||
        die "expected one dist/bms-exporter_*_$arch.deb (found ${#candidates[@]}); run scripts/release or name the .deb"
    deb=${candidates[0]}
fi
if [[ $deb != --prepare ]]; then
    [[ -f $deb ]] || die "$deb does not exist"
    deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
    version=$(dpkg-deb -f "$deb" Version)
    echo "testing $deb ($version) in a fresh $suite $arch chroot"
fi

# --- the base chroot: debootstrap once a day, then unpack a copy ---------------------
# The Debian mirror apt on this machine uses for bookworm, so the test works wherever
# that works (a local mirror, a proxy, the real archive) and names none itself.
debian_mirror() {
    local uri
    uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(ORIGIN)' 2>/dev/null |
        awk -v s="$suite" '$2 == s && $3 == "Debian" { print $1; exit }')
    if [[ -z $uri ]]; then
        # Not fetched yet: the first deb822 or one-line source naming the suite.
        uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk -v s="$suite" '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }')
    fi
    if [[ -z $uri ]]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk -v s="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[/ && $(i + 1) == s) { print $i; exit } }')
    fi
    [[ -n $uri ]] || die "no Debian $suite source in /etc/apt/sources.list(.d); debootstrap needs a mirror"
    echo "${uri%/}"
}

# Deletes a chroot tree, after unmounting whatever is still mounted inside it (a
# killed debootstrap leaves /proc and /sys mounted); never while something is.
remove_tree() {
    local dir=$1 m
    for m in $(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" || true
    done
    if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        echo "test_deb: $dir still has mounts; not deleting it" >&2
        return 1
    fi
    rm -rf "$dir"
}

base=$cache/$suite-minbase-$arch-$(date -u +%Y%m%d).tar
mkdir -p "$cache/archives/partial"
if [[ ! -f $base ]]; then
    mirror=$(debian_mirror)
    echo "debootstrapping $suite minbase from $mirror (once a day; cached in $cache)"
    rm -f "$cache/$suite-minbase-$arch-"*.tar
    build=$(mktemp -d "$cache/build.XXXXXX")
    chmod 0755 "$build"  # apt in the chroot downloads as _apt
    # systemd for systemd-analyze and systemd-sysusers, as on every real Debian machine;
    # nothing of the package's own dependencies, so apt has to resolve them.
    timeout 900 debootstrap --variant=minbase --include=systemd --arch="$arch" "$suite" "$build" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log"; remove_tree "$build"; die "debootstrap failed (log: $cache/debootstrap.log)"; }
    # The chroot resolves the mirror the way this machine does.
    cp /etc/hosts /etc/resolv.conf "$build/etc/" 2>/dev/null || true
    timeout 300 chroot "$build" apt-get update -qq >/dev/null || { remove_tree "$build"; die "apt-get update in the chroot failed"; }
    chroot "$build" apt-get clean
    tar -C "$build" -cf "$base.tmp" . && mv "$base.tmp" "$base"
    remove_tree "$build"
fi
[[ $deb == --prepare ]] && { echo "chroot cached in $base ($((SECONDS - started)) s)"; exit 0; }
phase "unpack a fresh chroot"

root=$(mktemp -d /var/tmp/bms_exporter-deb-chroot.XXXXXX)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    # Only deleted once nothing is mounted, so a failed unmount cannot take the host's /dev along.
    remove_tree "$root" || echo "test_deb: left $root behind" >&2
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
chmod 0755 "$root"  # mktemp made it 0700: the service user must reach its /usr
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# Everything but the package manager's own state, to compare with after the purge.
snapshot() {
    in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /var/cache/apt \) -prune -o -print |
        grep -vE '^/(var/lib/(dpkg|apt)|var/log|var/cache/debconf|tmp|run)(/|$)' | LC_ALL=C sort
}
snapshot >"$root/../$(basename "$root").before"
before=$root/../$(basename "$root").before
trap 'rm -f "$before"; cleanup' EXIT

# --- install ------------------------------------------------------------------------
phase "apt-get install ./$(basename "$deb")"
cp "$deb" "$root/tmp/"
timeout 300 chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$root/tmp/install.log" 2>&1 ||
    { cat "$root/tmp/install.log"; die "apt-get install failed"; }
grep -E '^(Setting up|Unpacking|bms_exporter)' "$root/tmp/install.log" | sed 's/^/    /'
rm "$root/tmp/$(basename "$deb")"

phase "check the installed package"
unit=/lib/systemd/system/bms_exporter.service
installed() { [[ $(in_root dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
check "package installed" installed bms-exporter
check "libdbus-1-3 pulled in by Depends" installed libdbus-1-3
check "binary in /usr/bin" test -x "$root/usr/bin/bms_exporter"
check "unit in $unit" test -f "$root$unit"
check "unit reads /etc/default/bms_exporter" grep -qx 'EnvironmentFile=-/etc/default/bms_exporter' "$root$unit"
check "unit runs the binary with \$ARGS" grep -qx 'ExecStart=/usr/bin/bms_exporter $ARGS' "$root$unit"
check "/etc/default/bms_exporter sets ARGS" grep -qE '^ARGS=' "$root/etc/default/bms_exporter"
check "config and defaults are conffiles" \
    test "$(in_root dpkg-query -W -f='${Conffiles}' bms-exporter | awk '{ print $1 }' | LC_ALL=C sort | tr '\n' ' ')" = \
    "/etc/bms_exporter/config.yml /etc/default/bms_exporter "
quietly() { "$@" >/dev/null; }
check "system user exists" quietly in_root getent passwd bms_exporter
check "user is in group bluetooth" bash -c "chroot '$root' id -nG bms_exporter | tr ' ' '\n' | grep -qx bluetooth"
check "user has no login shell" bash -c "[[ \$(chroot '$root' getent passwd bms_exporter | cut -d: -f7) == */nologin ]]"
owner_mode() { # owner_mode PATH EXPECTED: names are looked up in the chroot's passwd
    local got
    got=$(in_root stat -c '%a %U:%G' "$1")
    [[ $got == "$2" ]] || { echo "    $1 is $got, not $2"; return 1; }
}
check "config dir 0750 root:bms_exporter" owner_mode /etc/bms_exporter "750 root:bms_exporter"
check "config 0640 root:bms_exporter" owner_mode /etc/bms_exporter/config.yml "640 root:bms_exporter"
check "config readable by the service user" \
    in_root setpriv --reuid=bms_exporter --regid=bms_exporter --init-groups cat /etc/bms_exporter/config.yml >/dev/null
reads_as_nobody() { in_root setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$1" >/dev/null; }
check "nobody can read /etc/default/bms_exporter (so the next check means something)" \
    reads_as_nobody /etc/default/bms_exporter
fails_as_nobody() { ! in_root setpriv --reuid=nobody --regid=nogroup --clear-groups cat /etc/bms_exporter/config.yml >/dev/null 2>&1; }
check "config not readable by nobody" fails_as_nobody
check "enabled for multi-user.target" test -L "$root/etc/systemd/system/multi-user.target.wants/bms_exporter.service"
check "docs, copyright and changelog present" test -f "$root/usr/share/doc/bms-exporter/copyright" -a \
    -f "$root/usr/share/doc/bms-exporter/changelog.Debian.gz"

same_as_repo_unit() { # the repository's unit but for the install paths and comments
    local strip='/^#/d; s|/usr/local/bin/|/usr/bin/|; s|/usr/local/share/doc/bms_exporter/|/usr/share/doc/bms-exporter/|'
    diff <(sed -e "$strip" "$repo_dir/deploy/systemd/bms_exporter.service") <(sed -e "$strip" "$root$unit")
}
check "unit is the repository's, hardening and all" same_as_repo_unit
check "its Documentation= file exists" test -f "$root/usr/share/doc/bms-exporter/README.md"
verify_unit() {
    local out
    out=$(in_root systemd-analyze verify "$unit" 2>&1) || { echo "$out"; return 1; }
    # verify warns without failing about some mistakes; any output at all is one.
    [[ -z $out ]] || { echo "$out"; return 1; }
}
check "systemd-analyze verify $unit" verify_unit

phase "run the installed binary as the service user"
as_service() { in_root setpriv --reuid=bms_exporter --regid=bms_exporter --init-groups "$@"; }
version_line=$(as_service /usr/bin/bms_exporter --version 2>&1) || true
echo "    --version: $version_line"
check "--version names the package version" test "${version_line%% *}" = "${version%-*}"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Started directly, not through a function: chroot, env and setpriv each exec the next,
# so $! is the server itself, for the signal and the exit status.
chroot "$root" env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 \
    setpriv --reuid=bms_exporter --regid=bms_exporter --init-groups \
    /usr/bin/bms_exporter serve --simulate --web.listen-address "127.0.0.1:$port" >"$root/tmp/serve.log" 2>&1 &
server_pid=$!
scrape() { # the simulated battery's first reading, within 20 s
    local deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)); do
        kill -0 "$server_pid" 2>/dev/null || { cat "$root/tmp/serve.log"; return 1; }
        if curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" -o "$root/tmp/metrics" 2>/dev/null &&
            grep -q '^bms_up{.*} 1$' "$root/tmp/metrics"; then
            return 0
        fi
        sleep 0.2
    done
    cat "$root/tmp/serve.log"; return 1
}
check "serve --simulate answers /metrics with bms_up 1" scrape
check "build_info carries the version" grep -q "bms_exporter_build_info{version=\"${version%-*}\"" "$root/tmp/metrics"
check "serve runs as bms_exporter" test "$(ps -o uid= -p "$server_pid" | tr -d ' ')" = "$(in_root id -u bms_exporter)"
kill -TERM "$server_pid" 2>/dev/null || true
stopped() { wait "$server_pid"; }
check "SIGTERM stops it with status 0" stopped
server_pid=

# --- remove and purge ---------------------------------------------------------------
phase "dpkg -r"
in_root dpkg -r bms-exporter >"$root/tmp/remove.log" 2>&1 || { cat "$root/tmp/remove.log"; die "dpkg -r failed"; }
check "binary removed" test ! -e "$root/usr/bin/bms_exporter"
check "unit removed" test ! -e "$root$unit"
check "config kept after remove" test -f "$root/etc/bms_exporter/config.yml"
check "defaults kept after remove" test -f "$root/etc/default/bms_exporter"

phase "dpkg -P"
in_root dpkg -P bms-exporter >"$root/tmp/purge.log" 2>&1 || { cat "$root/tmp/purge.log"; die "dpkg -P failed"; }
check "package gone from dpkg" test -z "$(in_root dpkg-query -W -f='${Status}' bms-exporter 2>/dev/null | grep -v '^unknown ok not-installed$' || true)"
check "no statoverride left" bash -c "! chroot '$root' dpkg-statoverride --list | grep -q bms_exporter"
owned_left() { # files still owned by the service user or group
    local uid gid left
    uid=$(in_root id -u bms_exporter 2>/dev/null) || return 0
    gid=$(in_root id -g bms_exporter)
    left=$(in_root find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o \( -uid "$uid" -o -gid "$gid" \) -print)
    [[ -z $left ]] || { echo "$left"; return 1; }
}
check "no file owned by the service user or group" owned_left
nothing_new() { # every path that was not there before belongs to a dependency apt pulled in
    local owned new
    rm -f "$root/tmp/"{install,remove,purge,serve}.log "$root/tmp/metrics"
    owned=$(mktemp)
    # Packages list /lib/... paths that the merged /usr holds as /usr/lib/...
    cat "$root"/var/lib/dpkg/info/*.list | sed -E 'p; s#^/(bin|sbin|lib[^/]*)(/|$)#/usr/\1\2#' |
        LC_ALL=C sort -u >"$owned"
    new=$(snapshot | LC_ALL=C comm -13 "$before" - | LC_ALL=C comm -23 - "$owned" |
        grep -vxE '/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?|/etc/ld\.so\.cache' || true)
    rm -f "$owned"
    [[ -z $new ]] || { echo "left behind:"; echo "$new"; return 1; }
}
check "nothing else left behind" nothing_new

# --- again without systemd-sysusers ---------------------------------------------------
# A container or an image without systemd: postinst must make the same user with useradd.
phase "install again without systemd-sysusers"
in_root userdel bms_exporter
in_root groupdel bluetooth
in_root dpkg-divert --quiet --local --rename --add /usr/bin/systemd-sysusers
cp "$deb" "$root/tmp/"
in_root dpkg -i "/tmp/$(basename "$deb")" >"$root/tmp/install.log" 2>&1 ||
    { cat "$root/tmp/install.log"; die "dpkg -i without systemd-sysusers failed"; }
rm "$root/tmp/$(basename "$deb")"
check "systemd-sysusers really was missing" test ! -e "$root/usr/bin/systemd-sysusers"
check "useradd made the user" quietly in_root getent passwd bms_exporter
check "in group bluetooth, which it created" bash -c "chroot '$root' id -nG bms_exporter | tr ' ' '\n' | grep -qx bluetooth"
check "with no login shell and home /" \
    test "$(in_root getent passwd bms_exporter | cut -d: -f6,7)" = "/:/usr/sbin/nologin"
check "config 0640 root:bms_exporter" owner_mode /etc/bms_exporter/config.yml "640 root:bms_exporter"
check "the binary runs as that user" quietly as_service /usr/bin/bms_exporter --version
in_root dpkg -P bms-exporter >"$root/tmp/purge.log" 2>&1 || { cat "$root/tmp/purge.log"; die "dpkg -P failed"; }
check "purge leaves no file of the user" owned_left
in_root dpkg-divert --quiet --local --rename --remove /usr/bin/systemd-sysusers

echo "  [$((SECONDS - phase_started)) s] done"
echo "test_deb: $((SECONDS - started)) s in all"
if ((failures)); then
    echo "test_deb: $failures check(s) failed"
    exit 1
fi
echo "test_deb: all checks passed"
