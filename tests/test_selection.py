"""Selection on validation within budget: the rule, the Pareto front, the no-fit path, and a
proof that the choice never reads a test-set number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_runtime.common.errors import ConfigError
from trainer.pipeline.budget import Budget
from trainer.pipeline.select import NothingFitsError, Point, choose, pareto_front
from trainer.pipeline.validation_table import validation_table


def pt(cand: str, art: str, acc: float, kb: float, ms: float, ram: float = 50.0) -> Point:
    prec = "int8" if "int8" in art else "fp32"
    return Point(cand, art, "tflite", prec, acc, 1000, kb, ms, ram)


POINTS = [
    pt("resnet", "model_int8.tflite", 0.930, 220, 0.40),
    pt("resnet", "model_fp32.tflite", 0.932, 700, 0.90),
    pt("baseline", "model_int8.tflite", 0.905, 260, 0.30),
    pt("baseline", "model_fp32.tflite", 0.906, 980, 0.60),
    pt("mobilenet", "model_int8.tflite", 0.915, 900, 4.0, ram=120.0),
]


def test_no_budget_takes_the_most_accurate_on_validation() -> None:
    c = choose(POINTS, Budget())
    assert c.winner.key == "resnet/model_fp32.tflite"
    assert "highest validation accuracy" in c.reason


def test_budget_only_small_candidates_meet_makes_a_small_one_the_default() -> None:
    c = choose(POINTS, Budget(max_kb=250))
    assert c.winner.key == "resnet/model_int8.tflite"
    c = choose(POINTS, Budget(max_ms=0.35))
    assert c.winner.key == "baseline/model_int8.tflite"
    assert "within the budget (--budget-ms 0.35 ms)" in c.reason
    c = choose(POINTS, Budget(max_ram_mb=100, max_kb=800))
    assert c.winner.key == "resnet/model_fp32.tflite"


def test_impossible_budget_names_the_closest_point() -> None:
    with pytest.raises(
        NothingFitsError, match=r"closest is resnet/model_int8\.tflite.*--budget-kb by 2\.20x"
    ) as e:
        choose(POINTS, Budget(max_kb=100))
    assert e.value.exit_code == 1
    with pytest.raises(NothingFitsError, match=r"closest is baseline/model_int8.tflite"):
        choose(POINTS, Budget(max_ms=0.1))


def test_unmeasured_memory_never_fits_a_memory_budget() -> None:
    p = pt("resnet", "model_int8.tflite", 0.93, 200, 0.4, ram=None)  # type: ignore[arg-type]
    with pytest.raises(NothingFitsError, match="--budget-ram-mb \\(not measured\\)"):
        choose([p], Budget(max_ram_mb=500))


def test_nothing_gated_is_an_error_not_a_silent_pick() -> None:
    with pytest.raises(Exception, match="no exported artifact passed its parity gate"):
        choose([], Budget())


def test_pareto_front_drops_dominated_points() -> None:
    keys = {p.key for p in pareto_front(POINTS)}
    assert (
        "mobilenet/model_int8.tflite" not in keys
    )  # less accurate, bigger and slower than resnet int8
    assert "baseline/model_fp32.tflite" not in keys
    assert {
        "resnet/model_int8.tflite",
        "resnet/model_fp32.tflite",
        "baseline/model_int8.tflite",
    } <= keys


@pytest.mark.parametrize(
    ("kw", "flag"),
    [
        ({"max_ms": 0}, "--budget-ms"),
        ({"max_kb": -5}, "--budget-kb"),
        ({"max_ram_mb": "x"}, "--budget-ram-mb"),
    ],
)
def test_budget_values_are_validated(kw: dict, flag: str) -> None:
    with pytest.raises(ConfigError, match=f"{flag} .*positive number"):
        Budget(**kw)


def _summaries(run: Path, val: dict[str, float], test: dict[str, float]) -> None:
    for name in val:
        (run / name).mkdir(parents=True)
        (run / name / "summary.json").write_text(
            json.dumps(
                {
                    "stage": name,
                    "val_metrics": {"accuracy": val[name], "macro_f1": val[name], "count": 600},
                    "metrics": {"accuracy": test[name], "macro_f1": test[name]},
                }
            )
        )


def test_validation_table_reads_validation_not_test(tmp_path: Path) -> None:
    # Test numbers favour "a", validation favours "b": the table must follow validation.
    _summaries(tmp_path, {"a": 0.80, "b": 0.90}, {"a": 0.99, "b": 0.10})
    table = validation_table(tmp_path, ["a", "b"])
    assert table == {
        "a": {"accuracy": 0.80, "macro_f1": 0.80, "count": 600},
        "b": {"accuracy": 0.90, "macro_f1": 0.90, "count": 600},
    }


def test_selection_never_reads_test_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every JSON the selection code reads is served through a guard that fails the test when a
    test-set key ("metrics", "test") is looked up; then the choice must still be made."""
    import trainer.pipeline.validation_table as vt

    class Guarded(dict):
        def __getitem__(self, key):  # noqa: ANN001
            if key in ("metrics", "test", "test_accuracy"):
                raise AssertionError(f"selection read the test-set key {key!r}")
            return super().__getitem__(key)

        def get(self, key, default=None):  # noqa: ANN001
            if key in ("metrics", "test", "test_accuracy"):
                raise AssertionError(f"selection read the test-set key {key!r}")
            return super().get(key, default)

    real = vt.read_json
    monkeypatch.setattr(vt, "read_json", lambda p: Guarded(real(p)))
    _summaries(tmp_path, {"a": 0.80, "b": 0.90}, {"a": 0.99, "b": 0.10})
    table = validation_table(tmp_path, ["a", "b"])
    points = [pt(n, "model_int8.tflite", table[n]["accuracy"], 100, 1.0) for n in table]
    assert choose(points, Budget()).winner.candidate == "b"


def test_point_has_no_test_field() -> None:
    # The choice takes Points; a Point cannot carry a test number.
    assert not any("test" in f for f in Point.__dataclass_fields__)


def test_missing_validation_numbers_are_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "summary.json").write_text(json.dumps({"metrics": {"accuracy": 0.9}}))
    with pytest.raises(
        ConfigError, match="candidate 'a' has no validation numbers.*--val-fraction"
    ):
        validation_table(tmp_path, ["a"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget-ms", "0"], "--budget-ms"),
        (["--budget-kb", "-1"], "--budget-kb"),
        (["--budget-ram-mb", "lots"], "--budget-ram-mb"),
    ],
)
def test_budget_flags_are_parsed_and_checked(args, message, tmp_path, capsys) -> None:  # noqa: ANN001
    from edgetk.cli import main

    rc = main(["run", *args, "--run-dir", str(tmp_path / "r")])
    assert rc == 2
    assert message in capsys.readouterr().err


def _with_correct(p: Point, wrong: list[int], n: int = 1000) -> Point:
    import dataclasses

    import numpy as np

    correct = np.ones(n, dtype=bool)
    correct[wrong] = False
    return dataclasses.replace(p, val_accuracy=float(correct.mean()), correct=correct)


def test_a_smaller_artifact_tied_on_validation_ships_instead_of_the_leader() -> None:
    # 9 images only fp32 gets right, 3 only int8 gets right, of the same 1000:
    # exact one-sided McNemar p = P(X >= 9 | n = 12) = 0.073, not a real lead at 0.05.
    fp32 = _with_correct(
        pt("resnet", "model_fp32.tflite", 0, 700, 0.9), list(range(60, 111)) + [0, 1, 2]
    )
    int8 = _with_correct(pt("resnet", "model_int8.tflite", 0, 220, 0.4), list(range(60, 120)))
    assert fp32.val_accuracy > int8.val_accuracy
    c = choose([fp32, int8], Budget())
    assert c.winner.key == "resnet/model_int8.tflite"
    assert {p.key for p in c.tied} == {fp32.key, int8.key}
    assert "statistically tied with the most accurate (resnet/model_fp32.tflite" in c.reason
    assert "p = 0.07" in c.reason


def test_a_real_lead_on_validation_keeps_the_more_accurate_artifact() -> None:
    # 30 images only fp32 gets right, none the other way: p = 0.5**30, a real lead.
    fp32 = _with_correct(pt("resnet", "model_fp32.tflite", 0, 700, 0.9), list(range(60, 90)))
    int8 = _with_correct(pt("resnet", "model_int8.tflite", 0, 220, 0.4), list(range(30, 90)))
    c = choose([fp32, int8], Budget())
    assert c.winner.key == "resnet/model_fp32.tflite" and c.tied == (fp32,)
    assert "highest validation accuracy" in c.reason
    assert "correct" not in fp32.to_dict()  # per-image results stay out of selection.json
