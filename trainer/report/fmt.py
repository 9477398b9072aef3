"""How the report writes numbers: one place, so every section prints a value the same way."""

from __future__ import annotations


def pct(v: float | None, digits: int = 2) -> str:
    """A fraction as a percentage (``0.9342`` -> ``93.42 %``); "-" when unknown."""
    return "-" if v is None else f"{100 * v:.{digits}f} %"


def num(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def mb(v: float | None) -> str:
    """Bytes as MB (10^6)."""
    return "-" if v is None else f"{v / 1e6:.2f} MB"


def ms(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f} ms"


def minutes(seconds: float | None) -> str:
    return "-" if not seconds else f"{seconds / 60:.1f} min"


def count(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


__all__ = ["count", "mb", "minutes", "ms", "num", "pct"]
