"""A small quote-aware scanner for start-task scripts: simple commands and the operators between them.

Not a shell parser: it finds ``&&``, ``||``, ``;``, ``|``, ``&`` and newlines outside quotes, which is what the
built-in start-task checks need, and keeps character offsets so findings are positioned exactly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    text: str
    op_before: str | None  # operator that precedes this command ("&&", "||", ";", "|", "\n", "&") or None


def segments(script: str) -> list[Segment]:
    out: list[Segment] = []
    i = 0
    n = len(script)
    start = 0
    op: str | None = None
    quote: str | None = None
    while i < n:
        c = script[i]
        if quote == "'":
            if c == "'":
                quote = None
            i += 1
            continue
        if c == "\\":
            i += 2
            continue
        if quote == '"':
            if c == '"':
                quote = None
            i += 1
            continue
        if c in "'\"":
            quote = c
            i += 1
            continue
        if c == "#" and (i == 0 or script[i - 1] in " \t\n;|&("):
            nl = script.find("\n", i)
            i = n if nl < 0 else nl
            continue
        two = script[i : i + 2]
        if two in ("&&", "||") or c in ";|\n&":
            token = two if two in ("&&", "||") else c
            out.append(Segment(start, i, script[start:i], op))
            op = token
            i += len(token)
            start = i
            continue
        i += 1
    out.append(Segment(start, n, script[start:n], op))
    return [s for s in out if s.text.strip()]


def operators(script: str) -> list[tuple[int, str]]:
    """(offset, operator) for every control operator outside quotes."""
    result = []
    segs = segments(script)
    for s in segs:
        if s.op_before is not None:
            # the operator sits right before the segment, after any whitespace
            j = s.start - len(s.op_before)
            result.append((j, s.op_before))
    return result


def words(text: str) -> list[tuple[int, str]]:
    """Whitespace-separated words with their offsets (quotes kept, good enough for option checks); comments are
    not words."""
    out = []
    text = text.replace("\\\n", "  ")  # a line continuation separates words; same length keeps the offsets
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            break
        if text[i] == "#":  # a word that starts with # starts a comment (pip install x  # why: ...)
            nl = text.find("\n", i)
            if nl < 0:
                break
            i = nl
            continue
        j = i
        quote = None
        while j < n and (quote or text[j] not in " \t\n"):
            if quote:
                if text[j] == quote:
                    quote = None
            elif text[j] in "'\"":
                quote = text[j]
            j += 1
        out.append((i, text[i:j]))
        i = j
    return out
