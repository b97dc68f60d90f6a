#!/usr/bin/env bash
# Lint the plugin: its JavaScript with WordPress's ESLint rules (@wordpress/eslint-plugin, installed from
# package-lock.json into node_modules/ here), its PHP with `php -l` and the project's own checks for
# escaping, nonces and capabilities, and text domains (scripts/plugin-checks.php). Installs Debian's
# nodejs, npm and php-cli when they are missing (each only if missing). scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()  # only what is missing: a Node.js from elsewhere (nodesource) conflicts with Debian's npm
command -v npm >/dev/null || missing+=(nodejs npm)
command -v php >/dev/null || missing+=(php-cli)
if [ ${#missing[@]} -gt 0 ]; then
  echo "lint: installing ${missing[*]} from Debian" >&2
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
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
