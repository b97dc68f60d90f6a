#!/usr/bin/env bash
# Run the sidecar on an embedded SQLite ledger with the simulated provider and demo bookings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/refunder demo
