"""Real Fashion-MNIST and real ImageNet weights (slow tier): the stages learn the real task."""

from __future__ import annotations

import pytest

from trainer.data import DataConfig
from trainer.training import Stage, StageConfig

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_quick_profile_on_real_data(keras_home, space_dir) -> None:
    from trainer.registry import get_model
    from trainer.training import run_profile

    data = DataConfig(train_size=3000, test_size=1000)
    configs = {s.value: StageConfig.quick(s).replace(latency_runs=5, gradcam=False) for s in Stage}
    result = run_profile(space_dir / "run", "quick", data, configs=configs)
    acc = {k: r.metrics["accuracy"] for k, r in result.results.items()}
    # Chance is 10 %; even a few epochs on 2,700 images are far above it.
    assert acc["baseline"] > 0.6, acc
    assert acc["transfer"] > 0.6, acc
    assert acc["finetune"] > 0.6, acc
    meta = get_model(space_dir / "run", "finetune").metadata
    assert meta["labels"][0] == "T-shirt/top" and meta["input"]["height"] == 28
    assert meta["config"]["unfreeze_fraction"] == pytest.approx(1 / 3)
