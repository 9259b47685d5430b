"""The lint rule base class: metadata as class attributes, findings through ``report()``.

A rule is a stateless class. ``check(ctx)`` yields ``Finding``s made by ``self.report(...)``, which fills in the
code, the name and the default severity; configuration re-levels severities afterwards (``config.apply_config``),
so rules never look at the configuration except for their own ``Options``.

Documentation comes from the class: the first docstring line is the title, the rest is the body, ``examples`` are
rendered in ``docs/rules.md`` and executed by the tests (``bad`` must produce exactly this code, ``good`` nothing
from this rule).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from batchspec.diagnostics.model import Diagnostic, Related, Severity, Span

if TYPE_CHECKING:
    from batchspec.lint.context import FormulaContext


@dataclass(frozen=True, slots=True)
class Example:
    bad: str
    good: str


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between ``span.start`` and ``span.end`` (1-based, end exclusive) with ``replacement``."""

    span: Span
    replacement: str


@dataclass(frozen=True, slots=True)
class Fix:
    description: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    diagnostic: Diagnostic
    fix: Fix | None = None


class Rule:
    """Base of every lint rule (formula rules subclass ``FormulaRule``)."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    default_severity: ClassVar[Severity] = Severity.WARNING
    examples: ClassVar[tuple[Example, ...]] = ()
    # a frozen dataclass whose fields are the rule's settings ([tool.batchspec.rules.<name>] in the config)
    Options: ClassVar[type | None] = None
    # False: only runs when selected explicitly (by code or name prefix, never by "ALL")
    default_enabled: ClassVar[bool] = True
    fixable: ClassVar[bool] = False

    @classmethod
    def title(cls) -> str:
        doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        return doc.strip().splitlines()[0].strip() if doc.strip() else ""

    @classmethod
    def body(cls) -> str:
        doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        lines = doc.strip().splitlines()
        return "\n".join(lines[1:]).strip()

    @classmethod
    def default_options(cls) -> Any:
        return cls.Options() if cls.Options is not None else None

    @classmethod
    def option_fields(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls.Options) if cls.Options is not None else ()

    def report(
        self,
        span: Span,
        message: str,
        *,
        hint: str | None = None,
        related: tuple[Related, ...] = (),
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            Diagnostic(
                code=self.code,
                name=self.name,
                severity=severity or self.default_severity,
                message=message,
                span=span,
                hint=hint,
                related=related,
            ),
            fix,
        )


class FormulaRule(Rule):
    """A rule over one formula: ``check`` receives the parsed formula and its shared analysis."""

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield
