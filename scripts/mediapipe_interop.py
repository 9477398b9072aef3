"""MediaPipe Tasks' ImageClassifier (Python) against ``edgetk predict`` on Fashion-MNIST test images.

    .venv/bin/python scripts/mediapipe_interop.py [--images 1000] [--train-size 20000 --epochs 3]
        [--work runs/mediapipe-interop] [--out benchmarks/interop/mediapipe]

1. Trains a small CNN on the training split (raw 0..255 pixels, its scaling a layer of the graph).
2. Exports it twice through the same gate (``export.export_bundle``, parity on the test split,
   views and recovery off): the ordinary bundle (grey 28x28x1 input: ``tflite_fp32``,
   ``tflite_int8``, ``tflite_uint8``), and an interop bundle whose graph starts with a grey
   conversion (``rgb_input``, ``edgetk export --rgb-input``: an RGB 28x28x3 input, luma weights
   as the device's ``to_grey``), so that a runtime that only feeds RGB frames can run it
   (``tflite_fp32``, ``tflite_uint8``).
3. Classifies the first ``--images`` test images (written as PNG files) with ``edgetk``'s
   ``Predictor`` (inversion off) and, in a virtual environment of its own built from the package
   index (MediaPipe brings its own OpenCV build, which must not meet ours), with MediaPipe Tasks'
   ``ImageClassifier`` on every TFLite artifact; an artifact MediaPipe refuses is recorded with
   its error, verbatim. The interop artifacts are also tried with the TFLite Metadata schema
   added by MediaPipe's own metadata writer (``WRITER``, in a third venv: input normalization
   from the file's embedded edgetk contract, labels as an associated file), which a float input
   needs; edgetk runs those copies as bare files and must answer exactly as before.
4. Writes the top-1 agreement per artifact (with a 95 % Wilson interval), both accuracies and the
   MediaPipe version to ``--out``.json / .md.

Exit code 2 with one line when the package index cannot be reached (the venv cannot be built).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import ROOT, machine, provenance, shown_path

from edge_runtime.common.fileio import write_json, write_text

INDEX_UNREACHABLE = 2
_CHILD = r"""
import json, sys
import numpy as np
from PIL import Image
import mediapipe as mp
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core.base_options import BaseOptions

models, images, classes = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
frames = []
for path in images:
    grey = np.asarray(Image.open(path).convert("L"))
    frames.append(mp.Image(image_format=mp.ImageFormat.SRGB,
                           data=np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=-1))))
out = {"mediapipe": mp.__version__, "models": {}}
for name, path in models.items():
    try:
        options = vision.ImageClassifierOptions(
            base_options=BaseOptions(model_asset_path=path), max_results=classes)
        with vision.ImageClassifier.create_from_options(options) as clf:
            top = []
            for frame in frames:
                cats = clf.classify(frame).classifications[0].categories
                top.append(max(cats, key=lambda c: c.score).index)
        out["models"][name] = {"top1": top}
    except Exception as exc:  # MediaPipe refuses a model with ValueError / RuntimeError / ...
        out["models"][name] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


# The TFLite Metadata writer: MediaPipe's metadata_writers. The current wheels' writers import a
# module those wheels do not ship (mediapipe.tasks.cc.metadata.python); 0.10.21 is the last whose
# writers import, and it needs numpy < 2 and protobuf < 5: a venv of its own, as the classifier's.
WRITER = "mediapipe==0.10.21"
WITH_META = "interop_tflite_metadata"
_WRITE = r"""
import json, sys
from mediapipe.tasks.python.metadata.metadata_writers import image_classifier, metadata_writer
src, dst, mean, std, labels = sys.argv[1], sys.argv[2], *map(json.loads, sys.argv[3:6])
writer = image_classifier.MetadataWriter.create(
    bytearray(open(src, "rb").read()), input_norm_mean=mean, input_norm_std=std,
    labels=metadata_writer.Labels().add(labels))
model, _ = writer.populate()
open(dst, "wb").write(model)
"""


def build_venv(venv: Path, requirement: str = "mediapipe") -> Path:
    """A venv with ``requirement`` from the package index; SystemExit(2) when it cannot be
    reached."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["pip failed"])[-1]
        print(f"cannot install {requirement} from the package index: {last}", file=sys.stderr)
        raise SystemExit(INDEX_UNREACHABLE)
    return py


def write_tflite_metadata(writer_python: Path, src: Path, dst: Path) -> None:
    """``src`` with the TFLite Metadata schema for image classifiers (input normalization from
    its embedded contract, the labels as an associated file), written by MediaPipe's writer."""
    from edge_runtime.embedded import read_contract

    c = read_contract(src)
    mean, std = c.input.normalization()
    dst.parent.mkdir(parents=True, exist_ok=True)
    args = [json.dumps(list(mean)), json.dumps(list(std)), json.dumps(list(c.labels))]
    r = subprocess.run(
        [str(writer_python), "-c", _WRITE, str(src), str(dst), *args],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise SystemExit(f"the TFLite Metadata writer failed on {src.name}: {r.stderr[-600:]}")


def train(x, y, epochs: int, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1), name="pixels"),
            layers.Rescaling(1 / 255.0, name="scale"),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x.astype(np.float32), y, epochs=epochs, batch_size=64, verbose=0)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--train-size", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "mediapipe-interop")
    ap.add_argument("--venv", type=Path, help="MediaPipe's venv (default: WORK/mediapipe-venv)")
    ap.add_argument(
        "--writer-venv", type=Path, help=f"{WRITER}'s venv (default: WORK/metadata-writer-venv)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "interop" / "mediapipe")
    args = ap.parse_args()
    t_start = time.perf_counter()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    venv = args.venv or work / "mediapipe-venv"
    mp_python = build_venv(venv)  # first: without the index there is nothing to compare with
    writer_python = build_venv(args.writer_venv or work / "metadata-writer-venv", WRITER)

    from trainer import env

    env.prepare()
    from PIL import Image

    from edge_runtime.manifest import InputSpec, load_manifest
    from edge_runtime.predictor import Predictor
    from export import ExportConfig, export_bundle
    from trainer.data import DataConfig, load_dataset, make_splits

    data_cfg = DataConfig()
    ds = load_dataset(data_cfg)
    sp = make_splits(ds, data_cfg)
    n_train = min(args.train_size, len(sp.y_train))
    model = train(sp.x_train[:n_train], sp.y_train[:n_train], args.epochs)
    model_path = work / "cnn.keras"
    model.save(model_path)
    labels = tuple(ds.class_names)
    grey_spec = InputSpec(height=28, width=28, channels=1, color="grey", polarity="light_on_dark")
    plans = {  # (artifacts, RGB input: the grey conversion inside the graph, export.interop)
        "bundle": (("tflite_fp32", "tflite_int8", "tflite_uint8"), False),
        "interop": (("tflite_fp32", "tflite_uint8"), True),
    }
    source = {"split": "test", "dataset": {"name": ds.name, "fingerprint_sha256": ds.fingerprint}}
    for name, (keys, rgb_input) in plans.items():
        export_bundle(
            model_path, work / name, ExportConfig(formats=keys, overwrite=True),
            sp.x_train, sp.y_train, sp.x_test, sp.y_test, labels,
            x_select=sp.x_val, y_select=sp.y_val, input_spec=grey_spec, name=f"mediapipe-{name}",
            parity_source=source, rgb_input=rgb_input,
        )  # fmt: skip

    n = min(args.images, len(sp.y_test))
    img_dir = work / "images"
    img_dir.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        p = img_dir / f"{i:05d}.png"
        Image.fromarray(sp.x_test[i, ..., 0].astype(np.uint8)).save(p)
        paths.append(p)
    y = sp.y_test[:n]

    # The interop artifacts with the TFLite Metadata schema added (MediaPipe's writer): MediaPipe
    # needs NormalizationOptions for a float input. edgetk runs these copies as bare files, from
    # the contract they still carry.
    with_meta = work / WITH_META
    for a in load_manifest(work / "interop").artifacts:
        write_tflite_metadata(writer_python, work / "interop" / a.file, with_meta / a.file)

    ours, models = {}, {}
    images = [np.asarray(Image.open(p)) for p in paths]
    for name in [*plans, with_meta.name]:
        bundle = work / ("interop" if name == with_meta.name else name)
        m = load_manifest(bundle)
        for a in m.artifacts:
            key = f"{name}/{a.file}"
            if name == with_meta.name:
                pred = Predictor.from_artifact(with_meta / a.file, polarity="never")
            else:
                pred = Predictor.from_bundle(bundle, a.file, polarity="never")
            found = pred.predict(images)
            ours[key] = [r.index for r in found]
            ours[key + ":probs"] = np.stack([r.probabilities for r in found])
            pred.close()
            models[key] = str(pred.bundle_dir / a.file)
            ours[key + ":input"] = {  # what the artifact takes, for the record
                "shape": list(a.input.shape),
                "dtype": a.input.dtype,
                "quantization": a.input.quantization.to_dict() if a.input.quantization else None,
                "gate": "pass" if a.parity_passed else "fail",
                "gate_accuracy": a.parity.get("accuracy"),
            }
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(_CHILD)
        child = fh.name
    try:
        r = subprocess.run(
            [str(mp_python), child, json.dumps(models), json.dumps([str(p) for p in paths]),
             str(len(labels))],
            capture_output=True, text=True, env={**os.environ, "GLOG_minloglevel": "2"},
        )  # fmt: skip
    finally:
        os.unlink(child)
    if r.returncode != 0:
        raise SystemExit(f"MediaPipe's run failed: {r.stderr.strip()[-800:]}")
    theirs = json.loads(r.stdout.strip().splitlines()[-1])

    rows = []
    for key in models:
        row = {"artifact": key, **ours[key + ":input"], "images": n}
        if key.startswith(with_meta.name + "/"):  # metadata changes no answer of edgetk's
            before = ours["interop/" + key.split("/", 1)[1]]
            row["edgetk_same_as_without_metadata"] = bool(np.array_equal(ours[key], before))
        got = theirs["models"][key]
        mine = np.asarray(ours[key])
        row["edgetk_accuracy"] = float((mine == y).mean())
        if "error" in got:
            row["mediapipe"] = "refused: " + got["error"]
        else:
            top = np.asarray(got["top1"])
            k = int((top == mine).sum())
            lo, hi = wilson(k, n)
            # 8-bit scores tie: where the two top-1s differ, do the two classes share edgetk's
            # top score (so either is a right reading of the same output)?
            probs = ours[key + ":probs"]
            rows_idx = np.arange(n)
            tied = int(((top != mine) & (probs[rows_idx, top] == probs[rows_idx, mine])).sum())
            row |= {
                "mediapipe": "loaded",
                "agreement": k / n,
                "agreement_95ci": [lo, hi],
                "disagreements": n - k,
                "disagreements_at_tied_scores": tied,
                "mediapipe_accuracy": float((top == y).mean()),
            }
        rows.append(row)
    record = {
        "what": "MediaPipe Tasks ImageClassifier (Python) vs edgetk predict, top-1 per image",
        **provenance(__file__),
        "machine": machine(),
        "mediapipe_version": theirs["mediapipe"],
        "metadata_writer": WRITER,
        "data": f"the first {n} images of the Fashion-MNIST test split, as PNG files",
        "model": f"small CNN, {n_train} training images, {args.epochs} epochs",
        "rows": rows,
        "seconds": round(time.perf_counter() - t_start, 1),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out.with_suffix(".json"), record)
    write_text(out.with_suffix(".md"), markdown(record))
    print(markdown(record))
    print(f"wrote {shown_path(out.with_suffix('.json'))} and .md")


def markdown(rec: dict) -> str:
    lines = [
        "# MediaPipe Tasks ImageClassifier vs edgetk predict",
        "",
        f"MediaPipe {rec['mediapipe_version']} (its own venv, from the package index); TFLite "
        f"Metadata for the `{WITH_META}` rows written by {rec['metadata_writer']}'s metadata "
        "writer (a venv of its own); "
        f"{rec['data']}; {rec['model']}. Made by `{rec['command']}`.",
        "",
        "| artifact | input | gate | edgetk acc | MediaPipe | top-1 agreement (95 % CI) | "
        "of the differences, tied scores | MediaPipe acc |",
        "|---|---|---|---:|---|---:|---:|---:|",
    ]
    for r in rec["rows"]:
        q = r["quantization"]
        inp = f"{'x'.join(str(d) for d in r['shape'][1:])} {r['dtype']}"
        if q:
            inp += f" (scale {q['scale']:g}, zp {q['zero_point']})"
        if r["mediapipe"] == "loaded":
            lo, hi = r["agreement_95ci"]
            agree = f"{100 * r['agreement']:.2f} % [{100 * lo:.2f}, {100 * hi:.2f}]"
            mp_acc = f"{100 * r['mediapipe_accuracy']:.2f} %"
            status = "loaded"
            ties = f"{r['disagreements_at_tied_scores']} of {r['disagreements']}"
        else:
            agree, mp_acc, ties = "–", "–", "–"
            status = r["mediapipe"].replace("|", "/")
        lines.append(
            f"| {r['artifact']} | {inp} | {r['gate']} | {100 * r['edgetk_accuracy']:.2f} % | "
            f"{status} | {agree} | {ties} | {mp_acc} |"
        )
    m = rec["machine"]
    lines += [
        "",
        f"{rec['rows'][0]['images']} images per row. Tied scores: the artifact's uint8 scores "
        "have 256 levels, so two classes can share the top score; the two runtimes then name "
        "different (equally scored) classes.",
        "",
        f"Machine: {m['device'].get('cpu_model', '?')}, {m['device'].get('cores_usable', '?')} "
        f"usable cores, Python {m['python']}; {rec['seconds']} s in all.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
