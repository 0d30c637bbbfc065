#!/bin/sh
# The README's second command: the whole test suite (unit, property, fake-host and real-kernel
# tests). Runs the setup first and installs what only the tests need (both no-ops when already
# done), then vitest; the last line is "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/setup-tests.sh >/dev/null
exec node scripts/run-tests.mjs "$@"
