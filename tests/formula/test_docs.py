"""docs/formula-reference.md is generated from builtins.py and must stay current."""

from __future__ import annotations

from pathlib import Path

from batchspec.formula import builtins as b
from batchspec.formula import docgen

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_formula_reference_is_current() -> None:
    text = (DOCS / "formula-reference.md").read_text(encoding="utf-8")
    assert docgen.MARKER in text
    assert text.split(docgen.MARKER)[1] == docgen.render().split(docgen.MARKER)[1], (
        "docs/formula-reference.md is out of date; run python -m batchspec.formula.docgen"
    )


def test_reference_lists_every_name() -> None:
    text = docgen.render()
    for name in [*b.SERVICE_VARIABLES, *b.FUNCTIONS, *b.METHODS, *b.TIME_INTERVALS, *b.DEALLOCATION_OPTIONS]:
        assert f"`{name}" in text, name


def test_language_doc_names_every_front_end_code() -> None:
    from batchspec.diagnostics.codes import CHECKS

    text = (DOCS / "formula-language.md").read_text(encoding="utf-8")
    missing = [c.code for c in CHECKS.values() if c.code.startswith("FM") and c.code not in text]
    # codes without a dedicated paragraph are still listed in the generated reference
    assert set(missing) <= {"FM003", "FM005", "FM006", "FM103", "FM104", "FM105", "FM112"}
