"""The distributions an edgetk extra installs, following ``edgetk[...]`` self-references.

``python scripts/extra_deps.py pyproject.toml EXTRA`` prints their names, sorted and
space-separated (arm64_emulated_check.sh installs them); tests/test_install_extras.py checks the
extras with :func:`closure`.
"""

from __future__ import annotations

import re
import sys


def closure(extras: dict[str, list[str]], extra: str) -> set[str]:
    """Requirement names ``extra`` installs; ``extras`` is pyproject's optional-dependencies."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = [extra]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for req in extras[name]:
            m = re.match(r"edgetk\[(.*)\]", req)
            if m:
                todo.extend(x.strip() for x in m.group(1).split(","))
            else:
                out.add(re.split(r"[<>=!;\[ ]", req)[0])
    return out


def main(argv: list[str]) -> None:
    import tomllib  # Python 3.11+

    with open(argv[1], "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    print(" ".join(sorted(closure(extras, argv[2]))))


if __name__ == "__main__":
    main(sys.argv)
