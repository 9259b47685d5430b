"""docs/reliability.md names the test of every hostile case: each named file must exist, and each test of this suite
it names (other areas' tests may be renamed by their owners; a missing file is still caught)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_named_in_reliability_md_exists() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    missing, seen, current = [], 0, None
    for m in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", text):
        path, name, continued = m.groups()
        if path:
            current = path
        else:
            path, name = current, continued
        seen += 1
        file = ROOT / str(path)
        if not file.is_file():
            missing.append(str(path))
        elif name and str(path).startswith("tests/hostile/") and not re.search(rf"^def {name}\b", file.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{name}")
    assert seen > 50 and missing == []
