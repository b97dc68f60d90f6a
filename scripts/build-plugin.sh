#!/usr/bin/env bash
# Build the installable plugin: dist/refunder-<version>.zip with a top-level refunder/ folder.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^ \* Version: *//p' wp-plugin/refunder/refunder.php)
mkdir -p dist
rm -f "dist/refunder-$version.zip"
(cd wp-plugin && python3 - "$version" <<'PY'
import sys, zipfile, pathlib
version = sys.argv[1]
root = pathlib.Path("refunder")
with zipfile.ZipFile(f"../dist/refunder-{version}.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            info = zipfile.ZipInfo(str(path), date_time=(2026, 1, 1, 0, 0, 0))  # same bytes every build
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
PY
)
echo "dist/refunder-$version.zip"
