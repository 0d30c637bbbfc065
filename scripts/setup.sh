#!/bin/sh
# Sets up pocker on Debian 12 (as root): OS packages, npm dependencies, the TypeScript build, the
# native addon and static monitor, the default busybox image layer, the user namespaces' id pool
# (/etc/subuid and /etc/subgid), and `pocker` on PATH.
# Safe to run again: it only installs what is missing.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "setup: run as root (pocker manages namespaces, mounts and cgroups)" >&2; exit 1; }
command -v node >/dev/null || { echo "setup: Node.js 20 or later is needed (https://nodejs.org or NodeSource's Debian packages)" >&2; exit 1; }

packages="busybox-static musl-tools make g++ python3 util-linux procps kmod runc qemu-system-x86 linux-image-amd64 cpio containernetworking-plugins iptables iproute2 nftables debootstrap"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing OS packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error </dev/null
fi
echo "setup: building"
npm run --silent build
scripts/make-busybox-layer.sh /var/lib/pocker
# The host ids of the containers' own user namespaces (userns: auto): 32768 ranges of 65536 from 2^31.
for f in /etc/subuid /etc/subgid; do
  grep -q '^pocker:' "$f" 2>/dev/null || { echo "setup: adding pocker:2147483648:2147483648 to $f"; echo 'pocker:2147483648:2147483648' >> "$f"; }
done
ln -sf "$(pwd)/bin/pocker" /usr/local/bin/pocker
echo "setup: done ($(pocker --version))"
