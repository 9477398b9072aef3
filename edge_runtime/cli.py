"""``edgetk predict`` and ``edgetk camera``: thin click wrappers.

Each command parses options into a config, calls one library function and prints a summary.
Heavy imports (the runtimes, OpenCV) happen inside the commands, so ``edgetk predict`` never
loads OpenCV and no command ever loads TensorFlow. ``edgetk bench`` (with its SSH device loop)
lives in ``edge_runtime.bench_cli``: classifying a file loads none of it
(tests/test_edge_no_tensorflow.py checks the modules a prediction imports).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edge_runtime.cli_options import (
    artifact_option,
    batch_size_option,
    invert_option,
    out_file_option,
    path_option,
    shown_option,
    threads_option,
    top_k_option,
    verify_option,
)


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@artifact_option()
@top_k_option()
@shown_option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "csv"]),
    default="table",
    help="How results are printed: an aligned table, JSON lines or CSV.",
)
@threads_option()
@invert_option()
@batch_size_option(16, "Images per runtime call (a model that cannot batch runs one by one).")
@out_file_option("Write a labelled folder's evaluation here, as JSON.", old="--metrics-out")
@path_option(
    "--split-file",
    help="Evaluate exactly the images this file lists (<run>/splits/test.txt), relative to the "
    "one DATA_DIR given as PATH.",
)
@path_option(
    "--explain",
    "explain_dir",
    help="Also write each image's occlusion saliency map for its predicted class, computed by "
    "the artifact's own runtime, drawn over the image: DIR/<name>.png.",
)
@verify_option()
def predict(
    bundle: Path,
    paths: tuple[Path, ...],
    artifact: str | None,
    top_k: int,
    fmt: str,
    threads: int | None,
    invert: str,
    batch_size: int,
    out_file: Path | None,
    split_file: Path | None,
    explain_dir: Path | None,
    verify: bool,
) -> None:
    """Classify image files or folders with BUNDLE.

    BUNDLE is a bundle folder, or one .tflite / .onnx file that edgetk exported: a bare file runs
    from the contract embedded in it (labels, size, colour, normalization, polarity, resize).
    A folder with one subfolder per class (named after the labels) is evaluated: accuracy,
    per-class F1 and the confusion matrix. Unreadable files are reported and skipped.
    ``BUNDLE DATA_DIR --split-file RUN/splits/test.txt`` evaluates exactly a run's test split.
    """
    from edge_runtime.common.fileio import write_json
    from edge_runtime.output import ResultWriter
    from edge_runtime.predict_files import PredictConfig, predict_files

    config = PredictConfig(
        bundle=str(bundle),
        paths=tuple(str(p) for p in paths),
        artifact=artifact,
        top_k=top_k,
        threads=threads,
        polarity=invert,
        batch_size=batch_size,
        split_file=str(split_file) if split_file is not None else None,
        explain_dir=str(explain_dir) if explain_dir is not None else None,
    )
    from edge_runtime.crash_guard import exit_now
    from edge_runtime.predictor import Predictor

    predictor = Predictor.from_bundle(
        bundle,
        artifact,
        threads,
        polarity=invert,  # type: ignore[arg-type]
        verify_hashes=verify,
    )
    width = max(len(lab) for lab in predictor.labels)
    writer = ResultWriter(fmt, sys.stdout, label_width=width)
    report = predict_files(config, writer.write, predictor=predictor)
    # Machine formats keep stdout clean: the summary goes to stderr.
    summary = sys.stdout if fmt == "table" else sys.stderr
    if report.skipped:
        click.echo(f"skipped {len(report.skipped)} unreadable file(s):", err=True)
        for path, why in report.skipped:
            click.echo(f"  {path}: {why}", err=True)
    if report.evaluation is not None:
        click.echo(report.evaluation.format_table(), file=summary)
        if out_file:
            write_json(out_file, {"artifact": report.artifact, **report.evaluation.to_dict()})
    if report.explained:
        ms = sorted(t for _, _, t in report.explained)
        click.echo(
            f"wrote {len(ms)} saliency overlay(s) to {explain_dir} (occlusion, median "
            f"{ms[len(ms) // 2]:.1f} ms per image)",
            err=True,
        )
    click.echo(
        f"classified {report.classified} image(s) with {report.artifact}"
        + (f", skipped {len(report.skipped)}" if report.skipped else ""),
        err=True,
    )
    exit_now(0)  # everything is written: skip the interpreter's teardown (a real process only)


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@shown_option("--source", default="0", help="Camera index, video file or stream URL (rtsp://...).")
@artifact_option()
@threads_option()
@invert_option()
@click.option(
    "--headless", is_flag=True, help="No window: print one JSON line per classified frame."
)
@click.option(
    "--max-frames",
    type=click.IntRange(min=1),
    default=None,
    show_default="no limit",
    help="Stop after classifying this many frames.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    show_default="no limit",
    help="Stop after this many seconds.",
)
@shown_option(
    "--pace/--no-pace",
    default=True,
    help="Read video files at their frame rate, like a live camera.",
)
@top_k_option()
@verify_option()
@shown_option(
    "--explain-every",
    default=0,
    type=click.IntRange(min=0),
    help="Explain every N-th classified frame (occlusion map) on a background thread with its "
    "own interpreter; the window shows the newest map, --headless adds it to the JSON line. "
    "0: none.",
)
def camera(
    bundle: Path,
    source: str,
    artifact: str | None,
    threads: int | None,
    invert: str,
    headless: bool,
    max_frames: int | None,
    duration: float | None,
    pace: bool,
    top_k: int,
    verify: bool,
    explain_every: int,
) -> None:
    """Classify a live camera, video file or stream with BUNDLE, always on the newest frame.

    With a display and OpenCV's GUI build (the 'camera' extra) each frame is shown in a window
    with label, probability, frame rate and model latency drawn on it (q or Esc closes it).
    Otherwise (--headless, no display, or the headless OpenCV build; the reason is logged once)
    it prints one JSON line per classified frame and a final {"summary": ...} line; the summary
    (frames read / classified / dropped, FPS, latency percentiles) also goes to stderr.
    """
    import json

    from edge_runtime.camera import CameraConfig, run_camera

    config = CameraConfig(
        bundle=str(bundle),
        source=source,
        artifact=artifact,
        threads=threads,
        polarity=invert,
        headless=headless,
        max_frames=max_frames,
        duration=duration,
        pace=pace,
        top_k=top_k,
        verify=verify,
        explain_every=explain_every,
    )

    def emit(result) -> None:
        # Decided per run by run_camera, not by the flag: no display also means JSON lines.
        if not result.windowed:
            click.echo(json.dumps(result.to_dict()))

    stats = run_camera(config, emit)
    if not stats.windowed:
        click.echo(json.dumps({"summary": stats.to_dict()}))
    m, e = stats.model_ms, stats.capture_to_result_ms
    click.echo(
        f"{stats.end_reason}: read {stats.frames_read}, classified {stats.frames_classified}, "
        f"dropped {stats.frames_dropped} frames in {stats.duration_s:.1f} s ({stats.fps:.1f} FPS)",
        err=True,
    )
    if m and e:
        click.echo(
            f"model ms p50 {m.p50:.2f} p90 {m.p90:.2f} p99 {m.p99:.2f}; capture-to-result ms "
            f"p50 {e.p50:.2f} p90 {e.p90:.2f} p99 {e.p99:.2f}",
            err=True,
        )


__all__ = ["camera", "predict"]
