from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.spec.rules.base import Example, PoolContext, SpecRule

PLACEHOLDER = re.compile(
    r"\{[A-Za-z][A-Za-z0-9_.-]*\}|<[A-Za-z][A-Za-z0-9_ .-]*>|\b(?:xxx+|your-[a-z-]+|changeme)\b", re.I
)
# where a placeholder is a real mistake (not e.g. a ${VAR} in a command line or a formula)
_SKIP_KEYS = {
    "commandLine",
    "formula",
    "autoScaleFormula",
    "script",
    "filePattern",
    "coordinationCommandLine",
}


class PlaceholderInId(SpecRule):
    """Placeholder text left in an id, name or URL.

    Copied templates often keep ``{subscription-id}``, ``<resource-group>`` or ``your-...`` in ARM resource ids;
    the service then fails at deploy time with a confusing "resource not found" or "invalid resource id".
    """

    code = "SP202"
    name = "placeholder-in-id"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad='{"properties": {"vmSize": "Standard_D2s_v3"}, "identity": {"type": "UserAssigned", '
            '"userAssignedIdentities": {"/subscriptions/{subscription-id}/resourceGroups/rg/providers/'
            'Microsoft.ManagedIdentity/userAssignedIdentities/id1": {}}}}',
            good='{"properties": {"vmSize": "Standard_D2s_v3"}, "identity": {"type": "UserAssigned", '
            '"userAssignedIdentities": {"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/'
            'providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1": {}}}}',
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        yield from self._walk(ctx, ctx.get(ctx.shape.root), ctx.shape.root)

    def _walk(self, ctx: PoolContext, value: Any, path: tuple) -> Iterator[Diagnostic]:
        if isinstance(value, dict):
            for k, v in value.items():
                if k in _SKIP_KEYS:
                    continue
                if isinstance(k, str) and k.startswith("/subscriptions/"):
                    found = [m.group() for m in PLACEHOLDER.finditer(k)]
                    if found:
                        span = ctx.span_of((*path, k), True)
                        m = PLACEHOLDER.search(k)
                        assert m is not None
                        yield self.report_span(
                            self._inside(ctx, span, (*path, k), m.start(), m.end()),
                            _message(found, "resource id"),
                            hint="replace the placeholders with the real values (or template variables)",
                        )
                yield from self._walk(ctx, v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from self._walk(ctx, v, (*path, i))
        elif isinstance(value, str):
            key = path[-1] if path else ""
            if isinstance(key, int) or not _is_id_like(str(key), value):
                return
            found = [m.group() for m in PLACEHOLDER.finditer(value)]
            if found:
                yield self.report(
                    ctx,
                    path,
                    _message(found, f'"{key}"'),
                    hint="replace the placeholders with the real values",
                )

    @staticmethod
    def _inside(ctx: PoolContext, key_span: Span, path: tuple, start: int, end: int) -> Span:
        """Narrow the span to the placeholder when the id is written on one line without escapes
        (a quoted JSON key, or a plain or quoted YAML scalar)."""
        width = key_span.end.col - key_span.start.col
        if key_span.start.line == key_span.end.line and width in (len(str(path[-1])), len(str(path[-1])) + 2):
            line = key_span.start.line
            col = key_span.start.col + (1 if width == len(str(path[-1])) + 2 else 0)
            return Span(key_span.path, Pos(line, col + start), Pos(line, col + end))
        return key_span


def _is_id_like(key: str, value: str) -> bool:
    k = key.lower()
    return (
        value.startswith("/subscriptions/")
        or k.endswith(("id", "ids", "url", "name", "server"))
        or "://" in value
    )


def _message(found: list[str], what: str) -> str:
    quoted = ", ".join(f'"{f}"' for f in dict.fromkeys(found))
    return f"placeholder {quoted} left in {what}"
