"""``edgetk bench``: time a bundle's artifacts here, on devices over SSH, or compare records.

Its own module, apart from ``predict`` and ``camera``: it brings the SSH device loop's options,
which a device command that only classifies should not import.
"""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cli_options import path_option, shown_option, verify_option
from edge_runtime.remote.cli_options import remote_options


def _threads_list(value: str) -> tuple[int, ...]:
    from edge_runtime.common.errors import ConfigError

    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise ConfigError(
            f"--threads={value!r}: expected a comma-separated list like 1,2"
        ) from None
    if not out or min(out) < 1:
        raise ConfigError(f"--threads={value!r}: every thread count must be at least 1")
    return out


@click.command()
@click.argument("bundle", required=False, type=click.Path(path_type=Path))
@click.option(
    "--artifacts",
    default=None,
    help="Comma-separated artifacts (file or format:precision); default: all.",
)
@shown_option("--threads", "threads_csv", default="1,2", help="Thread counts, comma-separated.")
@shown_option("--runs", default=200, help="Timed runs after warm-up.")
@shown_option("--warmup", default=20, help="Untimed warm-up runs.")
@shown_option("--batch", default=8, help="Batch size for batched throughput.")
@path_option("--data", help="Labelled folder for accuracy.")
@click.option(
    "--data-limit", type=int, default=None, help="Evaluate at most this many images of --data."
)
@path_option("--out", help="Write the JSON record here.")
@click.option(
    "--label", default="", help="Free text stored with the record (e.g. 'Raspberry Pi 5')."
)
@shown_option(
    "--isolate/--no-isolate", default=True, help="Measure each artifact in its own process."
)
@path_option(
    "--compare",
    "compare",
    multiple=True,
    help="A benchmark JSON file to show side by side; repeat it (--compare A.json --compare "
    "B.json ...), or give two as --compare A.json B.json.",
)
@remote_options
@verify_option()
def bench(
    bundle: Path | None,
    artifacts: str | None,
    threads_csv: str,
    runs: int,
    warmup: int,
    batch: int,
    data: Path | None,
    data_limit: int | None,
    out: Path | None,
    label: str,
    isolate: bool,
    compare: tuple[Path, ...],
    verify: bool,
    **remote_kw,
) -> int | None:
    """Benchmark BUNDLE's artifacts on this device, on devices over SSH, or compare saved results.

    Per artifact and thread count: load time, first inference, latency p50/p90/p99/mean/std,
    single-stream and batched throughput, peak memory, size and (with --data) accuracy.
    `edgetk bench --compare A.json B.json` prints earlier results side by side.
    `--remote pi@raspberrypi.local` (repeatable) or `--devices FILE` measures on those devices
    over SSH and prints the cross-device table (docs/raspberry_pi.md).
    """
    from edge_runtime.common.errors import ConfigError

    if compare:
        from edge_runtime.bench import format_comparison, load_record

        files = list(compare) + ([bundle] if bundle else [])
        click.echo(format_comparison([(str(f), load_record(f)) for f in files]))
        return
    if bundle is None:
        raise ConfigError("give a BUNDLE to benchmark, or --compare A.json B.json")
    from edge_runtime.bench import BenchConfig, format_table, run_bench
    from edge_runtime.common.fileio import write_json

    config = BenchConfig(
        bundle=str(bundle),
        artifacts=tuple(a.strip() for a in artifacts.split(",") if a.strip()) if artifacts else (),
        threads=_threads_list(threads_csv),
        runs=runs,
        warmup=warmup,
        batch=batch,
        data=str(data) if data else None,
        data_limit=data_limit,
        isolate=isolate,
        label=label,
        verify=verify,
    )
    from edge_runtime.remote.cli_options import bench_remote, refuse_without_remote, wants_remote

    if wants_remote(remote_kw):
        return bench_remote(config, remote_kw)
    refuse_without_remote(remote_kw)

    def progress(row: dict) -> None:
        state = "ok" if row.get("status") == "ok" else f"ERROR {row.get('error')}"
        click.echo(f"  {row['artifact']} x{row['threads']}: {state}", err=True)

    record = run_bench(config, progress)
    click.echo(format_table(record))
    if out:
        write_json(out, record)
        click.echo(f"wrote {out}", err=True)
    failed = [r for r in record["rows"] if r.get("status") != "ok"]
    if failed and len(failed) == len(record["rows"]):
        # The record is still written (it says why); but a run that measured nothing failed.
        click.echo(
            f"every measurement failed ({len(failed)} row(s)); see the errors above", err=True
        )
        raise click.exceptions.Exit(1)


__all__ = ["bench"]
