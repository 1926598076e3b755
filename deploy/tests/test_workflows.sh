#!/usr/bin/env bash
# Lints .github/workflows/*.yml against the GitHub Actions workflow schema with
# check-jsonschema, installed into a virtualenv under .venv-check-jsonschema/
# (gitignored; reused by later runs). When PyPI cannot be reached the test says so and
# is skipped, since nothing about the workflows is known then; any other failure fails.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=$repo/.venv-check-jsonschema
tool=$venv/bin/check-jsonschema

if [[ ! -x $tool ]]; then
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q check-jsonschema; } >"$log" 2>&1; then
        rm -rf "$venv"
        if grep -qiE 'NewConnectionError|Max retries exceeded|Name or service not known|Temporary failure in name resolution|Network is unreachable|No matching distribution found' "$log"; then
            echo "SKIP: PyPI is unreachable, so check-jsonschema cannot be installed; the workflows were NOT linted"
            tail -3 "$log"
            exit 0
        fi
        cat "$log"
        echo "installing check-jsonschema failed"
        exit 1
    fi
fi

workflows=("$repo"/.github/workflows/*.yml)
"$tool" --version
"$tool" --builtin-schema vendor.github-workflows "${workflows[@]}"
