#!/usr/bin/env bash
# Create .venv with the sidecar and its test tools, pinned by constraints.txt.
# Re-installs only when pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/pdf-deps.sh
stamp=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.stamp 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: installing the sidecar into .venv" >&2
  "${PYTHON:-python3}" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
  echo "$stamp" > .venv/.stamp
fi
