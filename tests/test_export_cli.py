"""``edgetk export`` end to end: a plain .keras model with --labels / --data-dir (IDX files),
a registry version folder, exit codes 0 / 1 / 2 / 3 and the printed summary."""

from __future__ import annotations

import json

import pytest

from edge_runtime.common.errors import EXIT_FAILURE, EXIT_PARITY_GATE, EXIT_USAGE
from edge_runtime.manifest import load_manifest
from edgetk.cli import main
from export import ExportConfig, GateConfig, ParityThresholds
from tests.test_export_support import LABELS, synthetic_images, train_tiny, write_idx_folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli work") / "with spaces"
    x_train, y_train = synthetic_images(600, seed=0)
    x_test, y_test = synthetic_images(200, seed=1)
    idx = write_idx_folder(root / "idx data", x_train, y_train, x_test, y_test)
    model = root / "tiny model.keras"
    train_tiny(x_train, y_train).save(model)
    labels = root / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    return {"root": root, "idx": idx, "model": model, "labels": labels}


def _args(ws, out, *extra):
    return ["export", str(ws["model"]), "--out-dir", str(out), "--labels", str(ws["labels"]),
            "--data-dir", str(ws["idx"]), *extra]  # fmt: skip


def _gate_failing_args(ws, out, failing: str, artifacts: str, calib_size: str) -> list[str]:
    """tflite export args whose --config (a path with a space) gives the ``failing`` precision a
    zero tolerance on output differences, which its artifact cannot meet."""
    gate = GateConfig.default().replace(**{failing: ParityThresholds(0.5, 0.5, 0.5, 0.0, 0.0)})
    cfg_file = ws["root"] / f"{failing} config.json"
    ExportConfig(gate=gate).save(cfg_file)
    return _args(ws, out, "--artifacts", artifacts,
                 "--config", str(cfg_file), "--calib-size", calib_size)  # fmt: skip


def test_plain_keras_exports_fp32(workspace, capsys) -> None:
    out = workspace["root"] / "bundle fp32"
    # The earlier spelling (containers x precisions) still works, with a warning line each.
    rc = main(_args(workspace, out, "--formats", "tflite,onnx", "--precisions", "fp32"))
    cap = capsys.readouterr()
    printed = cap.out
    assert rc == 0, printed
    assert "warning: --formats is deprecated; use --artifacts" in cap.err
    assert "warning: --precisions is deprecated; use --artifacts" in cap.err
    lines = [ln for ln in printed.splitlines() if ln.startswith(("tflite_fp32 ", "onnx_fp32 "))]
    assert len(lines) == 2 and all(ln.rstrip().endswith("pass") and "MiB" in ln for ln in lines)
    assert "| tflite_fp32 |" in printed and "| onnx_fp32 |" in printed
    m = load_manifest(out, verify_hashes=True)
    assert m.labels == LABELS and {a.file for a in m.artifacts} == {
        "model_fp32.tflite",
        "model_fp32.onnx",
    }
    assert m.parity_data["split"] == "test" and m.parity_data["images"] == 200
    assert m.calibration["source"]["split"].startswith("train")
    # Running again without --overwrite is a usage error and leaves the bundle alone.
    assert main(_args(workspace, out, "--artifacts", "tflite_fp32,onnx_fp32")) == EXIT_USAGE
    assert "pass --overwrite" in capsys.readouterr().err


def test_failed_gate_exits_3_and_names_the_numbers(workspace, capsys) -> None:
    # A zero tolerance on int8 output differences cannot be met: the gate must fail.
    out = workspace["root"] / "bundle int8"
    args = _gate_failing_args(workspace, out, "int8", "tflite_int8", "40")
    assert main(args) == EXIT_PARITY_GATE
    cap = capsys.readouterr()
    assert (
        "error: parity gate failed for 1 of 1 artifact(s): tflite_int8: max output difference"
        in cap.err
    )
    assert "> 0.00e+00 allowed" in cap.err and "| tflite_int8 |" in cap.out
    assert not out.exists()
    # Accepting the failure writes the bundle and records the acceptance.
    assert main([*args, "--allow-parity-failure"]) == 0
    art = load_manifest(out).artifact("tflite:int8")
    assert art.parity_passed is False and art.parity_failure_accepted is True
    assert load_manifest(out).calibration["count"] == 40
    assert "FAIL (accepted)" in capsys.readouterr().out


def test_registry_version_folder(workspace, capsys) -> None:
    version = workspace["root"] / "run" / "models" / "tiny" / "v2"
    version.mkdir(parents=True)
    (version / "model.keras").write_bytes(workspace["model"].read_bytes())
    meta = {
        "name": "tiny",
        "version": 2,
        "stage": "baseline",
        "labels": list(LABELS),
        "input": {"height": 16, "width": 16, "channels": 1, "polarity": "light_on_dark"},
        "output": {"kind": "probabilities", "num_classes": 4},
        "data_config": {"source": "idx", "path": str(workspace["idx"]), "test_size": 100},
    }
    (version / "metadata.json").write_text(json.dumps(meta))
    rc = main(["export", str(version.parent), "--artifacts", "tflite_fp32"])
    assert rc == 0, capsys.readouterr()
    out = workspace["root"] / "run" / "export" / "tiny-v2"  # default: <run_dir>/export/<name>-vN
    m = load_manifest(out)
    assert (
        m.name == "tiny" and m.source_model["version"] == 2 and m.input.polarity == "light_on_dark"
    )
    assert m.parity_data["images"] == 100
    # The model file inside a registry version brings its metadata along (FULL_RUN_DONE style).
    from trainer.export_cli import resolve_model

    path, found = resolve_model(version / "model.keras")
    assert path == version / "model.keras" and found["name"] == "tiny" and found["version"] == 2


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ("missing", EXIT_FAILURE, "does not exist; pass a registry version folder"),
        ("corrupt", EXIT_FAILURE, "is not a valid .keras archive"),
        ("no-metadata", EXIT_FAILURE, "metadata.json is missing"),
        ("bad-artifact", EXIT_USAGE, "'tflite_int4' is not one of tflite_fp32,"),
    ],
)
def test_user_mistakes_are_clear_errors(workspace, space_dir, capsys, setup, code, message):
    model = space_dir / "m.keras"
    extra = []
    if setup == "corrupt":
        model.write_bytes(b"\x00" * 64)
    elif setup == "no-metadata":
        model = space_dir / "v1"
        model.mkdir()
        (model / "model.keras").write_bytes(b"x")
    elif setup == "bad-artifact":
        model = workspace["model"]
        extra = ["--artifacts", "tflite_int4"]
    args = ["export", str(model), "--labels", str(workspace["labels"]),
            "--data-dir", str(workspace["idx"]), "--out-dir", str(space_dir / "o"), *extra]  # fmt: skip
    if setup == "no-metadata":
        args = ["export", str(model)]
    assert main(args) == code
    err = capsys.readouterr().err
    # A bad option value is click's usage error, before any work; the others are edgetk's.
    assert err.startswith("Usage: " if code == EXIT_USAGE else "error: "), err
    assert message in err and "Traceback" not in err


def test_failing_non_default_artifact_is_left_out_exit_0(workspace, capsys) -> None:
    # dynamic gets an impossible output tolerance: it fails; the default int8 passes.
    out = workspace["root"] / "bundle kept"
    # 5000 calibration images asked for, 540 in the training split: clamped, not exit 2.
    args = _gate_failing_args(workspace, out, "dynamic", "tflite_dynamic,tflite_int8", "5000")
    rc = main(args)
    cap = capsys.readouterr()
    printed = cap.out
    assert rc == 0, printed
    assert "FAIL (left out)" in printed and "left out of the bundle: tflite_dynamic" in printed
    assert (
        "gate: 200 paired images at 99 % confidence; the smallest accuracy drop it can call "
        "real is 7 images (3.50 points)"
    ) in printed
    m = load_manifest(out, verify_hashes=True)
    assert [a.file for a in m.artifacts] == ["model_int8.tflite"]
    assert m.default_artifact == "model_int8.tflite" and not (out / "model_dynamic.tflite").exists()
    assert [e["key"] for e in m.excluded] == ["tflite_dynamic"]
    assert "max output difference" in m.excluded[0]["reason"]
    assert m.calibration["count"] == 540 and m.calibration["requested_count"] == 5000
    assert "calibration size 5000 asked for, but the training split has only 540" in cap.err
    assert "fail (left out)" in (out / "parity.md").read_text()


def test_plain_keras_polarity_is_detected_not_inherited(workspace, tmp_path, capsys) -> None:
    base = ["export", str(workspace["model"]), "--labels", str(workspace["labels"]),
            "--artifacts", "tflite_fp32"]  # fmt: skip
    # The quadrant squares sit anywhere: borders are brighter than centres in 247 of 600
    # training pictures. No consistent polarity, so the runtime must never invert.
    assert (
        main([*base, "--data-dir", str(workspace["idx"]), "--out-dir", str(tmp_path / "b0")]) == 0
    )
    detected = "detected from 600 training images, 41.2 % dark-on-light"
    assert f"polarity natural ({detected})" in capsys.readouterr().out
    m = load_manifest(tmp_path / "b0")
    assert m.input.polarity == "natural"  # not Fashion-MNIST's light_on_dark
    assert m.source_model["polarity_from"] == detected
    # Light pictures with a darker middle: dark on light.
    x_train, y_train = synthetic_images(600, seed=0)
    x_test, y_test = synthetic_images(200, seed=1)

    def light(x):
        out = 255 - x
        out[:, 4:12, 4:12] //= 2
        return out

    folder = write_idx_folder(tmp_path / "light idx", light(x_train), y_train,
                              light(x_test), y_test)  # fmt: skip
    base += ["--data-dir", str(folder)]
    assert main([*base, "--out-dir", str(tmp_path / "b1")]) == 0
    assert load_manifest(tmp_path / "b1").input.polarity == "dark_on_light"
    assert main([*base, "--out-dir", str(tmp_path / "b2"), "--image-polarity", "natural"]) == 0
    assert "polarity natural (--image-polarity)" in capsys.readouterr().out
    assert load_manifest(tmp_path / "b2").input.polarity == "natural"
    # The earlier spellings of both options still work, each with one warning line.
    assert main([*base, "--out", str(tmp_path / "b3"), "--polarity", "natural"]) == 0
    cap = capsys.readouterr()
    assert "polarity natural (--image-polarity)" in cap.out
    assert "warning: --polarity is deprecated; use --image-polarity" in cap.err
    assert "warning: --out is deprecated; use --out-dir" in cap.err
    assert load_manifest(tmp_path / "b3").input.polarity == "natural"


def test_recorded_contract_is_read_from_every_place_a_run_writes_it() -> None:
    from trainer.export_cli import recorded_input_spec

    contract = {"height": 40, "width": 60, "channels": 3, "color": "rgb",
                "polarity": "natural", "resize": "pad", "value_range": [0, 255]}  # fmt: skip
    assert recorded_input_spec({"input_spec": contract}) == contract
    assert recorded_input_spec({"data_config": {"input_spec": contract}}) == contract
    assert recorded_input_spec({"input": {**contract, "unknown": 1}}) == contract
    assert recorded_input_spec({"data_config": {"source": "idx"}}) is None
    assert recorded_input_spec({}) is None


def test_export_and_the_pipeline_make_the_same_bundle(workspace, capsys) -> None:
    """``edgetk export`` on a registry model and ``edgetk run``'s export stage go through one
    function (trainer/bundle.py): their manifests name the model, the calibration images and the
    gate images alike."""
    from trainer.data import DataConfig
    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.runner import Context
    from trainer.pipeline.stages import _export_one

    run = workspace["root"] / "same bundle run"
    version = run / "models" / "tiny" / "v1"
    version.mkdir(parents=True)
    (version / "model.keras").write_bytes(workspace["model"].read_bytes())
    data = {"source": "idx", "path": str(workspace["idx"]), "val_fraction": 0.1}
    meta = {
        "name": "tiny",
        "version": 1,
        "stage": "baseline",
        "kind": "baseline",
        "model_sha256": "ab" * 32,
        "labels": list(LABELS),
        "input": {"height": 16, "width": 16, "channels": 1, "polarity": "light_on_dark"},
        "output": {"kind": "probabilities", "num_classes": 4},
        "metrics": {"accuracy": 0.5},
        "data_config": data,
    }
    (version / "metadata.json").write_text(json.dumps(meta))
    by_cli = run / "by export"
    rc = main(["export", str(version), "--artifacts", "tflite_fp32", "--out-dir", str(by_cli)])
    assert rc == 0, capsys.readouterr()
    ctx = Context(run, {"config": PipelineConfig(data=DataConfig.from_dict(data))})
    by_run = run / "by run"
    _export_one(ctx, "tiny", by_run, ExportConfig(formats=("tflite_fp32",)))
    a, b = load_manifest(by_cli), load_manifest(by_run)
    assert a.calibration["source"] == b.calibration["source"]
    assert a.calibration["source"]["split"] == "train (validation held out)"
    assert a.calibration["source"]["dataset"]["fingerprint_sha256"]
    assert a.parity_data == b.parity_data and a.parity_data["split"] == "test"
    cli_source = {k: v for k, v in a.source_model.items() if k != "polarity_from"}
    assert cli_source == b.source_model
    assert b.source_model["sha256"] == "ab" * 32 and b.source_model["stage"] == "baseline"
