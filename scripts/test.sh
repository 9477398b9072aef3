#!/usr/bin/env bash
# The project's test command (the README's, and the one CI runs): set up, lint, check the import
# contracts, then the whole suite, slow tier included. Extra arguments go to pytest, e.g.
# ./scripts/test.sh -m "not slow" (the fast tier, for development) or ./scripts/test.sh -k export
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
# One worker per core (pytest-xdist); a test file stays on one worker (--dist loadfile), so a
# module's shared fixture (the end-to-end pipeline run) is built once. EDGETK_TEST_WORKERS=0: serial.
.venv/bin/python -m pytest -n "${EDGETK_TEST_WORKERS:-auto}" --dist loadfile "$@"
