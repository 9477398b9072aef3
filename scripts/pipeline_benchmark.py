"""Run ``edgetk run --profile P`` from a clean run directory and write its record from the run's
own files: ``benchmarks/pipeline/<P>_profile.json`` + ``.md`` (``quick_profile.json``, ``full_profile.json``).

The record holds the wall time of every stage (from ``pipeline.json``), every candidate's
validation and test numbers, the selection (``selection.json``), the deployed artifact's accuracy,
size and latency (its manifest and ``bench/bench.json``), the machine and the load average sampled
during the run (the machine is shared: the load says what else ran). ``--seeds N`` then trains
the chosen candidate again with N-1 more seeds (``edgetk run --models <winner> --seed S``, each in
its own run directory) and reports mean and standard deviation over the N runs.

Usage: PYTHONPATH=$PWD .venv/bin/python scripts/pipeline_benchmark.py --profile quick [--seeds 3]

The record gives the deployed artifact's test accuracy and, where test-time views shipped, the
same artifact's without them (``plain``, from the run's ``views.json``). ``--compare RECORD``
(an earlier record of this script with seed runs) adds a table of this recipe against that one,
paired by seed: the same seed has the same validation and test images.

``--name`` writes a record under another name. ``full_profile_resnet_long.json`` + ``.md`` (the
winner alone with 14 epochs) were written by ``--profile full --collect-only --run-dir RUN --load-log
LOG --name full_profile_resnet_long`` from a run of
``edgetk run --profile full --models resnet_long --run-dir RUN`` (the recorded run named the same
recipe ``resnet`` in a copy of the candidates file). ``full_profile_resnet_fast.json`` + ``.md``
were written by ``--profile full --run-dir RUN --name full_profile_resnet_fast -- --models
baseline,resnet_fast,classical`` before that list became the default; ``full_profile_noviews.json``
is the same run collected (``--collect-only --seeds 2 --load-log full_profile_resnet_fast.json
--seed-load-log LOG``, then renamed). ``full_profile_resumed.json`` is that run and its seed runs
redone from ``export`` with test-time views (``edgetk run ... --from export``), collected with
``--collect-only --seeds 3 --load-log full_profile_resnet_fast.json --load-log RESUME_LOG
--seed-load-log LOG --note TEXT`` as ``full_profile``, then renamed. ``full_profile_fresh.json`` is
the live record of ``--profile full --run-dir RUN --name full_profile_fresh`` (one clean run), and
``full_profile.json`` that run collected with the same seed runs (``--collect-only --seeds 3
--load-log full_profile_fresh.json --seed-load-log LOG --note TEXT``). ``full_profile_resnet7.json`` + ``.md`` are this script's
``full_profile`` record of the earlier default (``resnet``, 7 epochs), renamed when it stopped
being the default. ``full_profile_10epochs.*`` and ``full_profile_20epochs.*`` are its
``full_profile`` records from when ``resnet_fast`` trained 10 epochs without random erasing and 20
with it, each renamed when the recipe changed (each record sets its seed runs beside the one
before it with ``--compare``). Those renamed records are now under ``benchmarks/archive/pipeline/``
(``full_profile_resnet_fast.*``, the same run as ``full_profile_noviews``, is in git history).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import provenance, shown_path  # noqa: E402

from edge_runtime.bench.device import device_info  # noqa: E402
from edge_runtime.common.fileio import read_json, write_json, write_text  # noqa: E402
from edge_runtime.common.versions import library_versions  # noqa: E402
from trainer.pipeline.budget import LIMITS  # noqa: E402


class LoadSampler(threading.Thread):
    """Samples /proc/loadavg (1-minute load) every ``every`` seconds while the run goes on."""

    def __init__(self, every: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self._stop = every, [], threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))
            except (OSError, ValueError):
                pass
            self._stop.wait(self.every)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        s = self.samples
        return {
            "one_minute_load_samples": len(s),
            "median": round(statistics.median(s), 2) if s else None,
            "max": max(s) if s else None,
            "every_s": self.every,
        }


def run_edgetk(args: list[str], log: Path) -> tuple[int, float]:
    exe = Path(sys.executable).with_name("edgetk")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter_ns()
    with open(log, "w") as f:
        rc = subprocess.call([str(exe), "run", *args], stdout=f, stderr=subprocess.STDOUT, env=env)
    return rc, (time.perf_counter_ns() - t0) / 1e9


def collect(run: Path) -> dict[str, Any]:
    """Everything the record says, read from the run directory's own files."""
    state = read_json(run / "pipeline.json")
    stages = {k: round(v["seconds"], 1) for k, v in state["stages"].items() if "seconds" in v}
    status = {k: v["status"] for k, v in state["stages"].items()}
    sel = read_json(run / "selection.json") if (run / "selection.json").is_file() else None
    out: dict[str, Any] = {"stage_seconds": stages, "stage_status": status, "selection": None}
    roc = read_json(run / "return_on_complexity.json")
    out["candidates"] = [
        {k: r.get(k) for k in ("stage", "kind", "val_accuracy", "accuracy", "macro_f1", "params",
                               "train_seconds", "epochs_run", "train_count")}
        for r in roc["rows"]
    ]  # fmt: skip
    if sel is None:
        return out
    out["selection"] = {
        "status": sel["status"],
        "budget": sel["budget"],
        "chosen": sel.get("chosen"),
        "points": sel["points"],
        "pareto": sel["pareto"],
        "anchor_comparison": sel.get("anchor_comparison"),
    }
    if (run / "bundle" / "manifest.json").is_file():
        m = read_json(run / "bundle" / "manifest.json")
        art = next(a for a in m["artifacts"] if a["file"] == m["default_artifact"])
        deployed: dict[str, Any] = {
            "candidate": sel["chosen"]["candidate"],
            "artifact": art["file"],
            "format": art["format"],
            "precision": art["precision"],
            "size_bytes": art["size_bytes"],
            "test_accuracy": art["parity"].get("accuracy"),
            "keras_test_accuracy": art["parity"].get("keras_accuracy"),
            "test_images": (m.get("parity_data") or {}).get("images"),
            "gate": art["parity"].get("verdict"),
            # the views averaged inside the graph (export/views.py), chosen on validation
            "test_time_views": ((m.get("source_model") or {}).get("test_time_views") or {}).get(
                "chosen", "none"
            ),
        }
        deployed.update(plain_side(run, deployed))
        if (run / "bench" / "bench.json").is_file():
            rows = read_json(run / "bench" / "bench.json")["rows"]
            deployed["bench"] = [
                {"threads": r["threads"], "latency_ms": r["latency_ms"],
                 "peak_rss_mb": (r.get("memory") or {}).get("peak_rss_mb")}
                for r in rows if r.get("artifact") == art["file"] and r.get("status") == "ok"
            ]  # fmt: skip
        out["deployed"] = deployed
    return out


def plain_side(run: Path, deployed: dict[str, Any]) -> dict[str, Any]:
    """The plain artifact (no test-time views) that selection chose, and its test accuracy.

    When the bundle shipped views, ``views.json`` holds the plain artifact's own gate numbers;
    otherwise the deployed artifact is the plain one.
    """
    views = run / "views.json"
    if deployed.get("test_time_views", "none") != "none" and views.is_file():
        plain = read_json(views)["plain"]
        return {
            "plain_test_accuracy": plain.get("test_accuracy"),
            "plain_test_images": plain.get("test_images"),
            "plain_p95_ms": plain.get("p95_ms"),
            "plain_size_kb": plain.get("size_kb"),
        }
    return {
        "plain_test_accuracy": deployed.get("test_accuracy"),
        "plain_test_images": deployed.get("test_images"),
        "plain_size_kb": deployed["size_bytes"] / 1000 if deployed.get("size_bytes") else None,
    }


# The seed runs' statistics, in the order the record prints and compares them.
SEED_METRICS = (
    "float_val_accuracy",
    "float_test_accuracy",
    "deployed_test_accuracy",
    "plain_deployed_test_accuracy",
)


def seed_stats(records: list[dict[str, Any]], candidate: str) -> dict[str, Any]:
    def stat(vals: list[float]) -> dict[str, Any]:
        return {
            "mean": statistics.mean(vals),
            "std": statistics.stdev(vals) if len(vals) > 1 else None,
            "n": len(vals),
            "values": vals,
        }

    val, test, dep, plain = [], [], [], []
    for r in records:
        row = next(c for c in r["candidates"] if c["stage"] == candidate)
        val.append(row["val_accuracy"])
        test.append(row["accuracy"])
        if r.get("deployed"):
            dep.append(r["deployed"]["test_accuracy"])
            if r["deployed"].get("plain_test_accuracy") is not None:
                plain.append(r["deployed"]["plain_test_accuracy"])
    return {
        "candidate": candidate,
        "float_val_accuracy": stat(val),
        "float_test_accuracy": stat(test),
        "deployed_test_accuracy": stat(dep) if dep else None,
        # the same artifact without test-time views (equal to the deployed one where none shipped)
        "plain_deployed_test_accuracy": stat(plain) if len(plain) == len(records) else None,
    }


def compare_seeds(rec: dict[str, Any], earlier: dict[str, Any], source: str) -> dict[str, Any]:
    """This record's seed runs against an earlier record's, paired by seed (same seed: same
    validation split and test split), metric by metric; None where the two share no seed."""
    mine, theirs = rec.get("seeds") or {}, earlier.get("seeds") or {}
    shared = [s for s in rec.get("seed_list", []) if s in earlier.get("seed_list", [])]
    out: dict[str, Any] = {"source": source, "earlier_command": earlier.get("command"),
                           "earlier_candidate": theirs.get("candidate"), "seeds": shared,
                           "metrics": {}}  # fmt: skip
    for key in SEED_METRICS:
        a, b = mine.get(key), theirs.get(key)
        if not a or not b or not shared:
            continue
        va = dict(zip(rec["seed_list"], a["values"], strict=True))
        vb = dict(zip(earlier["seed_list"], b["values"], strict=True))
        diffs = [va[s] - vb[s] for s in shared]
        out["metrics"][key] = {
            "earlier_mean": statistics.mean(vb[s] for s in shared),
            "mean": statistics.mean(va[s] for s in shared),
            "paired_differences": diffs,
            "mean_difference": statistics.mean(diffs),
            "better_on_every_seed": all(d > 0 for d in diffs),
        }
    return out


def markdown(rec: dict[str, Any]) -> str:
    p = rec["profile"]
    lines = [
        f"# `edgetk run --profile {p}` from a clean run directory",
        "",
        f"Command: `{rec['command']}`. Wall time **{rec['wall_seconds'] / 60:.1f} min** "
        f"(exit {rec['exit_code']}; from {rec.get('wall_from', 'this script')}), one run. Machine: {rec['machine']['cpu']}, "
        f"{rec['machine']['cpu_count']} cores, shared: 1-minute load average median "
        f"{rec['load']['median']} (max {rec['load']['max']}, {rec['load']['one_minute_load_samples']} samples).",
        *([rec["note"], ""] if rec.get("note") else []),
        *(
            [
                f"Written by `{rec['script_command']}`. Packages: "
                + ", ".join(f"{k} {v}" for k, v in rec["packages"].items() if k != "platform")
                + ".",
                "",
            ]
            if rec.get("packages")
            else []
        ),
        *(
            [
                "Load by part: "
                + "; ".join(
                    f"{p.get('source')}: median {p['median']} (max {p['max']}, "
                    f"{p['one_minute_load_samples']} samples)"
                    for p in rec["load_parts"]
                )
                + ".",
                "",
            ]
            if rec.get("load_parts")
            else []
        ),
        "| stage | seconds |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.0f} |" for k, v in rec["stage_seconds"].items()]
    lines += [
        "",
        "| candidate | kind | val accuracy | test accuracy | params | train s |",
        "|---|---|---|---|---|---|",
    ]
    for c in rec["candidates"]:
        f = lambda v, s: "-" if v is None else format(v, s)  # noqa: E731
        lines.append(
            f"| {c['stage']} | {c['kind']} | {f(c['val_accuracy'], '.4f')} | "
            f"{f(c['accuracy'], '.4f')} | {f(c['params'], ',')} | {f(c['train_seconds'], '.0f')} |"
        )
    sel = rec.get("selection") or {}
    if sel.get("chosen"):
        ch = sel["chosen"]
        lines += ["", f"Chosen on validation: **{ch['key']}** ({ch['reason']})."]
    d = rec.get("deployed")
    if d:
        lat = (d.get("bench") or [{}])[0].get("latency_ms") or {}
        lines += [
            "",
            f"Deployed artifact: `{d['artifact']}` of `{d['candidate']}` ({d['precision']}), "
            f"test-time views {d.get('test_time_views', 'none')}, "
            f"**{100 * d['test_accuracy']:.2f} %** on the {d['test_images']}-image test split "
            f"(Keras {100 * d['keras_test_accuracy']:.2f} %), {d['size_bytes'] / 1e6:.3f} MB, "
            f"p50 {lat.get('p50', float('nan')):.3f} ms / p99 {lat.get('p99', float('nan')):.3f} ms "
            f"per image ({(d.get('bench') or [{}])[0].get('threads', '-')} thread, n={lat.get('n', '-')}).",
        ]
    for name, a in (sel.get("anchor_comparison") or {}).items():
        # the bundle's accuracy (test-time views included), else the selected artifact's
        acc = d["test_accuracy"] if d else a["deployed_test_accuracy"]
        gain = 100 * (acc - a["anchor_test_accuracy"])
        verdict = "beats" if gain > 0 else "does NOT beat"
        lines.append(
            f"The deployed artifact {verdict} the classical anchor `{name}` "
            f"({100 * a['anchor_test_accuracy']:.2f} % test): {gain:+.2f} points."
        )
    s = rec.get("seeds")
    if s:
        lines += [
            "",
            f"Seed variance of `{s['candidate']}` ({s['float_test_accuracy']['n']} seeds: {rec['seed_list']}):",
            "",
        ]
        for k in SEED_METRICS:
            v = s.get(k)
            if v:
                std = "-" if v["std"] is None else f"{100 * v['std']:.2f}"
                vals = ", ".join(f"{100 * x:.2f}" for x in v["values"])
                lines.append(
                    f"- {k.replace('_', ' ')}: mean {100 * v['mean']:.2f} %, std {std} points "
                    f"({vals})"
                )
        lines += ["", s.get("note", "")]
        sl = rec.get("seed_runs_load")
        if sl:
            lines.append(
                f"Seed runs' 1-minute load average: median {sl['median']} (max {sl['max']}, "
                f"{sl['one_minute_load_samples']} samples)."
            )
    cmp = rec.get("comparison")
    if cmp and cmp.get("metrics"):
        lines += [
            "",
            f"Against the earlier record `{cmp['source']}` (`{cmp['earlier_candidate']}`, "
            f"`{cmp['earlier_command']}`), paired by seed ({', '.join(map(str, cmp['seeds']))}: "
            "the same validation and test images):",
            "",
            "| metric | earlier mean | this mean | difference per seed (points) | mean difference |",
            "|---|---|---|---|---|",
        ]
        for k, m in cmp["metrics"].items():
            diffs = ", ".join(f"{100 * d:+.2f}" for d in m["paired_differences"])
            lines.append(
                f"| {k.replace('_', ' ')} | {100 * m['earlier_mean']:.2f} % | "
                f"{100 * m['mean']:.2f} % | {diffs} | {100 * m['mean_difference']:+.2f} |"
            )
    return "\n".join(lines) + "\n"


def wall_from_state(run: Path) -> float:
    """The pipeline's own time from ``pipeline.json``: the sum of its stages' seconds.

    Not first start to last end: a run resumed later (``--from select``) has a gap between its
    invocations that is no stage's time.
    """
    return float(
        sum(v.get("seconds", 0.0) for v in read_json(run / "pipeline.json")["stages"].values())
    )


def command_from_config(run: Path) -> list[str]:
    """The ``edgetk run`` options that made ``run``, from its own pipeline_config.json (a collected
    record names the seed, candidates file, models and budget the run really used)."""
    cfg = read_json(run / "pipeline_config.json")
    args = ["--profile", str(cfg["profile"]), "--seed", str(cfg["seed"])]
    if cfg.get("candidates_file"):
        args += ["--candidates", shown_path(Path(cfg["candidates_file"]))]
    if cfg.get("candidate_names"):
        args += ["--models", ",".join(cfg["candidate_names"])]
    for key, flag, _, _ in LIMITS:
        if (cfg.get("budget") or {}).get(key) is not None:
            args += [flag, f"{cfg['budget'][key]:g}"]
    if cfg.get("formats"):
        args += ["--artifacts", ",".join(cfg["formats"])]
    if cfg.get("tune"):
        args += ["--tune"]
    if cfg.get("test_time_views"):
        args += ["--test-time-views", str(cfg["test_time_views"])]
    return [*args, "--run-dir", shown_path(run)]


def load_from_log(path: Path, key: str = "load") -> dict[str, Any]:
    """A load log of lines "<utc time> <1-minute load>" written beside the run, or the ``load``
    (``key``: or ``seed_runs_load``) of an earlier record of the same run (a ``.json`` file
    written by this script)."""
    if path.suffix == ".json":
        return {**read_json(path)[key], "source": path.name}
    rows, skipped = [], 0
    for line in path.read_text().splitlines():
        parts = line.split()
        try:
            rows.append((parts[0], float(parts[1])))
        except (IndexError, ValueError):  # e.g. the shell's "Terminated" when the logger stops
            skipped += int(bool(line.strip()))
    vals = [v for _, v in rows]
    return {
        "one_minute_load_samples": len(vals),
        "median": round(statistics.median(vals), 2) if vals else None,
        "max": max(vals) if vals else None,
        "source": str(path.name),
        "lines_skipped": skipped,
        "first_sample_utc": rows[0][0] if rows else None,
        "last_sample_utc": rows[-1][0] if rows else None,
    }


def write_record(rec: dict[str, Any], out: Path, name: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = name or f"{rec['profile']}_profile"
    write_json(out / f"{stem}.json", rec)
    write_text(out / f"{stem}.md", markdown(rec))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=["quick", "full"], required=True)
    ap.add_argument("--run-dir", type=Path, default=None, help="default: runs/bench_<profile>")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pipeline")
    ap.add_argument("--seeds", type=int, default=1, help="runs of the chosen candidate (>= 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--collect-only",
        action="store_true",
        help="run nothing: rebuild the record from an existing run directory (wall time from its "
        "pipeline.json; seed runs found beside it as <run>_seed<N>)",
    )
    ap.add_argument(
        "--load-log",
        type=Path,
        action="append",
        default=None,
        help="with --collect-only: load samples (repeatable: a resumed run's parts, in order)",
    )
    ap.add_argument(
        "--seed-load-log",
        type=Path,
        default=None,
        help="with --collect-only: the seed runs' load (a log, or the live record of "
        "this script: its seed_runs_load)",
    )
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="an earlier record of this script (with seed runs): compare the seed runs with its, "
        "paired by seed",
    )
    ap.add_argument("--name", default=None, help="record file name (default <profile>_profile)")
    ap.add_argument(
        "--note",
        default=None,
        help="how the run came about (e.g. the venv it ran in, stages redone on resume), "
        "printed under the record's first line",
    )
    ap.add_argument("extra", nargs="*", help="more edgetk run options, after --")
    a = ap.parse_args()
    if a.seeds < 1:
        ap.error(f"--seeds {a.seeds}: use at least 1")
    run = a.run_dir or ROOT / "runs" / f"bench_{a.profile}"
    args = ["--profile", a.profile, "--seed", str(a.seed), "--run-dir", str(run), *a.extra]
    sampler = LoadSampler()
    if a.collect_only:
        if not (run / "pipeline.json").is_file():
            ap.error(f"--collect-only: {run} holds no pipeline.json")
        rc, wall = 0 if (run / "selection.json").is_file() else 1, wall_from_state(run)
        if (run / "pipeline_config.json").is_file():
            args = command_from_config(run)
            a.seed = int(args[args.index("--seed") + 1])
    else:
        shutil.rmtree(run, ignore_errors=True)  # a clean run directory: nothing is resumed
        sampler.start()
        rc, wall = run_edgetk(args, run.with_name(run.name + ".log"))
    shown = [shown_path(run) if x == str(run) else x for x in args]
    rec: dict[str, Any] = {
        "profile": a.profile,
        **provenance(__file__, command_key="script_command"),
        "command": "edgetk run " + " ".join(shown),
        # the interpreter running this script is the venv's that ran edgetk (run_edgetk)
        "packages": library_versions(),
        "exit_code": rc,
        "wall_seconds": round(wall, 1),
        "wall_from": "sum of pipeline.json stage seconds"
        if a.collect_only
        else "this script's clock",
        "runs": 1,
        **({"note": a.note} if a.note else {}),
        "machine": {
            "cpu": device_info().get("cpu_model"),
            "cpu_count": os.cpu_count(),
            "device": device_info(),
        },
        **collect(run),
    }
    if a.collect_only:
        if a.load_log and len(a.load_log) > 1:
            rec["load_parts"] = [load_from_log(p) for p in a.load_log]
        rec["load"] = load_from_log(a.load_log[0]) if a.load_log else {"median": None, "max": None,
                                                                     "one_minute_load_samples": 0}  # fmt: skip
    else:
        rec["load"] = sampler.stop()
        sampler = LoadSampler()
        sampler.start()
    write_record(
        rec, a.out, a.name
    )  # the main run's record stands even if the seed runs are cut short
    if a.seeds > 1 and rec.get("selection") and rec["selection"].get("chosen"):
        winner = rec["selection"]["chosen"]["candidate"]
        records, seeds = [rec], [a.seed]
        for s in range(1, a.seeds):
            seed = a.seed + s
            srun = run.with_name(f"{run.name}_seed{seed}")
            sargs = ["--profile", a.profile, "--seed", str(seed), "--models", winner,
                     "--run-dir", str(srun), *a.extra]  # fmt: skip
            if not a.collect_only:
                shutil.rmtree(srun, ignore_errors=True)
                src, _ = run_edgetk(sargs, srun.with_name(srun.name + ".log"))
            else:
                src = 0 if (srun / "selection.json").is_file() else 1
            if src == 0:
                records.append(collect(srun))
                seeds.append(seed)
        rec["seed_list"] = seeds
        rec["seeds"] = seed_stats(records, winner)
        rec["seeds"]["note"] = (
            "each seed changes the weight initialisation, the data order and the validation split; "
            f"seeds after the first ran `edgetk run --models {winner}`"
        )
        if not a.collect_only:
            rec["seed_runs_load"] = sampler.stop()
        elif a.seed_load_log:
            rec["seed_runs_load"] = load_from_log(a.seed_load_log, "seed_runs_load")
        if a.compare:
            rec["comparison"] = compare_seeds(rec, read_json(a.compare), shown_path(a.compare))
        write_record(rec, a.out, a.name)
    print(markdown(rec))
    return rc


if __name__ == "__main__":
    sys.exit(main())
