"""Run one measurement in a fresh process: ``python -m edge_runtime.bench.worker '<json>'``.

Prints the row as JSON on its last stdout line. Isolation gives each artifact its own peak memory
figure and turns a crashing runtime (a segfault in a native library) into an error row.
"""

from __future__ import annotations

import json
import sys

from edge_runtime.bench.measure import measure


def main(argv: list[str]) -> int:
    kwargs = json.loads(argv[0])
    try:
        row = measure(**kwargs)
    except Exception as exc:  # any failure becomes an error row; the parent carries on
        row = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
