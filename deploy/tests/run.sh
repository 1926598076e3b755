#!/usr/bin/env bash
# Runs every test of deploy/ and grafana/ and ends with "N passed, M failed, K skipped".
#
#   BMS_EXPORTER_BIN=/path/to/bms_exporter deploy/tests/run.sh   # what CI runs
#   deploy/tests/run.sh --stand-in     # integration tests against stand_in_exporter.py
#
# The packaging tests run scripts/release (reusing BMS_EXPORTER_RELEASE_BIN, a release
# binary built with --static-swift-stdlib, when set; building one otherwise) and install
# the .deb in a fresh Debian chroot, which needs root. BMS_EXPORTER_PACKAGING=0 skips them.
#
# Needs: promtool and prometheus (Debian package "prometheus"), amtool and
# alertmanager ("prometheus-alertmanager"), systemd-analyze ("systemd"),
# python3 with PyYAML ("python3-yaml"). Missing packages are
# installed with apt-get when running as root; otherwise the tests that
# need them fail.
set -uo pipefail

tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deploy_dir=$(dirname "$tests_dir")
repo_dir=$(dirname "$deploy_dir")
cd "$repo_dir" || exit 1

integration_args=()
for arg in "$@"; do
    case $arg in
        --stand-in) integration_args+=(--stand-in) ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
skipped=0
run() { # run NAME COMMAND...: one test, passes when COMMAND exits 0, skipped on 77
    local name=$1 rc; shift
    echo "=== $name"
    "$@"; rc=$?
    if ((rc == 0)); then
        echo "--- PASS $name"; passed=$((passed + 1))
    elif ((rc == 77)); then
        echo "--- SKIP $name"; skipped=$((skipped + 1))
    else
        echo "--- FAIL $name"; failed=$((failed + 1))
    fi
}

# --- tools -------------------------------------------------------------------
need=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || need+=(prometheus)
command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null || need+=(systemd)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if ((${#need[@]})) && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- 1. Prometheus rules -------------------------------------------------------
rule_files=(deploy/prometheus/rules/*.rules.yml)
rule_tests=(deploy/prometheus/tests/*.test.yml)

run "promtool check rules" promtool check rules "${rule_files[@]}"

check_example_config() { # the example config, with the rule files beside it as documented
    local dir
    dir=$(mktemp -d) || return 1
    cp deploy/prometheus/prometheus.yml "${rule_files[@]}" "$dir/" &&
        promtool check config "$dir/prometheus.yml"
    local rc=$?
    rm -rf "$dir"
    return $rc
}
run "promtool check config (example prometheus.yml)" check_example_config
run "promtool check config (agent.yml)" promtool check config deploy/prometheus/agent.yml

for t in "${rule_tests[@]}"; do
    run "promtool test rules $(basename "$t")" promtool test rules "$t"
done

every_rule_has_a_unit_test() {
    local kind name missing=0
    while read -r kind name; do
        if [[ $kind == alert ]]; then
            grep -qE "alertname:[[:space:]]*$name\$" "${rule_tests[@]}" && continue
        else
            grep -qE -- "- expr:[[:space:]]*$name\$" "${rule_tests[@]}" && continue
        fi
        echo "$kind $name has no unit test"
        missing=1
    done < <(sed -nE 's/^[[:space:]]*- (alert|record):[[:space:]]*([^[:space:]]+).*/\1 \2/p' "${rule_files[@]}")
    return $missing
}
run "every alert and recording rule has a unit test" every_rule_has_a_unit_test

every_alert_has_a_runbook() { # a runbook_url whose anchor is a heading of docs/alerts.md
    local name anchor missing=0
    while read -r name; do
        anchor=$(awk -v a="$name" '$0 ~ "- alert: "a"$" {f=1} f && /runbook_url:/ {sub(/.*#/, ""); sub(/".*/, ""); print; exit}' "${rule_files[@]}")
        if [[ $anchor != "${name,,}" ]]; then
            echo "alert $name: runbook_url anchor is '$anchor', expected '${name,,}'"; missing=1
        elif ! grep -qx "## $name" docs/alerts.md; then
            echo "alert $name: no '## $name' section in docs/alerts.md"; missing=1
        fi
    done < <(sed -nE 's/^[[:space:]]*- alert:[[:space:]]*([^[:space:]]+).*/\1/p' "${rule_files[@]}")
    return $missing
}
run "every alert has a runbook section in docs/alerts.md" every_alert_has_a_runbook

# --- 2. Alertmanager ----------------------------------------------------------
run "amtool check-config (alertmanager.yml)" amtool check-config deploy/alertmanager/alertmanager.yml

# --- 3. systemd unit exposure ------------------------------------------------
unit_exposure_within_baseline() {
    local out score baseline
    baseline=$(tr -d '[:space:]' <"$tests_dir/security-baseline.txt")
    out=$(systemd-analyze security --offline=true --no-pager deploy/systemd/bms_exporter.service 2>&1) || {
        echo "$out"; return 1; }
    score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$out")
    [[ -n $score ]] || { echo "$out"; echo "no exposure score found"; return 1; }
    echo "exposure score $score (baseline $baseline)"
    awk -v s="$score" -v b="$baseline" 'BEGIN { exit !(s <= b) }' || {
        echo "$out" | grep '✗'; echo "exposure rose above the baseline in security-baseline.txt"; return 1; }
}
run "systemd-analyze security (offline) within baseline" unit_exposure_within_baseline

# --- 4. install.sh -------------------------------------------------------------
run "install.sh into a DESTDIR" bash "$tests_dir/test_install.sh"

# --- 5. release artefacts, the .deb in a fresh chroot, the release workflow -----
if [[ ${BMS_EXPORTER_PACKAGING:-1} != 0 ]]; then
    run "scripts/release: archive, .deb (lintian), checksums" scripts/release
    run "release archive: checksums, layout, install.sh from it" bash "$tests_dir/test_archive.sh"
    run ".deb installed, run, removed and purged in a fresh Debian chroot" bash "$tests_dir/test_deb.sh"
    publish_dry_run() { # what the release workflow's last job does, without the upload
        local dir rc
        dir=$(mktemp -d) || return 1
        cp -r dist "$dir/dist-$(dpkg --print-architecture)" &&
            scripts/publish-release --dry-run "v$(cat VERSION)" "$dir"
        rc=$?
        rm -rf "$dir"
        return $rc
    }
    run "scripts/publish-release --dry-run on dist/" publish_dry_run
else
    echo "=== packaging tests skipped (BMS_EXPORTER_PACKAGING=0)"
fi
run "release workflow passes check-jsonschema" bash "$tests_dir/test_workflows.sh"

# --- 6. Grafana and the integration tests --------------------------------------
run "dashboard structure" python3 "$tests_dir/test_dashboard.py"
run "integration: rules and dashboard queries against prometheus" \
    python3 "$tests_dir/test_prometheus_integration.py" "${integration_args[@]}"
run "notifications: silent-low battery to a webhook via prometheus and alertmanager" \
    python3 "$tests_dir/test_notifications.py" "${integration_args[@]}"

echo
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
