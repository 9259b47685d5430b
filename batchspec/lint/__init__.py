"""batchspec.lint: the formula linter (rule registry, configuration, suppressions, fixes).

Public API: ``lint_formula(text, path="", config=None, *, origin=None) -> list[Diagnostic]``,
``fix_formula(text, path="", config=None) -> FixResult``, ``apply_config`` and ``load_config``.
"""

from __future__ import annotations

from batchspec.lint.config import LintConfig, apply_config, load_config
from batchspec.lint.fix import FixResult, fix_formula
from batchspec.lint.runner import LintResult, lint_formula, lint_formula_result

__all__ = [
    "FixResult",
    "LintConfig",
    "LintResult",
    "apply_config",
    "fix_formula",
    "lint_formula",
    "lint_formula_result",
    "load_config",
]
