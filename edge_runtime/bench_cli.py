"""``edgetk bench``: time a bundle's artifacts here, on devices over SSH, or compare records.

Its own module, apart from ``predict`` and ``camera``: it brings the SSH device loop's options,
which a device command that only classifies should not import.
"""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cli_options import (
    CommaList,
    artifacts_option,
    batch_size_option,
    data_dir_option,
    deprecated_option,
    list_option,
    out_file_option,
    path_option,
    shown_option,
    verify_option,
)
from edge_runtime.remote.cli_options import remote_options


@click.command()
@click.argument("bundle", required=False, type=click.Path(path_type=Path))
@artifacts_option(
    "Artifacts to measure, comma-separated: keys (tflite_int8) or file names.",
    show_default="all of the bundle's",
)
@list_option(
    "--thread-counts",
    item_type=click.IntRange(min=1),
    default="1,2",
    help="Runtime thread counts to measure, comma-separated; each artifact runs at each.",
)
@deprecated_option("--threads", "--thread-counts", type=CommaList(click.IntRange(min=1)))
@shown_option("--runs", default=200, help="Timed runs after warm-up.")
@shown_option("--warmup", default=20, help="Untimed warm-up runs.")
@batch_size_option(8, "Images per call for the batched throughput.")
@deprecated_option("--batch", "--batch-size", type=click.IntRange(min=1))
@data_dir_option("Labelled folder (one subfolder per class) to measure accuracy on.")
@deprecated_option("--data", "--data-dir", type=click.Path(path_type=Path))
@click.option(
    "--data-limit",
    type=int,
    default=None,
    show_default="all of them",
    help="Evaluate at most this many images of --data-dir.",
)
@out_file_option("Write the JSON record here.")
@shown_option(
    "--label", default="", help="Free text stored with the record (e.g. 'Raspberry Pi 5')."
)
@shown_option(
    "--isolate/--no-isolate", default=True, help="Measure each artifact in its own process."
)
@click.option(
    "--ops",
    is_flag=True,
    help="Also profile each artifact per operator at each thread count: the operators sorted by "
    "time (share, cumulative share), a per-type summary, and the check that they add up to the "
    "whole model.",
)
@shown_option("--ops-top", default=15, help="Operators shown per table with --ops (all are saved).")
@click.option(
    "--check-layers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Run N labelled images (from --data-dir, or --parity-data-dir on devices) through each "
    "artifact on the target with every layer kept, compare each layer with the reference "
    "computed here, and report the first layer where they part.",
)
@click.option(
    "--layers-reference",
    default=None,
    show_default="each artifact itself, run here",
    help="Artifact (key or file name) of the bundle that --check-layers compares against, e.g. "
    "tflite_fp32 to see where int8 drifts from float; layers are matched by tensor name.",
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
    artifacts: tuple[str, ...] | None,
    thread_counts: tuple[int, ...],
    runs: int,
    warmup: int,
    batch_size: int,
    data_dir: Path | None,
    data_limit: int | None,
    out_file: Path | None,
    label: str,
    isolate: bool,
    ops: bool,
    ops_top: int,
    check_layers: int | None,
    layers_reference: str | None,
    compare: tuple[Path, ...],
    verify: bool,
    **remote_kw,
) -> int | None:
    """Benchmark BUNDLE's artifacts on this device, on devices over SSH, or compare saved results.

    Per artifact and thread count: load time, first inference, latency p50/p90/p99/mean/std,
    single-stream and batched throughput, peak memory, size and (with --data-dir) accuracy.
    `--ops` adds a per-operator profile and every run prints the thread scaling per artifact.
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
    from edge_runtime.bench import BenchConfig, format_details, format_table, run_bench
    from edge_runtime.common.fileio import write_json

    config = BenchConfig(
        bundle=str(bundle),
        artifacts=artifacts or (),
        threads=thread_counts,
        runs=runs,
        warmup=warmup,
        batch=batch_size,
        data=str(data_dir) if data_dir else None,
        data_limit=data_limit,
        isolate=isolate,
        label=label,
        verify=verify,
        ops=ops,
    )
    from edge_runtime.remote.cli_options import bench_remote, refuse_without_remote, wants_remote

    layers = None
    if check_layers is not None:
        from edge_runtime.remote.run import LayersRequest

        data = remote_kw.get("parity_data_dir") or data_dir
        if data is None:
            raise ConfigError(
                "--check-layers needs labelled images: pass --data-dir DIR (one subfolder per "
                "class), or --parity-data-dir DIR with --remote"
            )
        layers = LayersRequest(check_layers, Path(data), layers_reference)
    elif layers_reference:
        raise ConfigError("--layers-reference only applies with --check-layers N")
    if wants_remote(remote_kw):
        return bench_remote(config, remote_kw, ops_top=ops_top, layers=layers)
    refuse_without_remote(remote_kw)

    def progress(row: dict) -> None:
        state = "ok" if row.get("status") == "ok" else f"ERROR {row.get('error')}"
        click.echo(f"  {row['artifact']} x{row['threads']}: {state}", err=True)

    record = run_bench(config, progress)
    if layers is not None:
        from edge_runtime.remote.run import local_layers

        record["layers"] = local_layers(config, layers)
    click.echo(format_table(record))
    details = format_details(record, top=ops_top)
    if details:
        click.echo("\n" + details)
    if out_file:
        write_json(out_file, record)
        click.echo(f"wrote {out_file}", err=True)
    failed = [r for r in record["rows"] if r.get("status") != "ok"]
    if failed and len(failed) == len(record["rows"]):
        # The record is still written (it says why); but a run that measured nothing failed.
        click.echo(
            f"every measurement failed ({len(failed)} row(s)); see the errors above", err=True
        )
        raise click.exceptions.Exit(1)


__all__ = ["bench"]
