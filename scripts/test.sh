#!/usr/bin/env bash
# The whole test suite: lint, type-check (the build), then every test file under dist/test.
# Run through `./cubby test`, which installs and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== lint"; npx eslint .
echo "== type-check"; npx tsc -p tsconfig.json --noEmit
echo "== tests"
files=$(find dist/test -name '*.test.js' | sort)
if [ -n "${CUBBY_TEST_FILTER:-}" ]; then files=$(echo "$files" | grep -E "$CUBBY_TEST_FILTER" || true); fi
# One file at a time: the tests share one machine's runsc, network pool and CPU budget.
exec node --test --test-concurrency=1 --test-reporter=spec $files
