"""The corpus of real formulas (tests/corpus/formulas): every valid one is clean, every invalid one gets exactly
the diagnostics recorded next to it (``<name>.expected``, rewritten by ``pytest --update-golden``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from batchspec.diagnostics.model import Severity
from batchspec.formula import check_formula
from batchspec.formula.ast import strip_spans
from batchspec.formula.printer import format_formula

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "formulas"
VALID = sorted(CORPUS.glob("*.formula"))
INVALID = sorted((CORPUS / "invalid").glob("*.formula"))


def test_corpus_is_not_empty() -> None:
    assert len(VALID) >= 30 and len(INVALID) >= 3


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_real_formula_is_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("// source: "), "every corpus file cites where it comes from"
    formula, diagnostics = check_formula(text, path.name)
    assert [d for d in diagnostics if d.severity is Severity.ERROR] == []
    assert formula is not None
    # the formatter keeps the meaning (same tree, same comments) and is stable on real formulas
    formatted = format_formula(formula)
    assert format_formula(formatted) == formatted
    reparsed, _ = check_formula(formatted)
    assert reparsed is not None
    assert strip_spans(reparsed, drop_parens=True, drop_comments=True) == strip_spans(
        formula, drop_parens=True, drop_comments=True
    )
    assert [c.text for c in reparsed.comments] == [c.text.rstrip() for c in formula.comments]


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_real_formula_gets_recorded_diagnostics(
    path: Path, golden: Callable[[Path, str], None]
) -> None:
    text = path.read_text(encoding="utf-8")
    _formula, diagnostics = check_formula(text, path.name)
    assert any(d.severity is Severity.ERROR for d in diagnostics)
    lines = "".join(
        f"{d.span.start.line}:{d.span.start.col}: {d.severity.label}[{d.code}] {d.message}\n"
        for d in diagnostics
    )
    golden(path.with_suffix(".expected"), lines)
