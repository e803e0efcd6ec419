#!/usr/bin/env bash
# End-to-end tests: the real `passo server` driven by boto3 and the aws CLI v1.
#
#   tests/e2e/run.sh                       # every tests/e2e/test_*.py
#   tests/e2e/run.sh test_api              # one module
#   tests/e2e/run.sh test_api.AliasTest    # one class (or Class.test_method)
#
# Environment:
#   PASSO_BIN    the binary under test (default: target/release/passo)
#   PASSO_VENV   the virtualenv to create/use (default: /tmp/passo-venv)
#   PASSO_E2E_KEEP=1  keep each server's temp dir (data dir and log) for inspection
# Exit status: 0 when every test passed, 1 otherwise (2 for a setup problem).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PASSO_VENV:-/tmp/passo-venv}"
bin="${PASSO_BIN:-$root/target/release/passo}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac

if [ ! -x "$bin" ]; then
  echo "run.sh: passo binary not found at $bin (build it or set PASSO_BIN)" >&2
  exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

export PASSO_BIN="$bin"
export PYTHONDONTWRITEBYTECODE=1
# The venv's `aws` first, so the CLI tests use the pinned awscli.
export PATH="$venv/bin:$PATH"
cd "$here"
exec "$venv/bin/python" - "$@" <<'EOF'
import sys
import unittest

loader = unittest.defaultTestLoader
names = sys.argv[1:]
suite = loader.loadTestsFromNames(names) if names else loader.discover(".", pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2).run(suite)
# One count per test method (a test with several failing subTests counts once); errors in
# setUpModule/setUpClass count as failures too.
bad = {getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
bad |= {t.id() for t in result.unexpectedSuccesses}
failed = len(bad)
# One line per failure, with the exception's last line, so a truncated log still names them.
for test, trace in result.failures + result.errors:
    last = next((l for l in reversed(trace.strip().splitlines()) if l and not l.startswith(" ")), "")
    print(f"FAILED {getattr(test, 'test_case', test).id()}: {last[:300]}")
passed = max(0, result.testsRun - len(result.skipped) - failed)
print(f"e2e: {passed} passed, {failed} failed, {len(result.skipped)} skipped")
sys.exit(0 if failed == 0 else 1)
EOF
