"""The autoscale formula language: grammar, typed AST, builtins table, type checker, printer.

Public API: ``parse_formula(text, path) -> (Formula | None, diagnostics)`` and
``check_formula(text, path) -> (Formula | None, diagnostics)``; both never raise.
"""

from __future__ import annotations

from batchspec.formula.check import check_formula
from batchspec.formula.parser import parse_formula

__all__ = ["check_formula", "parse_formula"]
