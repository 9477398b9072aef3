"""KerasTuner's distributed mode: a chief oracle and two workers on loopback finish one search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_tuning_search import synthetic_features, tiny
from trainer.tuning import Algorithm
from trainer.tuning.distributed import environment, free_port
from trainer.tuning.features import save_features

ROOT = Path(__file__).resolve().parents[1]

# Each process: the same config, the same run directory, the same cached features.
PROCESS = """
import json, sys
from pathlib import Path
from trainer.tuning import TuneConfig, run_search
from trainer.tuning.features import load_cached_features
cfg = TuneConfig.load(sys.argv[1])
res = run_search(cfg, sys.argv[3], features=load_cached_features(Path(sys.argv[2])), compare=False)
print("RESULT " + json.dumps({"role": res.role, "run_now": res.trials_run_now,
                              "trials": [r["trial_id"] for r in res.trials]}))
"""


def _result(stdout: str) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"no result line in:\n{stdout[-2000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.slow
def test_chief_and_two_workers_on_loopback_complete_a_search(space_dir: Path) -> None:
    features = save_features(space_dir / "features", synthetic_features())
    cfg = tiny(algorithm=Algorithm.RANDOM, max_trials=8, recycle_every=None)
    cfg_path = space_dir / "tune config.json"
    cfg.save(cfg_path)
    run_dir = space_dir / "shared run"
    port = free_port()
    base_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}

    def start(tuner_id: str) -> subprocess.Popen:
        env = {**base_env, **environment(tuner_id, "127.0.0.1", port)}
        return subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(cfg_path), str(features.path), str(run_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    procs = {"chief": start("chief")}
    time.sleep(2)  # the chief binds the port before the workers dial it (they also retry)
    procs.update({t: start(t) for t in ("tuner0", "tuner1")})
    outputs = {}
    try:
        for name, proc in procs.items():
            # A hang must fail the test, not block the suite.
            outputs[name], _ = proc.communicate(timeout=420)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name} failed:\n{outputs.get(name, '')[-3000:]}"

    chief, w0, w1 = (_result(outputs[n]) for n in ("chief", "tuner0", "tuner1"))
    assert chief["role"] == "chief" and chief["run_now"] == []  # the chief never trains
    assert w0["role"] == w1["role"] == "worker"
    ids = [f"{i:04d}" for i in range(8)]
    assert chief["trials"] == ids
    assert sorted(w0["run_now"] + w1["run_now"]) == ids  # every trial ran exactly once
    assert w0["run_now"] and w1["run_now"], "both workers should have taken trials"
    tune = run_dir / "tune"
    rows = json.loads((tune / "trials.json").read_text())
    assert {r["tuner_id"] for r in rows} == {"tuner0", "tuner1"}
    assert all(r["status"] == "COMPLETED" for r in rows)
    assert (tune / "best_hyperparameters.json").is_file()
