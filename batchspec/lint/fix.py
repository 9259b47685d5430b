"""``--fix``: apply the mechanical fixes rules offer (aliases, case, a missing clamp), then re-lint.

Edits of one pass must not overlap; overlapping ones wait for the next pass (at most ``MAX_PASSES``), so every
applied edit was computed on the text it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchspec.diagnostics.model import Diagnostic
from batchspec.lint.config import LintConfig
from batchspec.lint.rule import Edit

MAX_PASSES = 5


@dataclass(frozen=True, slots=True)
class FixResult:
    text: str
    applied: int  # number of fixes applied
    diagnostics: list[Diagnostic]  # what remains after fixing


def _offsets(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def apply_edits(text: str, edits: list[Edit]) -> str:
    starts = _offsets(text)

    def off(line: int, col: int) -> int:
        if line - 1 >= len(starts):
            return len(text)
        return min(len(text), starts[line - 1] + col - 1)

    ranges = sorted(
        (
            (off(e.span.start.line, e.span.start.col), off(e.span.end.line, e.span.end.col), e.replacement)
            for e in edits
        ),
        reverse=True,
    )
    out = text
    for start, end, replacement in ranges:
        out = out[:start] + replacement + out[end:]
    return out


def fix_formula(text: str, path: str = "", config: LintConfig | None = None) -> FixResult:
    from batchspec.lint.runner import lint_formula_result

    applied = 0
    current = text
    for _ in range(MAX_PASSES):
        result = lint_formula_result(current, path, config)
        chosen: list[Edit] = []
        taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
        count = 0
        for _diag, fix in sorted(result.fixes, key=lambda pair: pair[0].sort_key()):
            spans = [
                ((e.span.start.line, e.span.start.col), (e.span.end.line, e.span.end.col)) for e in fix.edits
            ]
            if any(
                not (b_end <= a_start or a_end <= b_start)
                for a_start, a_end in spans
                for b_start, b_end in taken
            ):
                continue
            taken.extend(spans)
            chosen.extend(fix.edits)
            count += 1
        if not chosen:
            return FixResult(current, applied, result.diagnostics)
        new_text = apply_edits(current, chosen)
        if new_text == current:
            return FixResult(current, applied, result.diagnostics)
        current = new_text
        applied += count
    return FixResult(current, applied, lint_formula_result(current, path, config).diagnostics)
