"""One stretch of a recycled search, run as ``python -m trainer.tuning.child JOB.json``.

The parent (:func:`trainer.tuning.search.run_search`) writes the job: the config, the tune folder,
the cached features, how many trials the project may hold when this child stops, and the time
left. The child resumes the KerasTuner project, runs until that budget, writes why it stopped to
the result file and exits, taking TensorFlow's per-trial leftovers with it.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from edge_runtime.common.errors import EdgetkError
from edge_runtime.common.fileio import read_json, write_json


def main(argv: list[str]) -> int:
    from trainer import env

    env.prepare()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    job = read_json(argv[0])
    try:
        from trainer.tuning.budget import Budget
        from trainer.tuning.config import TuneConfig
        from trainer.tuning.features import load_cached_features
        from trainer.tuning.paths import TunePaths
        from trainer.tuning.search import search_in_process

        cfg = TuneConfig.from_dict(job["config"])
        features = load_cached_features(Path(job["features_dir"]))
        if features is None:
            raise EdgetkError(f"feature cache {job['features_dir']} is missing or incomplete")
        deadline = None
        if job["remaining_s"] is not None:
            deadline = time.perf_counter_ns() + int(job["remaining_s"] * 1e9)
        budget = Budget(max_trials=job["max_trials"], deadline_ns=deadline)
        reason = search_in_process(
            cfg, TunePaths(Path(job["paths_root"])), features, budget, job["session"]
        )
    except EdgetkError as exc:
        write_json(job["result"], {"error": str(exc), "exit_code": exc.exit_code})
        return exc.exit_code
    write_json(job["result"], {"stop_reason": reason})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
