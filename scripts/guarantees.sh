#!/usr/bin/env bash
# Print Refunder's guarantees as measured in one run: double refunds, over-refunds, refunds left unfinished
# after reconcile, ledger/provider mismatches, rejected attacks, 5xx answers to signed fuzzing.
#   scripts/guarantees.sh [--runs 30] [--fuzz 400] [--seed 7]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
eval "$(scripts/postgres.sh)"  # the attacks and the status guarantees run on SQLite and PostgreSQL
exec .venv/bin/python -m tests.reliability.guarantees "$@"
