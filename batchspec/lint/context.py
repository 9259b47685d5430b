"""What a formula rule sees: the text, the parsed formula, the shared analysis and its own options."""

from __future__ import annotations

import functools
from typing import Any

from batchspec.diagnostics.model import Span
from batchspec.formula import ast
from batchspec.lint.analysis import Analysis, analyse
from batchspec.lint.config import LintConfig


class FormulaContext:
    def __init__(self, text: str, path: str, formula: ast.Formula, config: LintConfig) -> None:
        self.text = text
        self.path = path
        self.formula = formula
        self.config = config

    @functools.cached_property
    def analysis(self) -> Analysis:
        return analyse(self.formula)

    @functools.cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                starts.append(i + 1)
        return starts

    def offset(self, line: int, col: int) -> int:
        starts = self._line_starts
        if line - 1 >= len(starts):
            return len(self.text)
        return min(len(self.text), starts[line - 1] + col - 1)

    def source(self, span: Span) -> str:
        """The text of a span, as written."""
        return self.text[
            self.offset(span.start.line, span.start.col) : self.offset(span.end.line, span.end.col)
        ]

    def options(self, rule: Any) -> Any:
        return self.config.options_for(rule)
