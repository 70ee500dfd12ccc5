#!/usr/bin/env bash
# Installs the storage servers evsrc's adapter tests run against, from Debian's packages:
#   redis-server            -> @evsrc/fs-redis
#   radosgw, ceph-mon, ...  -> @evsrc/fs-s3 (Ceph's real S3 gateway, which enforces If-None-Match)
# Azurite (for @evsrc/fs-azure) comes from npm as a dev dependency: `pnpm install` brings it.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(redis-server radosgw ceph-mon ceph-osd ceph-common)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test servers: all installed (${packages[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "test servers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages may start system services; the tests start private servers on free ports instead.
for svc in redis-server ceph-mon.target ceph-osd.target ceph-radosgw.target ceph.target; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "test servers: installed ${missing[*]}"
