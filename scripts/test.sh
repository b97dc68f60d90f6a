#!/usr/bin/env bash
# Run every test: lint the plugin (scripts/lint.sh), then the suites on SQLite and on a private PostgreSQL
# (started here).
# Extra arguments go to pytest (e.g. scripts/test.sh -k signing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check sidecar tests bench
.venv/bin/mypy sidecar/refunder
scripts/lint.sh
eval "$(scripts/postgres.sh)"
exec .venv/bin/python -m pytest "$@"
