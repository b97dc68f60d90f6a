#!/usr/bin/env bash
# Run every test. Extra arguments go to pytest (e.g. scripts/test.sh -k signing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
