"""bench/formula.py must not rot: its inputs exist and are clean, distinct, seed-sized formulas (no timing here)."""

from __future__ import annotations

from batchspec.formula import check_formula
from bench import formula as bench_formula


def test_bench_inputs_are_clean_distinct_seed_sized_formulas() -> None:
    seed = bench_formula._seed_text()
    variants = bench_formula._variants(seed, 50)
    assert len(set(variants)) == 50
    for text in variants:
        formula, diagnostics = check_formula(text)
        assert formula is not None and diagnostics == []
        assert abs(len(text) - len(seed)) < 10
