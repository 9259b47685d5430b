"""``json``: version 1, described by schemas/output-v1.schema.json (adding a field needs no version bump)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from batchspec.diagnostics.model import Diagnostic, Span

VERSION = 1


def _pos(span: Span) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": span.start.line, "column": span.start.col},
        "end": {"line": span.end.line, "column": span.end.col},
    }


def diagnostic_to_dict(d: Diagnostic) -> dict[str, object]:
    return {
        "code": d.code,
        "name": d.name,
        "severity": d.severity.label,
        "message": d.message,
        "hint": d.hint,
        "path": d.span.path,
        **_pos(d.span),
        "related": [{"path": r.span.path, **_pos(r.span), "message": r.message} for r in d.related],
    }


def document(diagnostics: Sequence[Diagnostic], *, files_checked: int) -> dict[str, object]:
    from batchspec.diagnostics.render import counts

    return {
        "version": VERSION,
        "diagnostics": [diagnostic_to_dict(d) for d in diagnostics],
        "summary": {"files": files_checked, **counts(diagnostics)},
    }


def render_json(diagnostics: Sequence[Diagnostic], *, files_checked: int) -> str:
    return json.dumps(document(diagnostics, files_checked=files_checked), indent=2, ensure_ascii=False) + "\n"
