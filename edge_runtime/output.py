"""Writers for ``edgetk predict`` results: an aligned table, JSON lines, or CSV."""

from __future__ import annotations

import json
from typing import TextIO

from edge_runtime.predict_files import FileResult


class ResultWriter:
    """Streams one line per file to ``out``; errors appear as rows too (JSON lines / CSV)."""

    def __init__(self, fmt: str, out: TextIO, label_width: int = 12) -> None:
        self.fmt = fmt
        self.out = out
        self.width = label_width
        self._csv = None
        if fmt == "csv":
            import csv

            self._csv = csv.writer(out, lineterminator="\n")
        if self._csv:
            self._csv.writerow(
                ["path", "label", "probability", "top_k", "latency_ms", "true_label", "error"]
            )
        elif fmt == "table":
            out.write(f"{'label':<{self.width}}  {'prob':>6}  {'ms':>7}  path  [top-k]\n")

    def write(self, r: FileResult) -> None:
        p = r.prediction
        if self.fmt == "jsonl":
            d = {"path": str(r.path)}
            if p is None:
                d["error"] = r.error
            else:
                d.update(p.to_dict())
                if r.true_label is not None:
                    d["true_label"] = r.true_label
            self.out.write(json.dumps(d) + "\n")
        elif self._csv is not None:
            if p is None:
                self._csv.writerow([str(r.path), "", "", "", "", "", r.error])
            else:
                top = "|".join(f"{lab}:{prob:.6f}" for lab, prob in p.top_k)
                self._csv.writerow(
                    [
                        str(r.path),
                        p.label,
                        f"{p.probability:.6f}",
                        top,
                        f"{p.latency_ms:.4f}",
                        r.true_label or "",
                        "",
                    ]
                )
        elif p is not None:
            top = ", ".join(f"{lab} {prob:.3f}" for lab, prob in p.top_k[1:])
            mark = "" if r.true_label in (None, p.label) else f"  (true: {r.true_label})"
            self.out.write(
                f"{p.label:<{self.width}}  {p.probability:6.3f}  {p.latency_ms:7.2f}  {r.path}"
                f"{'  [' + top + ']' if top else ''}{mark}\n"
            )
        self.out.flush()


__all__ = ["ResultWriter"]
