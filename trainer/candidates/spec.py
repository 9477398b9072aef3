"""The candidates file: its schema, loading and validation (every mistake named, with the fix).

A candidate is a model ``edgetk run`` trains and may ship: a Keras stage kind (baseline, resnet,
transfer, finetune) with StageConfig fields over that kind's profile preset, or the classical
scikit-learn anchor. A profile lists the candidates it trains by default, in order.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError

SCHEMA = 1
KINDS: tuple[str, ...] = ("baseline", "resnet", "transfer", "finetune", "classical")
CLASSICAL_MODELS: tuple[str, ...] = ("logistic_regression", "rbf_svc")
# Names the pipeline uses for its own stages (a candidate's name becomes a stage and a folder).
RESERVED = (
    "eda", "tune", "export", "bench", "select", "bundle", "report", "models", "exports",
    "crossval", "features", "splits", "refit", "views", "explain",
)  # fmt: skip
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def default_candidates_path() -> Path:
    """The file shipped with edgetk (``trainer/candidates/default.json``)."""
    return Path(__file__).with_name("default.json")


@dataclass(frozen=True)
class ClassicalSpec(JsonConfig):
    """The scikit-learn anchor: a model on raw pixels, trained on a stated stratified subset."""

    model: str = "logistic_regression"
    train_subset: int = 10000  # training images it sees (kernel methods scale badly)
    C: float = 0.05

    def validate(self) -> None:
        if self.model not in CLASSICAL_MODELS:
            raise ConfigError(
                f"classical model {self.model!r} is not known; choose one of {list(CLASSICAL_MODELS)}"
            )
        check_range("classical train_subset", self.train_subset, 100, 1_000_000)
        check_range("classical C", self.C, 1e-6, 1e6)


@dataclass(frozen=True)
class Candidate:
    name: str
    kind: str
    description: str = ""
    resolution: int | str = "native"
    approx_params: int | None = None
    config: dict[str, Any] = field(default_factory=dict)  # StageConfig fields, or ClassicalSpec's
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_classical(self) -> bool:
        return self.kind == "classical"

    def settings(self, profile: str) -> dict[str, Any]:
        """``config`` with the profile's changes applied."""
        return {**self.config, **self.profiles.get(profile, {})}

    def stage_config(self, profile: str, **changes: Any) -> Any:
        """The StageConfig this candidate trains with in ``profile`` (a Keras kind only)."""
        from trainer.training.config import StageConfig

        if self.is_classical:
            raise ConfigError(f"candidate {self.name!r} is classical; it has no StageConfig")
        base = StageConfig.preset(profile, self.kind).to_dict()
        return StageConfig.from_dict(
            {**base, **self.settings(profile), **changes, "name": self.name}
        )

    def classical_spec(self, profile: str) -> ClassicalSpec:
        return ClassicalSpec.from_dict(self.settings(profile))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CandidateSet:
    path: str
    candidates: tuple[Candidate, ...]
    profiles: dict[str, tuple[str, ...]]

    def get(self, name: str) -> Candidate:
        for c in self.candidates:
            if c.name == name:
                return c
        raise ConfigError(
            f"no candidate named {name!r} in {self.path}; candidates are {self.names}"
        )

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.candidates]

    def for_profile(self, profile: str, names: tuple[str, ...] | None = None) -> list[Candidate]:
        """The candidates ``profile`` trains, in order (``names`` replaces the profile's list)."""
        chosen = names if names else self.profiles.get(profile)
        if chosen is None:
            raise ConfigError(
                f"{self.path} lists no candidates for profile {profile!r}; add "
                f'"profiles": {{"{profile}": [...]}} or name them with --candidates-list'
            )
        picked = [self.get(n) for n in chosen]
        _check_order(picked, f"the {profile!r} list" if not names else "--candidates-list")
        for c in picked:  # every config must build in this profile, before any training starts
            _check_buildable(c, profile, self.path)
        return picked


def _check_order(picked: list[Candidate], where: str) -> None:
    seen: set[str] = set()
    for c in picked:
        if c.name in seen:
            raise ConfigError(f"candidate {c.name!r} appears twice in {where}")
        if c.kind == "finetune" and "transfer" not in seen:
            raise ConfigError(
                f"candidate {c.name!r} fine-tunes the 'transfer' candidate, so 'transfer' must come "
                f"before it in {where}"
            )
        seen.add(c.name)
    if not any(not c.is_classical for c in picked):
        raise ConfigError(
            f"{where} names no trainable (Keras) candidate; nothing could be exported"
        )


def _check_buildable(c: Candidate, profile: str, path: str) -> None:
    try:
        c.classical_spec(profile) if c.is_classical else c.stage_config(profile)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: candidate {c.name!r} ({profile} profile): {exc}") from None


def _candidate(raw: Any, i: int, path: str) -> Candidate:
    where = f"{path}: candidates[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object with 'name' and 'kind'")
    known = {"name", "kind", "description", "resolution", "approx_params", "config", "classical"}
    known.add("profiles")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {unknown}; allowed: {sorted(known)}")
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: name={name!r}; use lower-case letters, digits and '_', starting with a letter"
        )
    if name in RESERVED:
        raise ConfigError(f"{where}: name {name!r} is reserved for a pipeline stage; rename it")
    if kind not in KINDS:
        raise ConfigError(f"{where} ({name}): kind={kind!r}; choose one of {list(KINDS)}")
    if kind == "finetune" and name != "finetune":
        raise ConfigError(f"{where}: a finetune candidate must be named 'finetune', not {name!r}")
    config = raw.get("classical" if kind == "classical" else "config", {})
    if kind == "classical" and "config" in raw:
        raise ConfigError(
            f"{where} ({name}): a classical candidate takes 'classical', not 'config'"
        )
    if kind != "classical" and "classical" in raw:
        raise ConfigError(f"{where} ({name}): only kind 'classical' takes a 'classical' object")
    if not isinstance(config, dict):
        raise ConfigError(f"{where} ({name}): its settings must be an object of field: value")
    profiles = raw.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"{where} ({name}): 'profiles' must map a profile name to an object")
    bad = sorted(set(profiles) - {"quick", "full"})
    if bad:
        raise ConfigError(f"{where} ({name}): unknown profile(s) {bad}; use quick, full")
    if "name" in config or "stage" in config:
        raise ConfigError(f"{where} ({name}): 'name' and 'stage' come from the candidate itself")
    return Candidate(
        name=name,
        kind=kind,
        description=str(raw.get("description", "")),
        resolution=raw.get("resolution", "native"),
        approx_params=raw.get("approx_params"),
        config=dict(config),
        profiles={k: dict(v) for k, v in profiles.items()},
    )


def load_candidates(path: str | Path | None = None) -> CandidateSet:
    """Read and validate a candidates file (``None``: the shipped default)."""
    p = Path(path) if path is not None else default_candidates_path()
    if not p.is_file():
        raise ConfigError(
            f"candidates file {p} does not exist; copy {default_candidates_path()} and edit it"
        )
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"candidates file {p} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ConfigError(
            f'candidates file {p}: expected an object with "schema": {SCHEMA}, '
            f"got schema {raw.get('schema') if isinstance(raw, dict) else type(raw).__name__!r}"
        )
    items = raw.get("candidates")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"candidates file {p}: 'candidates' must be a non-empty list")
    cands = tuple(_candidate(c, i, str(p)) for i, c in enumerate(items))
    names = [c.name for c in cands]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"candidates file {p}: name(s) {dupes} used more than once")
    profiles_raw = raw.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise ConfigError(f"candidates file {p}: 'profiles' must map a profile to a list of names")
    profiles: dict[str, tuple[str, ...]] = {}
    for prof, lst in profiles_raw.items():
        if prof not in ("quick", "full"):
            raise ConfigError(f"candidates file {p}: unknown profile {prof!r}; use quick, full")
        if not isinstance(lst, list) or not all(isinstance(n, str) for n in lst):
            raise ConfigError(f"candidates file {p}: profiles.{prof} must be a list of names")
        for n in lst:
            if n not in names:
                raise ConfigError(
                    f"candidates file {p}: profiles.{prof} names {n!r}, which is not a candidate; "
                    f"candidates are {names}"
                )
        profiles[prof] = tuple(lst)
    cs = CandidateSet(str(p), cands, profiles)
    for prof in profiles:
        cs.for_profile(prof)  # order and buildability of every default list, up front
    return cs
