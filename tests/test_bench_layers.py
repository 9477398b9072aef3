"""`edgetk bench --check-layers N`: each layer on the target against a reference made here. A
target whose artifact was changed in one layer must be caught at that layer (and not before);
an unchanged one agrees bit for bit in one line; here and over the loopback SSH server alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.bench import BenchConfig
from edge_runtime.profiling.layers import check_against, compare, format_layers, make_reference
from edge_runtime.remote.run import LayersRequest, local_layers, run_remote
from edgetk.cli import main
from tests.fixtures.edge_helpers import BUNDLE, IMAGES, copy_bundle
from tests.fixtures.perturb import perturb_bundle_artifact, perturb_bundle_onnx
from tests.fixtures.sshd import Sshd, SshdUnavailable, start_sshd

PERTURBED = "conv2d_1_2"  # the fixture's second convolution


@pytest.fixture
def perturbed(tmp_path: Path) -> Path:
    bundle = copy_bundle(tmp_path / "device side")
    perturb_bundle_artifact(bundle, "model_int8.tflite", PERTURBED)
    return bundle


def _check(result: dict) -> None:
    first = result["first_divergent"]
    assert first is not None and PERTURBED in first["name"] and first["type"] == "CONV_2D"
    before = [r for r in result["layers"] if r["index"] < first["index"]]
    assert before and all(r["identical"] and r["max_steps"] == 0 for r in before)
    assert first["max_steps"] > 0 and first["cosine"] < 0.999
    assert not result["identical"] and result["images"] == 4


def test_a_layer_changed_on_the_target_is_named(perturbed: Path, tmp_path: Path) -> None:
    result = local_layers(
        BenchConfig(bundle=str(perturbed), artifacts=("model_int8.tflite",)),
        LayersRequest(4, IMAGES, reference_bundle=BUNDLE),
    )["model_int8.tflite"]
    _check(result)
    text = format_layers(result)
    assert f"first divergent layer #{result['first_divergent']['index']}" in text
    assert "quantization step(s)" in text


def test_an_onnx_layer_changed_on_the_target_is_named(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    bundle = copy_bundle(tmp_path / "device side")
    perturb_bundle_onnx(bundle, "model_fp32.onnx", PERTURBED)
    result = local_layers(
        BenchConfig(bundle=str(bundle), artifacts=("model_fp32.onnx",)),
        LayersRequest(4, IMAGES, reference_bundle=BUNDLE),
    )["model_fp32.onnx"]
    first = result["first_divergent"]
    assert first["type"] == "Conv" and f"{PERTURBED}/BiasAdd" in first["name"], first
    before = [r for r in result["layers"] if r["index"] < first["index"]]
    assert len(before) == 6 and all(r["identical"] for r in before)
    assert first["rel_error"] > 0.01 and "max_steps" not in first  # float: relative error
    assert result["delegate_output_agrees"] is True  # optimized session: same final output


def test_an_unchanged_target_agrees_bit_for_bit_in_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "record.json"
    args = ["bench", str(BUNDLE), "--thread-counts", "1", "--runs", "5", "--warmup", "1",
            "--artifacts", "model_int8.tflite", "--check-layers", "4", "--data-dir", str(IMAGES),
            "--out-file", str(out)]  # fmt: skip
    assert main(args) in (0, None)
    text = capsys.readouterr().out
    assert (
        "model_int8.tflite vs model_int8.tflite here, 4 image(s): all 10 layers agree bit" in text
    )
    layers = json.loads(out.read_text())["layers"]["model_int8.tflite"]
    assert layers["identical"] and layers["first_divergent"] is None
    assert layers["delegate_output_agrees"] is True


def test_int8_against_the_fp32_artifact_matches_layers_by_name(tmp_path: Path) -> None:
    ref = make_reference(
        BUNDLE, "model_int8.tflite", _images(4), tmp_path / "ref.npz", "model_fp32.tflite"
    )
    result = check_against(ref, BUNDLE / "model_int8.tflite", "tflite")
    assert result["reference"] == "model_fp32.tflite" and result["compared"] == 10
    convs = [r for r in result["layers"] if r["type"] == "CONV_2D"]
    # int8 against float: close (this model quantizes well), but not equal, and in real units
    assert all(0 < r["rel_error"] < 0.1 and r["cosine"] > 0.99 for r in convs)
    assert "max_steps" not in convs[0]


def test_compare_reports_steps_and_the_first_divergence() -> None:
    layers = [
        {"index": 0, "name": "a", "type": "CONV_2D", "scale": 0.5, "zero_point": 0},
        {"index": 1, "name": "b", "type": "ADD", "scale": 0.5, "zero_point": 0},
    ]
    ref = {"a": np.array([[1, 2, 3]], np.int8), "b": np.array([[4, 5, 6]], np.int8)}
    tgt = {"a": ref["a"].copy(), "b": np.array([[4, 8, 6]], np.int8)}
    result = compare(layers, tgt, layers, ref, same_artifact=True)
    assert result["first_divergent"]["name"] == "b"
    assert result["first_divergent"]["max_steps"] == 3
    assert result["layers"][0]["identical"] and not result["identical"]
    assert result["first_divergent"]["max_abs"] == 1.5  # steps times the scale


def test_check_layers_needs_images_and_a_reference_needs_the_check(capsys) -> None:
    assert main(["bench", str(BUNDLE), "--check-layers", "4"]) == 2
    assert "--check-layers needs labelled images" in capsys.readouterr().err
    assert main(["bench", str(BUNDLE), "--layers-reference", "model_fp32.tflite"]) == 2
    assert "--layers-reference only applies with --check-layers" in capsys.readouterr().err


def _images(n: int) -> list[np.ndarray]:
    from edge_runtime.preprocess import load_image
    from edge_runtime.remote.parity import pick_images

    return [load_image(i.path) for i in pick_images(IMAGES, _labels(), n)]


def _labels() -> tuple[str, ...]:
    from edge_runtime.manifest import load_manifest

    return tuple(load_manifest(BUNDLE).labels)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except SshdUnavailable as exc:
        pytest.skip(f"no loopback OpenSSH server: {exc}")
    yield server
    server.stop()


@pytest.mark.slow
def test_ops_and_layer_check_come_back_from_a_device(
    sshd: Sshd, perturbed: Path, tmp_path: Path
) -> None:
    """Over SSH: the device runs the perturbed bundle (its manifest agrees with it), this machine
    the original; the per-op tables and the layer check come back in the local format."""
    from edge_runtime.remote.cli_options import targets_from_options

    config = BenchConfig(
        bundle=str(perturbed), artifacts=("model_int8.tflite", "model_fp32.onnx"), threads=(1, 2),
        runs=10, warmup=1, ops=True,
    )  # fmt: skip
    kw = {"remote": (sshd.destination,), "ssh_config": sshd.client_config,
          "remote_python": "python3", "remote_cache": str(tmp_path / "device cache")}  # fmt: skip
    targets = targets_from_options(kw, "loopback", config)
    lines: list[str] = []
    outcomes = run_remote(
        config, targets, tmp_path / "results", echo=lines.append,
        layers=LayersRequest(4, IMAGES, reference_bundle=BUNDLE),
    )  # fmt: skip
    assert outcomes[0].error is None, outcomes[0].error
    record = json.loads((tmp_path / "results" / "device" / "bench.json").read_text())
    assert len(record["rows"]) == 4
    for row in record["rows"]:
        assert row["status"] == "ok" and row["ops"]["ops"], row
    assert {"model_int8.tflite", "model_fp32.onnx"} == set(record["thread_scaling"])
    _check(record["layers"]["model_int8.tflite"])
    assert record["layers"]["model_fp32.onnx"]["identical"] is True  # not perturbed there
    assert any("layer check of 2 artifact(s)" in ln for ln in lines)


@pytest.mark.slow
def test_the_bench_command_prints_a_devices_tables_and_layer_check(
    sshd: Sshd, tmp_path: Path, capsys
) -> None:
    args = [
        "bench", str(BUNDLE), "--remote", sshd.destination, "--ssh-config",
        str(sshd.client_config), "--remote-cache", str(tmp_path / "device cache"),
        "--results-dir", str(tmp_path / "results"), "--thread-counts", "1", "--runs", "10",
        "--warmup", "1", "--artifacts", "model_int8.tflite", "--ops", "--check-layers", "4",
        "--parity-data-dir", str(IMAGES),
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "[device]" in out and "model_int8.tflite x1: operators sum to" in out
    assert "model_int8.tflite vs model_int8.tflite here, 4 image(s): all 10 layers agree bit" in out
    record = json.loads((tmp_path / "results" / "device" / "bench.json").read_text())
    assert record["layers"]["model_int8.tflite"]["identical"] is True
