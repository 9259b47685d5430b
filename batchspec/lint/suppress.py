"""Inline suppressions in formulas: ``// batchspec: ignore[FM201, unused-variable]``.

Scope (decided here, documented in docs/rules.md):

* a directive **after code on the same line** covers that line;
* a directive **alone on its line** covers the next line that holds code (blank and comment-only lines between are
  skipped);
* when the covered line starts a statement that spans several lines, the whole statement is covered.

A diagnostic is suppressed when it starts on a covered line and its code or name is listed (exact code or exact
name; no prefixes, so a suppression never hides more than its author saw). A listed key that suppresses nothing
is reported as ``BS003 unused-suppression``; a key that names no code or rule, or a directive that does not parse,
as ``BS004 unknown-suppression``. Parser errors (``FM0xx``) cannot be suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span

_DIRECTIVE = re.compile(r"//\s*batchspec\s*:\s*(?P<rest>.*)$")
_IGNORE = re.compile(r"ignore\s*\[(?P<keys>[^\]]*)\]")
_UNSUPPRESSIBLE = re.compile(r"^(FM0\d\d|BS00[1-4])$")


@dataclass(slots=True)
class SuppressionKey:
    key: str
    span: Span
    used: bool = False


@dataclass(slots=True)
class Suppression:
    line: int  # the line of the comment
    target_line: int  # the line it covers (0 = nothing follows)
    keys: list[SuppressionKey] = field(default_factory=list)
    covered: tuple[int, int] = (0, 0)  # first and last covered line


@dataclass(slots=True)
class ParsedSuppressions:
    suppressions: list[Suppression]
    problems: list[Diagnostic]


def find_comments(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, comment text, code before it on the line) for each ``//`` comment outside strings."""
    out: list[tuple[int, int, str, bool]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "//" not in line:
            continue
        in_string = False
        i = 0
        n = len(line)
        while i < n:
            ch = line[i]
            if ch == '"':
                in_string = not in_string
            elif not in_string and ch == "/" and i + 1 < n and line[i + 1] == "/":
                out.append((number, i + 1, line[i:], bool(line[:i].strip())))
                break
            i += 1
    return out


def parse_suppressions(
    text: str,
    path: str,
    statement_lines: Sequence[tuple[int, int]] = (),
    known: set[str] | frozenset[str] | None = None,
) -> ParsedSuppressions:
    """Find every directive; ``statement_lines`` are (first, last) lines of each statement, for multi-line cover."""
    if "batchspec" not in text:
        return ParsedSuppressions([], [])
    comments = find_comments(text)
    lines = text.splitlines()
    comment_only = {ln for ln, _col, _t, code_before in comments if not code_before}
    starts = {first: last for first, last in statement_lines}
    out: list[Suppression] = []
    problems: list[Diagnostic] = []
    for line_no, col, comment, code_before in comments:
        m = _DIRECTIVE.match(comment)
        if not m:
            continue
        rest = m.group("rest")
        rest_col = col + m.start("rest")
        im = _IGNORE.match(rest)
        if not im:
            problems.append(
                _problem(
                    "BS004",
                    "unknown-suppression",
                    Span(path, Pos(line_no, col), Pos(line_no, col + len(comment))),
                    "malformed batchspec directive",
                    'write "// batchspec: ignore[CODE-or-name, …]"',
                )
            )
            continue
        if code_before:
            target = line_no
        else:
            target = 0
            for candidate in range(line_no + 1, len(lines) + 1):
                if lines[candidate - 1].strip() and candidate not in comment_only:
                    target = candidate
                    break
        sup = Suppression(line=line_no, target_line=target)
        if target:
            sup.covered = (target, max(target, starts.get(target, target)))
            # a trailing directive on the last line of a multi-line statement covers the statement too
            for first, last in statement_lines:
                if first <= target <= last and code_before:
                    sup.covered = (min(sup.covered[0], first), max(sup.covered[1], last))
        keys_start = rest_col + im.start("keys")
        raw = im.group("keys")
        offset = 0
        for piece in raw.split(","):
            key = piece.strip()
            lead = len(piece) - len(piece.lstrip())
            key_col = keys_start + offset + lead
            offset += len(piece) + 1
            if not key:
                continue
            span = Span(path, Pos(line_no, key_col), Pos(line_no, key_col + len(key)))
            if known is not None and key not in known and key.upper() not in known:
                problems.append(
                    _problem(
                        "BS004",
                        "unknown-suppression",
                        span,
                        f'suppression names unknown code or rule "{key}"',
                        None,
                    )
                )
                continue
            sup.keys.append(SuppressionKey(key, span))
        out.append(sup)
    return ParsedSuppressions(out, problems)


def _problem(code: str, name: str, span: Span, message: str, hint: str | None) -> Diagnostic:
    return Diagnostic(code=code, name=name, severity=Severity.WARNING, message=message, span=span, hint=hint)


def apply_suppressions(
    diagnostics: Iterable[Diagnostic],
    parsed: ParsedSuppressions,
    *,
    is_enabled: object = None,
) -> list[Diagnostic]:
    """Drop suppressed diagnostics; add BS003 for keys that suppressed nothing and BS004 problems.

    ``is_enabled(code_or_name) -> bool`` (optional) tells whether a key's rule runs at all under the configuration;
    a key for a disabled rule is not reported as unused.
    """
    kept: list[Diagnostic] = []
    for d in diagnostics:
        if _UNSUPPRESSIBLE.match(d.code) or not parsed.suppressions:
            kept.append(d)
            continue
        line = d.span.start.line
        hit = False
        for sup in parsed.suppressions:
            first, last = sup.covered
            if not first or not (first <= line <= last):
                continue
            for key in sup.keys:
                if key.key == d.code or key.key == d.name or key.key.upper() == d.code:
                    key.used = True
                    hit = True
        if not hit:
            kept.append(d)
    for sup in parsed.suppressions:
        for key in sup.keys:
            if key.used:
                continue
            if callable(is_enabled) and not is_enabled(key.key):
                continue
            kept.append(
                _problem(
                    "BS003",
                    "unused-suppression",
                    key.span,
                    f'suppression of "{key.key}" suppresses nothing',
                    "remove it"
                    if sup.target_line
                    else "a directive alone on the last line covers nothing; remove it",
                )
            )
    kept.extend(parsed.problems)
    return kept
