"""Pool-level rules (SP2xx): base class and the context they read.

A rule is a stateless class with its metadata in class attributes (style.md §4). ``check(ctx)`` yields
diagnostics made with ``self.report(ctx, path, message)``: rules name a JSON path in the pool body (or a
character range inside the formula or the start-task script) and the context turns it into a file position.
Rules never count lines.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from batchspec.diagnostics.model import Diagnostic, Severity, Span
from batchspec.spec.loader import JsonPath
from batchspec.spec.shapes import PoolShape, get


@dataclass(frozen=True)
class Example:
    """``bad`` / ``good``: pool bodies (management plane) as JSON text; executed by the tests."""

    bad: str
    good: str


@dataclass
class TextSource:
    """A text inside the pool (formula, start-task script) and how to position a range of it in the file."""

    text: str
    locate: Callable[[int, int], Span]  # (start offset, end offset) in text -> span in the file
    exact: bool = True
    joined_with: str | None = None  # start task steps joined with this (e.g. " && ")


@dataclass
class PoolContext:
    data: Any  # the whole document (or rendered body)
    shape: PoolShape
    span_of: Callable[[JsonPath, bool], Span]
    formula: TextSource | None = None
    script: TextSource | None = None
    source_is_spec: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def path(self, concept: str) -> JsonPath:
        return self.shape.path(concept)

    def get(self, path: JsonPath) -> Any:
        return get(self.data, path)

    def props(self) -> dict[str, Any]:
        p = get(self.data, self.shape.props)
        return p if isinstance(p, dict) else {}

    def elevation(self) -> str | None:
        ui = self.get((*self.path("startTask"), "userIdentity"))
        if isinstance(ui, dict) and isinstance(ui.get("autoUser"), dict):
            lvl = ui["autoUser"].get("elevationLevel")
            return str(lvl).lower() if lvl is not None else None
        return None


class SpecRule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    default_severity: ClassVar[Severity] = Severity.WARNING
    examples: ClassVar[tuple[Example, ...]] = ()

    @classmethod
    def title(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0].strip() if doc.strip() else ""

    @classmethod
    def body(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return "\n".join(doc.strip().splitlines()[1:]).strip()

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:  # pragma: no cover - abstract
        raise NotImplementedError

    def report(
        self,
        ctx: PoolContext,
        path: JsonPath,
        message: str,
        *,
        hint: str | None = None,
        key: bool = False,
        severity: Severity | None = None,
    ) -> Diagnostic:
        return self.report_span(ctx.span_of(path, key), message, hint=hint, severity=severity)

    def report_span(
        self, span: Span, message: str, *, hint: str | None = None, severity: Severity | None = None
    ) -> Diagnostic:
        return Diagnostic(
            code=self.code,
            name=self.name,
            severity=severity or self.default_severity,
            message=message,
            span=span,
            hint=hint,
        )

    def report_text(
        self,
        src: TextSource,
        start: int,
        end: int,
        message: str,
        *,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> Diagnostic:
        if not src.exact:
            extra = "the position inside the string could not be mapped exactly; it points at the string"
            hint = f"{hint}; {extra}" if hint else extra
        return self.report_span(src.locate(start, end), message, hint=hint, severity=severity)
