#!/usr/bin/env bash
# Builds the in-sandbox agent (agent/, Go standard library only) into dist/agent/cubby-agent: a
# static binary (no cgo), so it runs in any image. Go comes from Debian (golang-1.22-go from
# bookworm-backports, installed by scripts/install-system.sh); no module downloads happen.
# With `test`, runs the agent's Go unit tests instead.
set -euo pipefail
cd "$(dirname "$0")/.."
go=/usr/lib/go-1.22/bin/go
if [ ! -x "$go" ]; then echo "cubby: $go missing; run scripts/install-system.sh as root (installs golang-1.22-go)" >&2; exit 1; fi
# Caches live under /var/cache/cubby when writable (shared across checkouts), else in dist/.
cache=/var/cache/cubby/go
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then cache="$PWD/dist/.go"; mkdir -p "$cache"; fi
export GOCACHE="$cache/build" GOPATH="$cache/path" GOMODCACHE="$cache/path/pkg/mod" GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=0
cd agent
if [ "${1:-}" = test ]; then exec "$go" test -count=1 ./...; fi
mkdir -p ../dist/agent
"$go" build -trimpath -ldflags='-s -w' -o ../dist/agent/cubby-agent.tmp .
mv ../dist/agent/cubby-agent.tmp ../dist/agent/cubby-agent
