"""Helpers for the lint tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.diagnostics.model import Diagnostic
from batchspec.lint import LintConfig, lint_formula

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def only(code: str) -> LintConfig:
    return LintConfig(select=(code,))


def lint_only(text: str, code: str) -> list[Diagnostic]:
    return lint_formula(text, "case.formula", only(code))


def concise(diagnostics: list[Diagnostic]) -> str:
    return "".join(
        f"{d.span.path}:{d.span.start.line}:{d.span.start.col}: {d.severity.label}[{d.code}] {d.message}\n"
        for d in diagnostics
    )


@pytest.fixture
def repo() -> Path:
    return REPO
