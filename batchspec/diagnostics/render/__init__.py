"""Render diagnostics for people (text, concise) and machines (json, sarif, github, azure-devops).

``render(diagnostics, fmt, *, files_checked, sources=None, color=False) -> str``: the whole output document, ending
with a newline (empty for github/azure-devops when there is nothing to report). ``sources`` maps a path to its text
so ``text`` can show the offending line. Diagnostics are sorted and de-duplicated here, so output is byte-stable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from batchspec.diagnostics.model import Diagnostic, Severity, sort_and_dedupe

FORMATS = ("text", "concise", "json", "sarif", "github", "azure-devops")
CHOICES = ("auto", *FORMATS)


def resolve_format(fmt: str, env: Mapping[str, str] | None = None) -> str:
    """``auto`` → ``github`` under GitHub Actions, ``azure-devops`` under Azure Pipelines, else ``text``."""
    if fmt != "auto":
        return fmt
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("TF_BUILD"):
        return "azure-devops"
    return "text"


def counts(diagnostics: Sequence[Diagnostic]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for d in diagnostics:
        out[d.severity.label] += 1
    return out


def summary_line(diagnostics: Sequence[Diagnostic], files_checked: int, *, unreadable: int = 0) -> str:
    """`unreadable`: paths that could not be read at all (their errors went to stderr)."""
    c = counts(diagnostics)
    files = f"{files_checked} file" + ("" if files_checked == 1 else "s")
    parts = []
    for label in ("error", "warning", "info"):
        n = c[label]
        if n:
            parts.append(f"{n} {label}" + ("" if n == 1 or label == "info" else "s"))
    # "no problems found" would read as a pass when a path was never checked
    not_read = f"{unreadable} path{'' if unreadable == 1 else 's'} could not be read" if unreadable else ""
    if not parts:
        if not_read:
            return f"{not_read}; no problems found in the {files} checked" if files_checked else f"nothing checked: {not_read}"
        return f"no problems found in {files}"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"found {listed} in {files}" + (f"; {not_read}" if not_read else "")


def display_path(path: str) -> str:
    return path or "<formula>"


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    files_checked: int,
    sources: Mapping[str, str] | None = None,
    color: bool = False,
    unreadable: int = 0,
    rule_summaries: Mapping[str, str] | None = None,
) -> str:
    """`unreadable` (paths that could not be read) only changes the text format's summary line;
    `rule_summaries` (code -> title, for codes outside diagnostics/codes.py) only feeds SARIF's rule metadata."""
    fmt = resolve_format(fmt)
    items = sort_and_dedupe(list(diagnostics))
    if fmt == "text":
        from batchspec.diagnostics.render.text import render_text

        return render_text(
            items, files_checked=files_checked, sources=sources or {}, color=color, unreadable=unreadable
        )
    if fmt == "concise":
        from batchspec.diagnostics.render.text import render_concise

        return render_concise(items)
    if fmt == "json":
        from batchspec.diagnostics.render.json_ import render_json

        return render_json(items, files_checked=files_checked)
    if fmt == "sarif":
        from batchspec.diagnostics.render.sarif import render_sarif

        return render_sarif(items, rule_summaries)
    if fmt == "github":
        from batchspec.diagnostics.render.github import render_github

        return render_github(items)
    if fmt == "azure-devops":
        from batchspec.diagnostics.render.azure_devops import render_azure_devops

        return render_azure_devops(items)
    raise ValueError(f'unknown output format "{fmt}"; expected one of {", ".join(CHOICES)}')


__all__ = ["CHOICES", "FORMATS", "Severity", "counts", "render", "resolve_format", "summary_line"]
