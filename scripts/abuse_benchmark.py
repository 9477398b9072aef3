"""Acceptance of the hardening issue: every attack against a real ``edgetk serve``, default options.

    PYTHONPATH=. .venv/bin/python scripts/abuse_benchmark.py [--bundle DIR] [--base OLD_CHECKOUT]
        [--runs 3] [--seconds 10] [--out benchmarks/serve/abuse.json]

For each attack of ``abuse_attacks.py`` (repeated until it has run for at least 6 s), while it runs: ``/v1/health`` is probed every 50 ms on
its own keep-alive connection (latency per probe, failures counted), one ordinary client keeps
classifying a 28x28 PNG, and the server's RSS is sampled every 25 ms (psutil). After it, 3 s of
quiet, then the RSS again ("after"). The server's peak over all attacks is its VmHWM at the end.
Then: shutdown under load (8 clients with 32 Mpx requests, SIGTERM; time to exit, what each
client got, error lines in the log), a non-ASCII API key at start, and normal throughput at
concurrency 8 of the old code (``--base``: a checkout of main) against this one, alternated
``--runs`` times on the same machine (ratio of medians). Writes JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
from abuse_attacks import ATTACKS, NOT_ATTACKS, multipart, prepare_payloads, small_png
from bench_common import machine, median, pick_bundle, provenance, shown_path
from PIL import Image
from serve_harness import ROOT, Server, drive, percentiles_ms, request_bytes, start_server

from edge_runtime.common.fileio import write_json, write_text

MIN_ATTACK_S = 6.0
BARS = {
    "health_p99_ms": 250.0,
    "peak_rss_mb": 400.0,
    "cut_within_s": 30.0,
    "shutdown_within_s": 10.0,
    "throughput_ratio_min": 0.9,
}


def _probe_process(url: str, stop: Any, out: Any) -> None:
    """In its own process (the attackers' threads must not delay it through the GIL): probe
    ``/v1/health`` every 50 ms and keep an ordinary client classifying; report at ``stop``."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    health_ns: list[int] = []
    fails: Counter[str] = Counter()
    normal: Counter[str] = Counter()
    done = threading.Event()

    def conn() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def probe() -> None:
        c = conn()
        while not done.is_set():
            t0 = time.perf_counter_ns()
            try:
                c.request("GET", "/v1/health")
                resp = c.getresponse()
                resp.read()
                health_ns.append(time.perf_counter_ns() - t0)
                if resp.status != 200:
                    fails[str(resp.status)] += 1
            except (OSError, http.client.HTTPException) as exc:
                health_ns.append(time.perf_counter_ns() - t0)  # a failure counts as slow
                fails[type(exc).__name__] += 1
                c.close()
                c = conn()
            done.wait(0.05)
        c.close()

    def client() -> None:
        c, png = conn(), small_png()
        while not done.is_set():
            try:
                c.request("POST", "/v1/predict", png, {"Content-Type": "image/png"})
                resp = c.getresponse()
                resp.read()
                normal[str(resp.status)] += 1
            except (OSError, http.client.HTTPException) as exc:
                normal[type(exc).__name__] += 1
                c.close()
                c = conn()
                done.wait(0.05)
        c.close()

    threads = [threading.Thread(target=f) for f in (probe, client)]
    for t in threads:
        t.start()
    stop.wait()
    done.set()
    for t in threads:
        t.join(60)
    out.put((health_ns, dict(fails), dict(normal)))


class Watch:
    """Health probes and an ordinary client (another process), RSS samples (a thread here)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        ctx = multiprocessing.get_context("fork")
        self.stop_event, self.queue = ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=_probe_process,
                                args=(server.url, self.stop_event, self.queue))  # fmt: skip
        self.stop = threading.Event()
        self.rss: list[int] = []
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.health_ns: list[int] = []
        self.health_fail: dict[str, int] = {}
        self.normal: dict[str, int] = {}

    def __enter__(self) -> Watch:
        self.proc.start()
        self.sampler.start()
        time.sleep(0.5)  # the probes run before the attack starts
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.stop_event.set()
        self.health_ns, self.health_fail, self.normal = self.queue.get(timeout=120)
        self.proc.join(30)
        self.sampler.join(30)

    def _sample(self) -> None:
        proc = psutil.Process(self.server.proc.pid)
        while not self.stop.is_set():
            try:
                self.rss.append(proc.memory_info().rss)
            except psutil.Error:
                return
            self.stop.wait(0.025)


def rss_mb(server: Server) -> float:
    return round(psutil.Process(server.proc.pid).memory_info().rss / 2**20, 1)


def vm_hwm_mb(server: Server) -> float:
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise SystemExit("no VmHWM in /proc (Linux only)")


def warm_up(server: Server) -> None:
    """A few ordinary requests first: lazy imports and first-call costs are not an attack's."""
    host, port = server.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for _ in range(20):
        for method, path, body in (
            ("GET", "/v1/health", None),
            ("POST", "/v1/predict", small_png()),
        ):
            conn.request(method, path, body, {"Content-Type": "image/png"} if body else {})
            conn.getresponse().read()
    conn.close()


def run_attack(server: Server, name: str) -> dict[str, Any]:
    print(f"  {name} ...", flush=True)
    before = rss_mb(server)
    t0 = time.perf_counter_ns()
    with Watch(server) as watch:
        # A quick attack is repeated for at least MIN_ATTACK_S: a p99 needs some 100 probes.
        outcome = ATTACKS[name](server.host_port)
        while (time.perf_counter_ns() - t0) / 1e9 < MIN_ATTACK_S:
            outcome += ATTACKS[name](server.host_port)
    seconds = (time.perf_counter_ns() - t0) / 1e9
    time.sleep(3.0)
    statuses = Counter(s for s, _ in outcome)
    closed_after = [round(t, 2) for s, t in outcome if s in ("closed", "408")]
    row = {
        "attack": name,
        "is_attack": name not in NOT_ATTACKS,
        "requests": len(outcome),
        "outcome": dict(statuses),
        "slowest_answer_s": round(max((t for _, t in outcome), default=0.0), 2),
        "cut_after_s_max": max(closed_after, default=None),
        "attack_s": round(seconds, 2),
        "health": {
            "probes": len(watch.health_ns),
            "failures": dict(watch.health_fail),
            **percentiles_ms(watch.health_ns),
        },
        "ordinary_client": dict(watch.normal),
        "rss_mb": {
            "before": before,
            "peak_during": round(max(watch.rss, default=0) / 2**20, 1),
            "after": rss_mb(server),
        },
    }
    print(
        f"    {dict(statuses)} health p99 {row['health']['p99']} ms rss {row['rss_mb']}", flush=True
    )
    return row


def shutdown_under_load(bundle: Path) -> dict[str, Any]:
    server = start_server(bundle, [])

    def grey(side: int) -> bytes:  # compressible: 8 of them stay under the 10 MB body limit
        buf = io.BytesIO()
        Image.linear_gradient("L").resize((side, side)).save(buf, "PNG")
        return buf.getvalue()

    body, ctype = multipart([(f"{i}.png", grey(2000)) for i in range(8)])
    got: list[tuple[Any, ...]] = []

    def client() -> None:
        host, port = server.host_port
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request("POST", "/v1/predict", body, {"Content-Type": ctype})
            resp = conn.getresponse()
            got.append((resp.status, resp.getheader("content-type"), resp.read()[:80]))
        except (OSError, http.client.HTTPException) as exc:
            got.append((type(exc).__name__, None, b""))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(300):  # until every upload is in the server (30 s at most)
        if in_flight(server) >= len(threads) + 1 - len(got):  # +1: the metrics request itself
            break
        time.sleep(0.1)
    rc, seconds = server.stop()
    for t in threads:
        t.join(60)
    log = server.log()
    bad_lines = [ln for ln in log.splitlines() if "Traceback" in ln or " ERROR " in ln
                 or "Exception in ASGI" in ln or "unhandled error" in ln]  # fmt: skip
    return {
        "clients": len(threads),
        "exit_code": rc,
        "exit_s": round(seconds, 2),
        "answers": dict(Counter(f"{s} {c}" for s, c, _ in got)),
        "all_json": all(c == "application/json" for _, c, _ in got),
        "error_log_lines": len(bad_lines),
    }


def in_flight(server: Server) -> float:
    host, port = server.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    for line in text.splitlines():
        if line.startswith("edgetk_http_requests_in_flight"):
            return float(line.split()[-1])
    return 0.0


def non_ascii_key(bundle: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "edgetk", "serve", str(bundle), "--port", "0",
         "--api-key", "clé-secrète"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    return {"exit_code": proc.returncode, "message": proc.stderr.strip().splitlines()[-1]}


def throughput(bundle: Path, base: Path | None, runs: int, seconds: float) -> dict[str, Any]:
    png = request_bytes("POST", "/v1/predict", small_png(), {"Content-Type": "image/png"})
    versions = {"new": ROOT, **({"old": base} if base else {})}
    samples: dict[str, list[float]] = {k: [] for k in versions}
    for r in range(runs):
        for name, root in versions.items():
            server = start_server(bundle, [], code_root=root)
            try:
                res = drive(*server.host_port, [png], concurrency=8, duration_s=seconds)
            finally:
                server.stop()
            bad = {k: v for k, v in res.statuses.items() if k != "200"}
            print(f"  run {r + 1} {name}: {res.rps:.0f} req/s {bad or ''}", flush=True)
            samples[name].append(round(res.rps, 1))
    out: dict[str, Any] = {"concurrency": 8, "seconds_each": seconds, "runs": runs,
                           "requests_per_s": samples}  # fmt: skip
    if base:
        out["ratio_new_to_old_of_medians"] = round(
            median(samples["new"]) / median(samples["old"]), 3
        )
        out["ratio_per_run"] = [round(n / o, 3) for n, o in zip(samples["new"], samples["old"])]
    return out


def verdicts(record: dict[str, Any]) -> dict[str, bool]:
    rows = record["attacks"]
    by_name = {r["attack"]: r for r in rows}
    cut = [by_name[n] for n in ("idle_sockets_x300", "slowloris_x20", "unfinished_bodies_x40")
           if n in by_name]  # fmt: skip

    def four_xx(r: dict[str, Any]) -> bool:
        return all(k == "closed" or k.startswith("4") for k in r["outcome"])

    out = {
        "health_p99_under_250ms_every_attack": all(
            (r["health"]["p99"] or 1e9) < BARS["health_p99_ms"] for r in rows
        ),
        "peak_rss_under_400MB": record["server_peak_rss_mb"] < BARS["peak_rss_mb"],
        "slow_and_idle_cut_within_30s": all(
            (r["cut_after_s_max"] or 0) <= BARS["cut_within_s"] and "open" not in r["outcome"]
            for r in cut
        ),
        "attacks_get_4xx_never_5xx": all(four_xx(r) for r in rows if r["is_attack"]),
        "shutdown_within_10s_all_json_no_error_log": (
            record["shutdown"]["exit_s"] <= BARS["shutdown_within_s"]
            and record["shutdown"]["all_json"]
            and record["shutdown"]["error_log_lines"] == 0
            and record["shutdown"]["exit_code"] == 0
        ),
    }
    if "huge_header_211MB" in by_name:
        out["oversized_header_431_or_400"] = set(by_name["huge_header_211MB"]["outcome"]) <= {
            "431",
            "400",
        }
    ratio = record["throughput"].get("ratio_new_to_old_of_medians")
    if ratio is not None:
        out["throughput_c8_within_10pct_of_old"] = ratio >= BARS["throughput_ratio_min"]
    return out


def markdown(record: dict[str, Any]) -> str:
    lines = [
        "# Abuse benchmark: `edgetk serve`, default options, loopback",
        "",
        f"Bundle `{record['bundle']}`; {record['device']['cpu_model']}, {record['device']['cores_usable']} "
        "cores, shared with other work. Made by "
        f"`{record.get('command', 'scripts/abuse_benchmark.py')}`; numbers from `abuse.json` of the "
        "same run.",
        "",
        "| attack | requests | outcome | slowest answer s | health p99 ms (probes, failures) "
        "| RSS MB before / peak / after | ordinary client |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["attacks"]:
        h = r["health"]
        m = r["rss_mb"]
        lines.append(
            f"| {r['attack']}{'' if r['is_attack'] else ' (not an attack)'} | {r['requests']} | "
            f"{', '.join(f'{k}: {v}' for k, v in r['outcome'].items())} | {r['slowest_answer_s']} | "
            f"{h['p99']} ({h['probes']}, {sum(h['failures'].values())}) | "
            f"{m['before']} / {m['peak_during']} / {m['after']} | "
            f"{', '.join(f'{k}: {v}' for k, v in r['ordinary_client'].items())} |"
        )
    s, k, t = record["shutdown"], record["non_ascii_api_key"], record["throughput"]
    lines += [
        "",
        f"Server peak RSS over all attacks (VmHWM): **{record['server_peak_rss_mb']} MB**.",
        "",
        f"Shutdown under load ({s['clients']} clients, 32 Mpx requests, SIGTERM): exit "
        f"{s['exit_code']} after {s['exit_s']} s; answers {s['answers']}; all JSON: "
        f"{s['all_json']}; error lines in the log: {s['error_log_lines']}.",
        "",
        f"Non-ASCII API key at start: exit {k['exit_code']}: `{k['message']}`.",
        "",
        f"Throughput at concurrency 8, {t['runs']} alternated runs of {t['seconds_each']} s each "
        f"(req/s): {t['requests_per_s']}; ratio new/old of medians: "
        f"{t.get('ratio_new_to_old_of_medians')} (per run {t.get('ratio_per_run')}).",
        "",
        "| bar | met |",
        "|---|---|",
        *(f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in record["verdicts"].items()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle")
    ap.add_argument("--base", type=Path, help="a checkout of the old code for the throughput ratio")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--attacks", default=",".join(ATTACKS))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve" / "abuse.json")
    args = ap.parse_args()
    bundle = pick_bundle(args.bundle)
    print(f"attacks on {bundle}", flush=True)
    prepare_payloads()
    server = start_server(bundle, [])
    try:
        warm_up(server)
        rows = [run_attack(server, name) for name in args.attacks.split(",")]
        peak = vm_hwm_mb(server)
    finally:
        server.stop()
    print("shutdown under load ...", flush=True)
    shutdown = shutdown_under_load(bundle)
    print(f"  {shutdown}", flush=True)
    print("throughput ...", flush=True)
    record: dict[str, Any] = {
        **provenance(__file__),
        "what": "attacks of the hardening issue against edgetk serve with default options",
        "bundle": shown_path(bundle),
        "server_options": "defaults",
        "attacks": rows,
        "server_peak_rss_mb": peak,
        "shutdown": shutdown,
        "non_ascii_api_key": non_ascii_key(bundle),
        "throughput": throughput(bundle, args.base, args.runs, args.seconds),
        "bars": BARS,
        **machine(),
    }
    record["verdicts"] = verdicts(record)
    write_json(args.out, record)
    write_text(args.out.with_suffix(".md"), markdown(record))
    print(json.dumps(record["verdicts"], indent=1))


if __name__ == "__main__":
    main()
