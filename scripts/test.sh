#!/usr/bin/env bash
# Run netlab's test suite: lint, unit tests (pure, no root) and integration tests (root, real kernel,
# each run inside its own isolated "host" network namespace). Extra arguments go to pytest and replace
# the default selection (the whole tests/ tree): scripts/test.sh tests/unit runs the unit tests only.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${NETLAB_VENV:-/opt/netlab/venv}"
cd "$repo"
"$venv/bin/ruff" check netlab tests bench scripts labs
[ "$#" -gt 0 ] || set -- tests
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=20 "$@"
