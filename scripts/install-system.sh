#!/usr/bin/env bash
# Installs the Debian packages Cubby needs. Idempotent: does nothing when all are present.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for p in buildah nftables iproute2 util-linux debootstrap skopeo fuse-overlayfs uidmap openssl rsync tini; do have "$p" || need+=("$p"); done
# Backports builds: runsc (systrap, checkpoint flags) and Go 1.22 for the in-sandbox agent.
bpo=()
have runsc || bpo+=(runsc)
have golang-1.22-go || bpo+=(golang-1.22-go)
if [ ${#need[@]} -eq 0 ] && [ ${#bpo[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "cubby: system packages missing (${need[*]} ${bpo[*]}); run as root to install them" >&2; exit 1; fi
src=/etc/apt/sources.list.d/cubby-backports.sources
if [ ! -f "$src" ]; then
  echo "cubby: adding the bookworm-backports suite (for runsc and Go)" >&2
  cat > "$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
echo "cubby: installing Debian packages: ${need[*]} ${bpo[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; fi
if [ ${#bpo[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends -t bookworm-backports "${bpo[@]}" >&2; fi
