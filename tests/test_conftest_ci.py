"""The data-cache fixture skips for a developer but fails loudly on CI."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py").read_text()
USES_CACHE = "def test_needs_data(keras_home):\n    assert keras_home.is_dir()\n"


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_data=USES_CACHE)
    # An empty cache folder: no Fashion-MNIST files in it.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty cache"))
    return pytester


def test_missing_cache_skips_for_a_developer(project, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)


def test_missing_cache_fails_on_ci(project, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no Fashion-MNIST cache*CI=true*"])
