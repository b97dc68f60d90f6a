#!/usr/bin/env bash
# Lint the plugin: its JavaScript with WordPress's ESLint rules (@wordpress/eslint-plugin, installed from
# package-lock.json into node_modules/ here), its PHP with `php -l` and the project's own checks for
# escaping, nonces and capabilities, and text domains (scripts/plugin-checks.php). Installs Debian's
# nodejs, npm and php-cli when they are missing. scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null || ! command -v php >/dev/null; then
  echo "lint: installing nodejs, npm and php-cli from Debian" >&2
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends nodejs npm php-cli >/dev/null
fi
stamp=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if [ "$(cat node_modules/.stamp 2>/dev/null)" != "$stamp" ]; then
  echo "lint: installing the JavaScript linter into node_modules/" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$stamp" > node_modules/.stamp
fi
node_modules/.bin/eslint --max-warnings 0 wp-plugin/refunder/assets
failed=0
while IFS= read -r -d '' file; do
  out=$(php -l "$file" 2>&1) || { echo "$out" >&2; failed=1; }
done < <(find wp-plugin tests/wp scripts -name '*.php' -print0)
[ "$failed" = 0 ] || { echo "lint: php -l found syntax errors" >&2; exit 1; }
php scripts/plugin-checks.php wp-plugin/refunder
