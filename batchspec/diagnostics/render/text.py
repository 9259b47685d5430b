"""``text`` (header, source line, caret, hint, related, summary) and ``concise`` (one line per diagnostic)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from batchspec.diagnostics.model import Diagnostic, Severity

_MAX_WIDTH = 120  # longer source lines are shown as a window around the column
_COLORS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def _header(d: Diagnostic) -> str:
    from batchspec.diagnostics.render import display_path

    s = d.span.start
    return f"{display_path(d.span.path)}:{s.line}:{s.col}: {d.severity.label}[{d.code}] {d.message}"


def render_concise(diagnostics: Sequence[Diagnostic]) -> str:
    return "".join(_header(d) + "\n" for d in diagnostics)


def _source_lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _excerpt(line: str, start_col: int, end_col: int) -> tuple[str, int, int]:
    """The line with tabs expanded (and cut to a window when long), and the caret start and width."""
    before = line[: start_col - 1].replace("\t", "    ")
    marked = line[start_col - 1 : end_col - 1].replace("\t", "    ")
    after = line[end_col - 1 :].replace("\t", "    ")
    caret_start = len(before)
    width = max(1, len(marked))
    shown = before + marked + after
    if len(shown) > _MAX_WIDTH:
        left = max(0, caret_start - _MAX_WIDTH // 3)
        right = min(len(shown), left + _MAX_WIDTH)
        window = shown[left:right]
        prefix = "…" if left > 0 else ""
        suffix = "…" if right < len(shown) else ""
        caret_start = caret_start - left + len(prefix)
        width = min(width, right - (caret_start - len(prefix) + left))
        shown = prefix + window + suffix
    return shown, caret_start, max(1, width)


def render_text(
    diagnostics: Sequence[Diagnostic],
    *,
    files_checked: int,
    sources: Mapping[str, str],
    color: bool = False,
    unreadable: int = 0,
    summary: bool = True,
) -> str:
    """`summary=False` leaves out the closing "found … in N files" line (for callers that sum up themselves)."""
    from batchspec.diagnostics.render import summary_line

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    cache: dict[str, list[str]] = {}
    out: list[str] = []
    for d in diagnostics:
        head = _header(d)
        if color:
            label = f"{d.severity.label}[{d.code}]"
            head = head.replace(label, paint(_COLORS[d.severity], label), 1)
        out.append(head)
        source = sources.get(d.span.path)
        if source is not None:
            lines = cache.setdefault(d.span.path, _source_lines(source))
            s, e = d.span.start, d.span.end
            if 1 <= s.line <= len(lines):
                line = lines[s.line - 1]
                end_col = e.col if e.line == s.line else len(line) + 1
                end_col = max(end_col, s.col + 1)
                shown, caret_start, width = _excerpt(line, s.col, end_col)
                gutter = " " * len(str(s.line))
                caret = "^" + "~" * (width - 1)
                out.append(f"{gutter} |")
                out.append(f"{s.line} | {shown}".rstrip())
                out.append(f"{gutter} | " + " " * caret_start + paint(_COLORS[d.severity], caret))
        if d.hint:
            out.append(f"  = hint: {d.hint}")
        for r in d.related:
            from batchspec.diagnostics.render import display_path

            where = f"{display_path(r.span.path)}:{r.span.start.line}:{r.span.start.col}"
            out.append(f"  = note: {r.message} ({where})")
        out.append("")
    if not summary:
        return "\n".join(out) + "\n" if out else ""
    out.append(paint(_BOLD, summary_line(diagnostics, files_checked, unreadable=unreadable)))
    return "\n".join(out) + "\n"
