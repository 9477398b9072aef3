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
.venv/bin/python -m pytest "$@"
