"""Dump a bundle's predictions on a fixed image set, or compare two dumps (x86 vs emulated arm64).

    python scripts/arm64_predictions.py dump BUNDLE IMAGES OUT.json
    python scripts/arm64_predictions.py compare A.json B.json [--out C.json]
    python scripts/arm64_predictions.py fmnist-set BUNDLE OUT_DIR [--n 200]

``compare`` requires identical top-1 labels for every int8 artifact and reports the largest
probability difference per artifact; it exits 1 when an int8 top-1 differs. Needs only the edge
extra (it runs inside the emulated root).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not installed


def dump(bundle: str, images: str, out: str) -> None:
    from edge_runtime import Predictor
    from edge_runtime.bench.device import runtime_versions
    from edge_runtime.errors import BackendUnavailableError
    from edge_runtime.manifest import load_manifest
    from edge_runtime.preprocess import IMAGE_SUFFIXES, load_image

    files = sorted(p for p in Path(images).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    decoded = [load_image(f) for f in files]
    result = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": runtime_versions(),
        "images": [str(f.relative_to(images)) for f in files],
        "artifacts": {},
        "skipped": {},  # artifacts whose runtime this install lacks (the smallest has no ONNX)
    }
    for art in load_manifest(bundle).artifacts:
        try:
            p = Predictor.from_bundle(bundle, art.file, threads=1)
        except BackendUnavailableError as exc:
            result["skipped"][art.file] = str(exc)
            continue
        preds = p.predict(decoded)
        result["artifacts"][art.file] = {
            "precision": art.precision,
            "top1": [pr.label for pr in preds],
            "probabilities": [[float(v) for v in pr.probabilities] for pr in preds],
        }
    Path(out).write_text(json.dumps(result) + "\n")
    print(
        f"{platform.machine()}: wrote predictions of {len(files)} images x {len(result['artifacts'])} artifacts to {out}"
    )


def fmnist_set(bundle: str, out_dir: str, n: int) -> None:
    """Write the first ``n`` Fashion-MNIST test images as PNGs under OUT_DIR/<label>/ (a fixed set
    for comparing platforms; read from the offline Keras cache, never committed)."""
    import gzip
    import os

    import numpy as np
    from PIL import Image

    from edge_runtime.inputs import label_folder_name
    from edge_runtime.manifest import load_manifest

    home = Path(
        os.environ.get("KERAS_HOME")
        or Path(__file__).resolve().parents[2] / "shared" / "keras-home"
    )
    d = home / "datasets" / "fashion-mnist"
    with gzip.open(d / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(d / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8)
    names = load_manifest(bundle).labels
    for i in range(n):
        folder = Path(out_dir) / label_folder_name(names[labels[i]])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(folder / f"{i:04d}.png")
    print(f"wrote {n} Fashion-MNIST test images to {out_dir}")


def compare(a_path: str, b_path: str, out: str | None) -> int:
    a, b = json.loads(Path(a_path).read_text()), json.loads(Path(b_path).read_text())
    if a["images"] != b["images"]:
        print("the two dumps cover different images", file=sys.stderr)
        return 1
    rows, ok = [], True
    failed_int8: list[str] = []
    for art, pa in a["artifacts"].items():
        pb = b["artifacts"].get(art)
        if pb is None and art in b.get("skipped", {}):
            # Not installed there (an extra left out on purpose): said, not a mismatch.
            rows.append(
                {"artifact": art, "status": f"skipped on {b['machine']}: runtime not installed"}
            )
            continue
        if pb is None:
            rows.append({"artifact": art, "status": f"missing on {b['machine']}"})
            ok = False
            continue
        same = sum(x == y for x, y in zip(pa["top1"], pb["top1"]))
        diff = max(
            abs(x - y)
            for ra, rb in zip(pa["probabilities"], pb["probabilities"])
            for x, y in zip(ra, rb)
        )
        identical = same == len(pa["top1"])
        if pa["precision"].startswith("int8") and not identical:
            ok = False
            failed_int8.append(f"{art} ({same}/{len(pa['top1'])})")
        rows.append(
            {
                "artifact": art,
                "precision": pa["precision"],
                "images": len(pa["top1"]),
                "top1_identical": same,
                "max_abs_probability_diff": diff,
            }
        )
    report = {
        "a": {"file": a_path, "machine": a["machine"], "versions": a["versions"]},
        "b": {"file": b_path, "machine": b["machine"], "versions": b["versions"]},
        "rows": rows,
        "int8_top1_identical": ok,
        "int8_top1_differs": failed_int8,
    }
    for r in rows:
        print(json.dumps(r))
    print(
        f"{a['machine']} vs {b['machine']}: int8 top-1 identical on every image: {ok}"
        + (f" (differs: {', '.join(failed_int8)})" if failed_int8 else "")
    )
    if out:
        Path(out).write_text(json.dumps(report, indent=1) + "\n")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("bundle")
    d.add_argument("images")
    d.add_argument("out")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--out")
    f = sub.add_parser("fmnist-set")
    f.add_argument("bundle")
    f.add_argument("out")
    f.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    if args.cmd == "fmnist-set":
        fmnist_set(args.bundle, args.out, args.n)
        return 0
    if args.cmd == "dump":
        dump(args.bundle, args.images, args.out)
        return 0
    return compare(args.a, args.b, args.out)


if __name__ == "__main__":
    sys.exit(main())
