#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine with Node 20: PostgreSQL 15 with PL/Lua from
# Debian's archive, the npm packages, and the build. Works as root (no sudo needed) and
# as a user who may sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in postgresql postgresql-15-pllua; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: installing ${need[*]} needs root; run this as root or install sudo" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${need[@]}"
fi

npm ci --no-audit --no-fund
npm run build
