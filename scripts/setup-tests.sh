#!/bin/sh
# What only the tests need, on top of scripts/setup.sh (run by scripts/test.sh; a user who only
# wants pocker never installs these): a local OCI registry, image build and copy tools, htpasswd
# for registry auth, openssl for a test CA, podman (the peer of bench's pull suite), strace (which
# holds a monitor's syscalls so a test can kill it at a chosen step), Prometheus and Chromium,
# which scrape and render what the controller serves, and Node 22 and 24, on which
# test/cli/bundle.test.ts runs bin/pocker besides the Node that runs the suite. Safe to run
# again: it only installs what is missing.
set -eu
[ "$(id -u)" = 0 ] || { echo "setup-tests: run as root" >&2; exit 1; }
packages="docker-registry skopeo umoci apache2-utils openssl podman strace prometheus chromium"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup-tests: installing OS packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null
fi
# Debian's docker-registry package starts a system service where systemd runs; the tests start
# their own registries on free ports of 127.0.0.1 and never use it.
# Node 22 and 24: npm's per-platform node packages, the binary inside the package.
nodes=/var/lib/pocker-test-cache/node
arch=$(node -p process.arch)
for v in 22 24; do
  if [ ! -x "$nodes/$v/node_modules/node-linux-$arch/bin/node" ]; then
    echo "setup-tests: installing Node $v for the bundle test"
    mkdir -p "$nodes/$v"
    npm install --silent --no-save --no-audit --no-fund --prefix "$nodes/$v" "node-linux-$arch@$v" </dev/null
  fi
done
