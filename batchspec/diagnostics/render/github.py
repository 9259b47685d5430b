"""``github``: GitHub Actions workflow commands (``::error file=…,line=…::message``)."""

from __future__ import annotations

from collections.abc import Sequence

from batchspec.diagnostics.model import Diagnostic, Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        s, e = d.span.start, d.span.end
        props = [f"file={escape_property(d.span.path or 'formula')}", f"line={s.line}", f"col={s.col}"]
        props += [f"endLine={e.line}", f"endColumn={e.col}", f"title={escape_property(f'{d.code} {d.name}')}"]
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(f"::{_LEVEL[d.severity]} {','.join(props)}::{escape_data(message)}\n")
    return "".join(lines)
