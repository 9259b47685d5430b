"""Fixtures for the formula tests: golden-file comparison (rewritten with ``pytest --update-golden``)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def golden(update_golden: bool) -> Callable[[Path, str], None]:
    """``golden(path, actual)``: compare with the file's text, or rewrite it under --update-golden."""

    def check(path: Path, actual: str) -> None:
        if update_golden or not path.exists():
            if not update_golden:
                pytest.fail(f"golden file {path.name} is missing; run pytest --update-golden and review it")
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    fromfile=f"{path.name} (golden)",
                    tofile=f"{path.name} (actual)",
                )
            )
            pytest.fail(f"output differs from {path.name}; if intended, run pytest --update-golden\n{diff}")

    return check
