#!/bin/sh
# The README's first command: set everything up, then reconcile the demo specs in examples/ (a
# busybox httpd and a sleeper) and show them. They keep running; `pocker down --dir examples`
# removes them and everything they own.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
echo "+ pocker reconcile --once --dir examples"
pocker reconcile --once --dir examples --log-level warn
echo
echo "+ pocker ps"
pocker ps
echo
echo "Run it again: nothing changes. Edit examples/httpd.yaml (say memory: 64Mi) and run it again: updated in place."
echo "Remove the demo containers: pocker down --dir examples"
