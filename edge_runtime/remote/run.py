"""``edgetk bench BUNDLE --remote ...``: every device in parallel (each one job at a time), the
results saved per device under the results folder, then one comparison table."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.bench.config import BenchConfig
from edge_runtime.bench.report import format_comparison, format_details
from edge_runtime.bench.run import chosen_artifacts
from edge_runtime.common.errors import EdgetkError
from edge_runtime.common.fileio import write_json
from edge_runtime.manifest import LABELS_NAME, MANIFEST_NAME, load_manifest
from edge_runtime.remote.errors import RemoteError
from edge_runtime.remote.parity import compare, format_parity, local_top1, pick_images
from edge_runtime.remote.push import Blob
from edge_runtime.remote.session import Interrupts, Payload, bench_target
from edge_runtime.remote.targets import DeviceTarget, unique_names
from edge_runtime.remote.wheel import built_wheel, project_root, source_digest, source_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityRequest:
    n: int
    data: Path
    split_file: Path | None = None


@dataclass(frozen=True)
class LayersRequest:
    """``--check-layers N``: N labelled images from ``data``; ``reference`` the artifact compared
    against (None: each artifact itself, run here); ``reference_bundle`` where the reference
    artifact is read (None: the benchmarked bundle)."""

    n: int
    data: Path
    reference: str | None = None
    reference_bundle: Path | None = None


def _layer_images(bench: BenchConfig, req: LayersRequest) -> list[Any]:
    from edge_runtime.preprocess import load_image

    labels = load_manifest(bench.bundle).labels
    return [load_image(i.path) for i in pick_images(req.data, labels, req.n)]


def layer_references(bench: BenchConfig, req: LayersRequest, folder: Path) -> list[Blob]:
    """One reference file per artifact measured (of the reference's format, when one is given),
    computed here (``folder`` keeps them)."""
    from edge_runtime.profiling.layers import make_reference

    images = _layer_images(bench, req)
    manifest = load_manifest(bench.bundle)
    blobs = []
    for k, art in enumerate(chosen_artifacts(manifest, bench.artifacts)):
        if req.reference and manifest.artifact(req.reference).format != art.format:
            continue  # a reference is compared within its own format
        out = make_reference(
            req.reference_bundle or bench.bundle,
            art.file,
            images,
            folder / f"layers-{k}.npz",
            req.reference,
        )
        blobs.append(Blob.of(out, art.file))
    if not blobs:
        raise EdgetkError(
            f"--layers-reference {req.reference} has the format of none of the artifacts measured"
        )
    return blobs


def local_layers(bench: BenchConfig, req: LayersRequest) -> dict[str, Any]:
    """``--check-layers`` with this machine as the target."""
    import tempfile

    from edge_runtime.profiling.layers import check_against

    out = {}
    with tempfile.TemporaryDirectory(prefix="edgetk-layers-") as tmp:
        for blob in layer_references(bench, req, Path(tmp)):
            out[blob.name] = check_against(blob.path, Path(bench.bundle) / blob.name)
    return out


@dataclass
class Outcome:
    target: DeviceTarget
    path: Path | None = None
    record: dict[str, Any] | None = None
    error: str | None = None
    exception: EdgetkError | None = None


def _bundle_blobs(bench: BenchConfig) -> tuple[list[Blob], list[str]]:
    bundle = Path(bench.bundle)
    manifest = load_manifest(bundle)
    chosen = chosen_artifacts(manifest, bench.artifacts)
    blobs = [Blob.of(bundle / MANIFEST_NAME)]
    if (bundle / LABELS_NAME).is_file():
        blobs.append(Blob.of(bundle / LABELS_NAME))
    for a in chosen:
        path = bundle / a.file
        if not path.is_file():
            raise EdgetkError(f"{path} is listed in the manifest but missing; re-export the bundle")
        # The manifest's hash names the blob: the device checks the content against it.
        blobs.append(Blob.of(path, a.file))
    return blobs, [a.file for a in chosen]


def build_payload(
    bench: BenchConfig, parity: ParityRequest | None, say, layer_refs: tuple[Blob, ...] = ()
) -> Payload:
    files, artifacts = _bundle_blobs(bench)
    images: list[Any] = []
    if parity is not None:
        labels = load_manifest(bench.bundle).labels
        images = pick_images(parity.data, labels, parity.n, parity.split_file)
    root = project_root()
    lock = threading.Lock()
    made: list[Blob] = []

    def wheel() -> Blob:
        # Built once, by the first device that needs a new environment.
        with lock:
            if not made:
                path, _ = built_wheel(root)
                say(f"built {path.name} ({path.stat().st_size / 1024:.0f} KiB)")
                made.append(Blob.of(path))
            return made[0]

    return Payload(
        wheel=wheel,
        wheel_digest=source_digest(root),
        version=source_version(root),
        bundle_files=tuple(files),
        bench=bench,
        parity_images=tuple(images),
        parity_artifacts=tuple(artifacts) if images else (),
        layer_refs=layer_refs,
    )


def run_remote(
    bench: BenchConfig,
    targets: list[DeviceTarget],
    results_dir: Path,
    parity: ParityRequest | None = None,
    echo=print,
    layers: LayersRequest | None = None,
) -> list[Outcome]:
    """Measure ``bench`` on every target; results go to ``results_dir/<name>/bench.json``."""
    import tempfile

    unique_names(targets)
    with tempfile.TemporaryDirectory(prefix="edgetk-layers-") as tmp:
        refs = tuple(layer_references(bench, layers, Path(tmp))) if layers else ()
        return _run_remote(bench, targets, results_dir, parity, echo, refs)


def _run_remote(
    bench: BenchConfig,
    targets: list[DeviceTarget],
    results_dir: Path,
    parity: ParityRequest | None,
    echo,
    layer_refs: tuple[Blob, ...],
) -> list[Outcome]:
    lock = threading.Lock()

    def say_for(name: str):
        def say(line: str) -> None:
            with lock:
                echo(f"[{name}] {line}")

        return say

    payload = build_payload(bench, parity, say_for("local"), layer_refs)
    here: dict[str, list[int]] = {}
    if payload.parity_images:
        for art in payload.parity_artifacts:
            here[art] = local_top1(Path(bench.bundle), art, list(payload.parity_images))
    interrupts = Interrupts()

    def one(target: DeviceTarget) -> Outcome:
        say = say_for(target.name)
        try:
            answer = bench_target(target, payload, say, interrupts)
        except EdgetkError as exc:
            # Reported once, by the caller: as the command's error when every device failed,
            # in the summary beside the others' results otherwise.
            return Outcome(target, error=str(exc), exception=exc)
        record = answer["record"]
        record["bundle"]["path"] = str(bench.bundle)
        record["settings"]["bundle"] = str(bench.bundle)
        remote: dict[str, Any] = {
            "name": target.name,
            "destination": target.destination,
            "label": target.label,
            "extras": list(target.extras),
            "thermal": answer["thermal"],
            "verify_s": answer["verify_s"],
            **answer["loop"],
        }
        if answer.get("parity_top1"):
            images = list(payload.parity_images)
            remote["parity"] = {
                art: compare(images, answer["parity_top1"][art], here[art])
                for art in payload.parity_artifacts
            }
        if answer.get("layers"):
            record["layers"] = answer["layers"]
        record["remote"] = remote
        path = results_dir / target.name / "bench.json"
        write_json(path, record)
        say(f"wrote {path}")
        return Outcome(target, path, record)

    pool = ThreadPoolExecutor(max_workers=len(targets))
    futures = [pool.submit(one, t) for t in targets]
    try:
        outcomes = [f.result() for f in futures]
    except KeyboardInterrupt:
        cleaned = interrupts.abort_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise RemoteError(
            "interrupted; the remote runs were stopped and their temporary files removed"
            + (f" on {', '.join(cleaned)}" if cleaned else "")
        ) from None
    pool.shutdown()
    return outcomes


def summary(outcomes: list[Outcome], ops_top: int = 15) -> str:
    """The cross-device table, on-device parity, the cost of the loop per device, then each
    device's per-operator profiles and thread scaling."""
    ok = [o for o in outcomes if o.record is not None]
    lines = []
    if ok:
        lines.append(format_comparison([(o.target.name, o.record) for o in ok]))  # type: ignore[misc]
        lines.append("")
        for o in ok:
            r = o.record["remote"]  # type: ignore[index]
            th = r["thermal"]
            temps = [
                f"{z['celsius']:.1f}"
                for z in (th["before"]["zones"][:1] + th["after"]["zones"][:1])
            ]
            lines.append(
                f"  {o.target.name:<16} setup {r['setup_s']:.1f} s ({'reused' if r['env_reused'] else 'created'}), "
                f"pushed {r['pushed_bytes'] / 1024:.1f} KiB, overhead {r['overhead_s']:.1f} s "
                f"beyond {r['measure_s']:.1f} s of measurement"
                + (f", SoC {' -> '.join(temps)} C" if len(temps) == 2 else "")
                + (
                    f", throttling {th['after']['throttled_flags']}"
                    if th["after"].get("throttled_flags")
                    else ""
                )
            )
        for o in ok:
            if o.record and o.record["remote"].get("parity"):
                lines += format_parity(o.target.name, o.record["remote"]["parity"])
    for o in ok:
        details = format_details(o.record, top=ops_top)  # type: ignore[arg-type]
        if details:
            lines += ["", f"[{o.target.name}]", details]
    for o in outcomes:
        if o.error:
            lines.append(f"  {o.target.name}: FAILED: {o.error}")
    return "\n".join(lines)


__all__ = [
    "LayersRequest",
    "Outcome",
    "ParityRequest",
    "build_payload",
    "layer_references",
    "local_layers",
    "run_remote",
    "summary",
]
