"""Golden files: every output format for the done-when formula, and concise diagnostics for bad inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from batchspec.diagnostics.render import FORMATS, render
from batchspec.formula import check_formula

GOLDEN = Path(__file__).resolve().parent / "golden"
EXTENSIONS = {
    "text": "txt",
    "concise": "concise",
    "json": "json",
    "sarif": "sarif",
    "github": "github",
    "azure-devops": "azure-devops",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_three_problems_in_every_format(fmt: str, golden: Callable[[Path, str], None]) -> None:
    """A typo, a missing ";" and a type error: three well-placed diagnostics in each format."""
    source = GOLDEN / "formats" / "three.formula"
    text = source.read_text(encoding="utf-8")
    path = "formats/three.formula"
    _formula, diagnostics = check_formula(text, path)
    assert [(d.code, d.span.start.line) for d in diagnostics] == [("FM101", 2), ("FM002", 3), ("FM108", 4)]
    output = render(diagnostics, fmt, files_checked=1, sources={path: text})
    golden(GOLDEN / "formats" / f"three.{EXTENSIONS[fmt]}", output)


ERROR_CASES = sorted((GOLDEN / "errors").glob("*.formula"))


@pytest.mark.parametrize("source", ERROR_CASES, ids=[p.stem for p in ERROR_CASES])
def test_error_cases(source: Path, golden: Callable[[Path, str], None]) -> None:
    text = source.read_text(encoding="utf-8", errors="strict")
    with source.open("rb") as f:
        text = f.read().decode("utf-8")  # keep CR bytes exactly
    path = f"errors/{source.name}"
    _formula, diagnostics = check_formula(text, path)
    assert diagnostics, "every error case must produce diagnostics"
    # inputs mark intent with "// ERROR: CODE": each marked line must carry that code
    for number, line in enumerate(text.split("\n"), start=1):
        if "// ERROR: FM" in line:
            code = line.split("// ERROR: ")[1].split()[0]
            found = {d.code for d in diagnostics if d.span.start.line == number}
            if code == "FM002":
                found = {d.code for d in diagnostics}
            assert code in found, f"line {number}: expected {code}, got {sorted(found)}"
    output = render(diagnostics, "text", files_checked=1, sources={path: text})
    golden(source.with_suffix(".out"), output)


PARSE_CASES = sorted((GOLDEN / "parse").glob("*.formula"))


@pytest.mark.parametrize("source", PARSE_CASES, ids=[p.stem for p in PARSE_CASES])
def test_parse_tree_dump(source: Path, golden: Callable[[Path, str], None]) -> None:
    """The tree (with spans) of a few representative formulas, as reviewable text."""
    from batchspec.formula.ast import dump
    from batchspec.formula.parser import parse, parse_with_lark

    text = source.read_bytes().decode("utf-8")
    fast = parse(text, source.name)
    assert fast.diagnostics == [] and fast.formula is not None
    assert parse_with_lark(text, source.name).formula == fast.formula
    golden(source.with_suffix(".ast"), dump(fast.formula))
