"""The candidates file: the shipped one loads, and every mistake is named with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_runtime.common.errors import ConfigError
from trainer.candidates import load_candidates
from trainer.candidates.spec import default_candidates_path
from trainer.training.config import Stage, StageConfig


def write(tmp_path: Path, body: dict) -> Path:
    p = tmp_path / "my candidates.json"
    p.write_text(json.dumps(body))
    return p


def shipped() -> dict:
    return json.loads(default_candidates_path().read_text())


def test_shipped_file_lists_every_kind_and_profiles_pick_lists() -> None:
    cs = load_candidates()
    assert {c.kind for c in cs.candidates} == {
        "baseline",
        "resnet",
        "transfer",
        "finetune",
        "classical",
    }
    # the course's flow, then the native CNN and the anchor
    flow = ["baseline", "transfer", "finetune"]
    assert [c.name for c in cs.for_profile("quick")] == [*flow, "resnet", "classical"]
    assert [c.name for c in cs.for_profile("full")] == [*flow, "resnet_fast", "classical"]
    rc = cs.get("resnet").stage_config("full")
    assert rc.stage is Stage.RESNET and rc.run_name == "resnet"
    assert rc.weight_decay > 0 and rc.label_smoothing > 0 and rc.augment.crop_padding > 0
    # random erasing belongs to the quick preset; the short full schedule leaves it out
    assert cs.get("resnet").stage_config("quick").augment.erasing > 0
    assert rc.augment.erasing == 0
    # per-profile changes apply over the kind's preset
    assert cs.get("baseline").stage_config("full").epochs == 4
    # the full profile's finetune is cut to 5 epochs: it gives its time to resnet_fast
    ft = cs.get("finetune").stage_config("full")
    assert (ft.epochs, ft.patience) == (5, 5)
    assert cs.get("finetune").stage_config("quick").epochs == StageConfig.quick("finetune").epochs
    assert cs.get("classical").classical_spec("quick").train_subset == 6000


def test_resnet_long_is_the_resnet_recipe_with_twice_the_epochs_and_in_no_default_list() -> None:
    cs = load_candidates()
    for profile in ("quick", "full"):
        short, long = (cs.get(n).stage_config(profile) for n in ("resnet", "resnet_long"))
        assert long.epochs == 2 * short.epochs == long.patience
        assert long.run_name == "resnet_long"
        same = short.replace(epochs=long.epochs, patience=long.patience, name="resnet_long")
        assert long == same
        assert "resnet_long" not in [c.name for c in cs.for_profile(profile)]


def test_resnet_fast_is_the_resnet_recipe_with_its_layout_batch_and_epochs() -> None:
    from trainer.models import resnet_params

    cs = load_candidates()
    for profile, epochs, batch, erasing in (("quick", 7, 64, 0.5), ("full", 26, 64, 0.5)):
        base, fast = (cs.get(n).stage_config(profile) for n in ("resnet", "resnet_fast"))
        assert (fast.filters, fast.blocks_per_stage) == ((16, 48, 96), (0, 2, 2))
        assert (fast.epochs, fast.batch_size) == (epochs, batch)
        assert fast.augment.erasing == erasing
        same = base.replace(
            name="resnet_fast",
            filters=fast.filters,
            blocks_per_stage=fast.blocks_per_stage,
            epochs=fast.epochs,
            patience=fast.patience,
            batch_size=fast.batch_size,
            augment=base.augment.replace(erasing=erasing),
        )
        assert fast == same  # only the layout, the length, the batch and the erasing differ
    assert cs.get("resnet_fast").approx_params == resnet_params(1, 10, (16, 48, 96), (0, 2, 2))


def test_user_can_add_a_candidate_under_its_own_name(tmp_path: Path) -> None:
    body = shipped()
    body["candidates"].append(
        {"name": "resnet_wide", "kind": "resnet", "config": {"filters": [24, 48, 96], "epochs": 3}}
    )
    body["profiles"]["quick"] = ["resnet_wide", "classical"]
    cs = load_candidates(write(tmp_path, body))
    (c, _) = cs.for_profile("quick")
    cfg = c.stage_config("quick", seed=7)
    assert (cfg.run_name, cfg.filters, cfg.epochs, cfg.seed) == ("resnet_wide", (24, 48, 96), 3, 7)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(schema=2), r'expected an object with "schema": 1'),
        (lambda b: b["candidates"][0].update(kind="vit"), r"kind='vit'; choose one of"),
        (
            lambda b: b["candidates"][0].update(name="Base Line"),
            r"name='Base Line'; use lower-case",
        ),
        (lambda b: b["candidates"][0].update(name="export"), r"'export' is reserved"),
        (
            lambda b: b["candidates"][1].update(name="baseline"),
            r"\['baseline'\] used more than once",
        ),
        (lambda b: b["candidates"][0].update(colour="red"), r"unknown key\(s\) \['colour'\]"),
        (
            lambda b: b["profiles"].update(quick=["nope"]),
            r"profiles.quick names 'nope', which is not a candidate",
        ),
        (lambda b: b["profiles"].update(tiny=["resnet"]), r"unknown profile 'tiny'"),
        (
            lambda b: b["profiles"].update(quick=["finetune", "transfer"]),
            r"'transfer' must come before it",
        ),
        (
            lambda b: b["profiles"].update(quick=["classical"]),
            r"names no trainable \(Keras\) candidate",
        ),
        (
            lambda b: b["candidates"][1]["config"].update(epochs=0),
            r"candidate 'resnet' \(quick profile\): epochs=0",
        ),
        (
            lambda b: b["candidates"][1]["config"].update(widths=[8]),
            r"candidate 'resnet' \(quick profile\):.*widths",
        ),
        (
            lambda b: next(c for c in b["candidates"] if c["name"] == "classical")[
                "classical"
            ].update(model="xgboost"),
            r"classical model 'xgboost' is not known",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, mutate, message: str) -> None:  # noqa: ANN001
    body = shipped()
    mutate(body)
    with pytest.raises(ConfigError, match=message):
        load_candidates(write(tmp_path, body))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"candidates file .*nope.json does not exist; copy .*default.json"
    ):
        load_candidates(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_candidates(bad)


def test_models_option_picks_and_checks_names() -> None:
    cs = load_candidates()
    assert [c.name for c in cs.for_profile("full", ("resnet",))] == ["resnet"]
    with pytest.raises(ConfigError, match=r"no candidate named 'resnett'.*candidates are"):
        cs.for_profile("full", ("resnett",))
