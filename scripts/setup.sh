#!/usr/bin/env bash
# Create (or update) the project's virtual environment with everything: ./scripts/setup.sh [EXTRA]
# EXTRA defaults to "dev" (train + serve + test tools); use "edge" on a device.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[${extra}]"
echo "edgetk installed in .venv with the '${extra}' extra: $(.venv/bin/edgetk --version)"
