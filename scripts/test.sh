#!/usr/bin/env bash
# The whole test suite: lint, type-check (the build), then every test file under dist/test.
# Run through `./cubby test`, which installs and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL server binaries for test/store/postgres.test.ts, which runs a throwaway server of its
# own. Installed without the cluster and service Debian would otherwise create and start.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "cubby: PostgreSQL server binaries missing; run as root to install postgresql-15" >&2; exit 1; fi
  echo "== installing PostgreSQL 15 (binaries only: no cluster, no service)"
  export DEBIAN_FRONTEND=noninteractive
  # Refuse service starts during the install (policy-rc.d), unless the host already has a policy.
  policy=/usr/sbin/policy-rc.d ours=''
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql-common >&2
  conf=/etc/postgresql-common/createcluster.conf
  if grep -qE '^[[:space:]]*#?[[:space:]]*create_main_cluster' "$conf"; then
    sed -i -E 's/^[[:space:]]*#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$conf"
  else
    echo 'create_main_cluster = false' >> "$conf"
  fi
  apt-get install -y -qq --no-install-recommends postgresql-15 >&2
  if command -v systemctl >/dev/null && systemctl is-active --quiet postgresql 2>/dev/null; then systemctl stop postgresql; fi
  if [ -n "$ours" ]; then rm -f "$policy"; trap - EXIT; fi
fi

# Debian's Chromium for the browser tests (the console's, through playwright-core): tests only.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "cubby: chromium missing; run as root to install it" >&2; exit 1; fi
  echo "== installing Chromium (browser tests)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2; }
fi

echo "== lint"; npx eslint . && npm run --silent format:check
echo "== type-check"; npm run --silent typecheck
echo "== agent (go test)"; bash scripts/build-agent.sh test
echo "== tests"
files=$(find dist/test -name '*.test.js' | sort)
if [ -n "${CUBBY_TEST_FILTER:-}" ]; then files=$(echo "$files" | grep -E "$CUBBY_TEST_FILTER" || true); fi
# One file at a time: the tests share one machine's runsc, network pool and CPU budget.
# Besides the spec output, each file's time goes to dist/test-times.txt (slowest first).
exec node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/test-times-reporter.mjs --test-reporter-destination=dist/test-times.txt $files
