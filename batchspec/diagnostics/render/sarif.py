"""``sarif``: SARIF 2.1.0 as plain JSON; rule metadata from diagnostics/codes.py (and the lint registry if present)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from batchspec.diagnostics.model import Diagnostic, Severity, Span

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    if path == "-":
        return "stdin"
    return path or "formula"


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.start.line,
        "startColumn": span.start.col,
        "endLine": span.end.line,
        "endColumn": span.end.col,
    }


def _rule_metadata(
    code: str, name: str, severity: Severity, summaries: Mapping[str, str]
) -> dict[str, object]:
    from batchspec.diagnostics.codes import CHECKS

    check = CHECKS.get(code)
    rule: dict[str, object] = {"id": code, "name": name}
    summary = check.summary if check is not None else summaries.get(code)
    if summary:
        # code-scanning UIs (GitHub, Azure DevOps) show this as the rule's title
        rule["shortDescription"] = {"text": summary}
    rule["defaultConfiguration"] = {"level": _LEVEL[check.severity if check is not None else severity]}
    return rule


def render_sarif(diagnostics: Sequence[Diagnostic], rule_summaries: Mapping[str, str] | None = None) -> str:
    """``rule_summaries`` (code -> one-line title) covers codes outside diagnostics/codes.py: lint and spec rules,
    which this layer may not import; the CLI passes them in."""
    from batchspec import __version__

    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}
    for d in sorted(diagnostics, key=lambda d: d.code):
        if d.code not in index:
            index[d.code] = len(rules)
            rules.append(_rule_metadata(d.code, d.name, d.severity, rule_summaries or {}))
    results = []
    for d in diagnostics:
        text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        result: dict[str, object] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _LEVEL[d.severity],
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.span.path)},
                        "region": _region(d.span),
                    }
                }
            ],
        }
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "message": {"text": r.message},
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(r.span.path)},
                        "region": _region(r.span),
                    },
                }
                for i, r in enumerate(d.related)
            ]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "batchspec",
                        "version": __version__,
                        "informationUri": "https://github.com/batchspec/batchspec",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
