"""The diagnostic model shared by the formula front end, the linter, spec validation, simulate and apply.

Positions are 1-based (line and column, columns counted in Unicode code points) and spans end exclusively, the
same convention as Lark, SARIF and the Batch service's own ``Line L, Col C`` messages. Renderers convert to their
consumer's convention; nothing else converts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f'unknown severity "{text}"; expected one of error, warning, info') from None


@dataclass(frozen=True, slots=True, order=True)
class Pos:
    line: int  # 1-based
    col: int  # 1-based, Unicode code points


@dataclass(frozen=True, slots=True, order=True)
class Span:
    path: str  # POSIX, as the user gave it (relative where possible); "-" for stdin; "" when unknown
    start: Pos
    end: Pos  # exclusive; start == end is a point

    @staticmethod
    def point(path: str, line: int, col: int) -> Span:
        p = Pos(line, col)
        return Span(path, p, p)

    def with_path(self, path: str) -> Span:
        return replace(self, path=path)


@dataclass(frozen=True, slots=True)
class Related:
    span: Span
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    code: str  # "FM101": two letters for the area, three digits
    name: str  # "undefined-variable": kebab-case, accepted by config and suppressions like the code
    severity: Severity
    message: str  # lowercase, one clause, no trailing period
    span: Span
    hint: str | None = None
    related: tuple[Related, ...] = field(default=())

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.start.line, self.span.start.col, self.code, self.message)


def sort_and_dedupe(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> list[Diagnostic]:
    """Byte-stable output: sort by (path, line, col, code, message) and drop exact duplicates."""
    seen: set[Diagnostic] = set()
    out: list[Diagnostic] = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out
