"""The OData ``$filter`` subset Batch list operations accept.

Comparisons ``eq ne gt ge lt le`` between a property path (``state``, ``executionInfo/exitCode``) and a literal
(``'text'``, numbers, ``true``/``false``/``null``, ``datetime'…'``), ``startswith(path, 'prefix')``, ``and``, ``or``,
``not`` and parentheses. Strings compare case-insensitively, as Batch compares enum values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<lp>\()|(?P<rp>\))"
    r"|(?P<comma>,)|(?P<word>[A-Za-z_$][\w$/.]*))"
)


class FilterError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"unexpected text at position {pos + 1}: {text[pos : pos + 10]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _get(item: dict, path: str):
    cur: object = item
    for part in path.split("/"):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _norm(v):
    return v.lower() if isinstance(v, str) else v


_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def compile_filter(text: str) -> Callable[[dict], bool]:
    toks = _tokens(text)
    pos = 0

    def peek(kind=None, value=None):
        if pos >= len(toks):
            return False
        k, v = toks[pos]
        return (kind is None or k == kind) and (value is None or v.lower() == value)

    def take():
        nonlocal pos
        if pos >= len(toks):
            raise FilterError("the filter ends too early")
        pos += 1
        return toks[pos - 1]

    def literal():
        k, v = take()
        if k == "str":
            return v[1:-1].replace("''", "'")
        if k == "dt":
            return v[9:-1]
        if k == "num":
            return float(v)
        if k == "word" and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if k == "word" and v.lower() == "null":
            return None
        raise FilterError(f"expected a value, got {v!r}")

    def primary():
        if peek("lp"):
            take()
            inner = expr()
            if not peek("rp"):
                raise FilterError("missing ')'")
            take()
            return inner
        if peek("word", "not"):
            take()
            inner = primary()
            return lambda item: not inner(item)
        k, v = take()
        if k != "word":
            raise FilterError(f"expected a property name, got {v!r}")
        if v.lower() == "startswith" and peek("lp"):
            take()
            _, path = take()
            if not peek("comma"):
                raise FilterError("startswith expects two arguments")
            take()
            prefix = literal()
            if not peek("rp"):
                raise FilterError("missing ')'")
            take()
            return lambda item: (
                isinstance(_get(item, path), str)
                and str(_get(item, path)).lower().startswith(str(prefix).lower())
            )
        if not peek("word"):
            raise FilterError(f"expected an operator after {v!r}")
        _, op = take()
        fn = _OPS.get(op.lower())
        if fn is None:
            raise FilterError(f"unknown operator {op!r}")
        value = _norm(literal())
        path = v

        def compare(item):
            got = _norm(_get(item, path))
            if isinstance(value, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
                return fn(float(got), value)
            try:
                return fn(got, value)
            except TypeError:
                return False

        return compare

    def conj():
        left = primary()
        while peek("word", "and"):
            take()
            right = primary()
            left = (lambda a, b: lambda item: a(item) and b(item))(left, right)
        return left

    def expr():
        left = conj()
        while peek("word", "or"):
            take()
            right = conj()
            left = (lambda a, b: lambda item: a(item) or b(item))(left, right)
        return left

    result = expr()
    if pos != len(toks):
        raise FilterError(f"unexpected {toks[pos][1]!r}")
    return result
