#!/usr/bin/env bash
# The project's test command (the README's, and the one CI runs): set up, lint, test the fast tier.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -m slow   or   ./scripts/test.sh -k export
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
if [ "$#" -eq 0 ]; then
  set -- -m "not slow"
fi
.venv/bin/python -m pytest "$@"
