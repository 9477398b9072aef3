"""The stage runner: resume skips finished stages, --from redoes, failure leaves outputs intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_runtime.common.errors import ConfigError, DataError
from trainer.pipeline.runner import Context, Stage, StageFailed, run_stages


def make_stages(calls: list[str], fail: set[str] | None = None) -> list[Stage]:
    fail = fail or set()

    def job(name: str):
        def run(ctx: Context) -> dict:
            calls.append(name)
            if name in fail:
                raise DataError(f"{name} exploded")
            out = ctx.run_dir / name / "out.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(f"{name}:{ctx.options.get(name, 0)}")
            return {"value": ctx.options.get(name, 0)}

        return run

    return [
        Stage(n, job(n), config=lambda ctx, n=n: {"opt": ctx.options.get(n, 0)})
        for n in ("a", "b", "c")
    ]


def test_resume_skips_and_config_change_reruns_downstream(space_dir: Path) -> None:
    calls: list[str] = []
    lines: list[str] = []
    ctx = Context(space_dir, {})
    run_stages(make_stages(calls), ctx, echo=lines.append)
    assert calls == ["a", "b", "c"]
    run_stages(make_stages(calls), Context(space_dir, {}), echo=lines.append)
    assert calls == ["a", "b", "c"] and sum("skipped" in line for line in lines) == 3
    run_stages(make_stages(calls), Context(space_dir, {"b": 1}), echo=lines.append)
    assert calls[3:] == ["b", "c"]  # b changed; c depends on it
    state = json.loads((space_dir / "pipeline.json").read_text())
    assert {k: v["status"] for k, v in state["stages"].items()} == {
        "a": "done",
        "b": "done",
        "c": "done",
    }


def test_from_redoes_stage_and_after(tmp_path: Path) -> None:
    calls: list[str] = []
    run_stages(make_stages(calls), Context(tmp_path, {}), echo=lambda s: None)
    run_stages(make_stages(calls), Context(tmp_path, {}), from_stage="b", echo=lambda s: None)
    assert calls == ["a", "b", "c", "b", "c"]
    with pytest.raises(ConfigError, match="'zz' is not a stage"):
        run_stages(make_stages(calls), Context(tmp_path, {}), from_stage="zz")


def test_failure_names_stage_and_keeps_earlier_outputs(tmp_path: Path) -> None:
    calls: list[str] = []
    with pytest.raises(StageFailed, match="stage 'b' failed: DataError: b exploded") as info:
        run_stages(make_stages(calls, fail={"b"}), Context(tmp_path, {}), echo=lambda s: None)
    assert info.value.exit_code == 1
    assert (tmp_path / "a" / "out.txt").read_text() == "a:0"
    state = json.loads((tmp_path / "pipeline.json").read_text())
    assert state["stages"]["a"]["status"] == "done" and state["stages"]["b"]["status"] == "failed"
    assert "c" not in state["stages"]
    # fixed: resumes at b, a not rerun
    run_stages(make_stages(calls), Context(tmp_path, {}), echo=lambda s: None)
    assert calls == ["a", "b", "b", "c"]


def _collapse_ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collapsing: set[str]):
    """A Context whose training stages collapse for the names in ``collapsing``."""
    import trainer.training.complexity as complexity
    import trainer.training.runner as training_runner
    from edge_runtime.common.errors import CollapseError
    from trainer.pipeline.config import PipelineConfig

    class _Res:
        metrics, model_path, epochs_run, train_seconds = {"accuracy": 0.9}, "m", 1, 1.0

    def fake_run_stage(run_dir, config, data, dataset=None):
        if config.stage.value in collapsing:
            raise CollapseError(f"stage {config.stage.value!r} collapsed: predicts one class")
        return _Res()

    monkeypatch.setattr(training_runner, "run_stage", fake_run_stage)
    monkeypatch.setattr(complexity, "write_return_on_complexity", lambda run_dir: None)
    cfg = PipelineConfig(candidate_names=("baseline", "resnet", "classical"))
    return Context(tmp_path, {"config": cfg, "_dataset": object()})


def test_one_collapsed_candidate_is_left_out_not_fatal(tmp_path: Path, monkeypatch) -> None:
    from trainer.pipeline import stages

    ctx = _collapse_ctx(tmp_path, monkeypatch, {"resnet"})
    for name in ("baseline", "resnet"):
        ctx.results[name] = stages.train(name)(ctx)
    assert ctx.results["resnet"]["collapsed"] is True
    assert stages._keras_names(ctx) == ["baseline"]
    assert "predicts one class" in stages._collapsed(ctx)["resnet"]


def test_every_candidate_collapsed_stops_the_run(tmp_path: Path, monkeypatch) -> None:
    from edge_runtime.common.errors import CollapseError
    from trainer.pipeline import stages

    ctx = _collapse_ctx(tmp_path, monkeypatch, {"baseline", "resnet"})
    for name in ("baseline", "resnet"):
        ctx.results[name] = stages.train(name)(ctx)  # each has another candidate left
    assert stages._keras_names(ctx) == []
    with pytest.raises(CollapseError, match="every Keras candidate collapsed"):
        stages.run_export(ctx)


def test_tune_overrides_are_checked_before_any_training() -> None:
    from trainer.pipeline.config import PipelineConfig

    assert PipelineConfig(tune_overrides={"max_trials": 2}).tune_overrides == {"max_trials": 2}
    with pytest.raises(ConfigError, match=r"unknown TuneConfig field\(s\) \['max_trial'\]"):
        PipelineConfig(tune_overrides={"max_trial": 2})
