"""Read YAML and JSON documents into plain data plus a map from JSON paths to source positions.

Both readers are hardened against hostile input: size limit, nesting limit, alias-expansion budget (YAML "billion
laughs"), duplicate keys, tabs, unsupported YAML tags. Every problem is a positioned ``Diagnostic`` inside a
``DocumentError``; nothing here raises anything else on bad input.

Strings keep a per-character offset table (``StringMap``) so a position inside a decoded string (a formula inside a
JSON string with ``\\r\\n`` escapes, a script in a YAML block scalar) maps back to the exact line and column in the
file. Where exact mapping is impossible (folded or multi-line flow scalars) the map says so (``exact=False``) and
callers point at the start of the string instead of guessing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.errors import BatchspecError

MAX_BYTES = 10 * 1024 * 1024  # a pool or job spec is kilobytes; anything this big is a mistake or an attack
MAX_DEPTH = 64  # real pool bodies nest about 8 deep
MAX_NODES = 500_000  # total values after alias expansion (stops YAML anchor bombs)

JsonPath = tuple[str | int, ...]


def format_path(path: JsonPath) -> str:
    """``("properties", "metadata", 0, "name")`` -> ``properties.metadata[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(document)"


class LineIndex:
    """Offset <-> (line, col), both 1-based, columns in code points."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for m in re.finditer("\n", text):
            self.starts.append(m.end())

    def pos(self, offset: int) -> Pos:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return Pos(line + 1, offset - self.starts[line] + 1)

    def offset(self, pos: Pos) -> int:
        line = min(max(pos.line, 1), len(self.starts)) - 1
        return min(self.starts[line] + pos.col - 1, len(self.text))


@dataclass(frozen=True, slots=True)
class StringMap:
    """Where each character of a decoded string came from in the source file.

    ``positions[i]`` is the source position of decoded character ``i``; ``positions[len]`` is the position just
    after the last character. ``exact`` is False when the scalar style makes per-character mapping unreliable.
    """

    positions: tuple[Pos, ...] = ()
    exact: bool = True
    # lazy form (JSON strings): source offsets, turned into positions only when asked for
    offsets: tuple[int, ...] | None = None
    lines: LineIndex | None = None

    def at(self, index: int) -> Pos:
        if self.offsets is not None and self.lines is not None:
            return self.lines.pos(self.offsets[max(0, min(index, len(self.offsets) - 1))])
        if not self.positions:
            return Pos(1, 1)
        return self.positions[max(0, min(index, len(self.positions) - 1))]


@dataclass(frozen=True, slots=True)
class Location:
    span: Span  # the value
    key_span: Span | None = None  # the key, for members of a mapping
    string_map: StringMap | None = None  # for string values


@dataclass
class Document:
    path: str
    text: str
    data: Any
    locations: dict[JsonPath, Location] = field(default_factory=dict)
    kind: str = "yaml"  # "yaml" | "json"

    def span(self, path: JsonPath, *, key: bool = False) -> Span:
        """Span of the value (or key) at ``path``; falls back to the nearest existing ancestor."""
        p = tuple(path)
        while p not in self.locations and p:
            p = p[:-1]
        loc = self.locations.get(p)
        if loc is None:
            return Span.point(self.path, 1, 1)
        if key and loc.key_span is not None and p == tuple(path):
            return loc.key_span
        return loc.span

    def has(self, path: JsonPath) -> bool:
        return tuple(path) in self.locations


class DocumentError(BatchspecError):
    """The document could not be read; carries positioned diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        s = first.span
        super().__init__(f"{s.path}:{s.start.line}:{s.start.col}: {first.message}", exit_code=2)
        self.diagnostics = diagnostics


def _diag(code: str, name: str, message: str, span: Span, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code=code, name=name, severity=Severity.ERROR, message=message, span=span, hint=hint)


def _fail(code: str, name: str, message: str, span: Span, hint: str | None = None) -> DocumentError:
    return DocumentError([_diag(code, name, message, span, hint)])


def check_size(path: str, size: int) -> None:
    if size > MAX_BYTES:
        raise _fail(
            "SP006",
            "file-too-large",
            f"file has {size} bytes; batchspec reads documents of at most {MAX_BYTES} bytes",
            Span.point(path, 1, 1),
            hint="pool and job specs are small; check that this is the file you meant",
        )


def load_text(path: str, text: str, *, kind: str | None = None) -> Document:
    """Parse ``text`` as JSON (``kind="json"`` or a ``.json`` path) or YAML."""
    check_size(path, len(text.encode("utf-8", "surrogatepass")) if len(text) > MAX_BYTES // 4 else len(text))
    if kind is None:
        kind = "json" if path.lower().endswith(".json") else "yaml"
    if text.startswith("\ufeff"):
        text = text[1:]
    if kind == "json":
        return _JsonReader(path, text).document()
    return _YamlReader(path, text).document()


# --------------------------------------------------------------------------------------------------- JSON


_WS = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_PLAIN_STR = re.compile(r'[^"\\\x00-\x1f]*')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _JsonReader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.index = LineIndex(text)
        self.locations: dict[JsonPath, Location] = {}
        self.i = 0
        self.nodes = 0

    def document(self) -> Document:
        self._ws()
        if self.i >= len(self.text):
            raise self._err("document is empty; expected a JSON value")
        data = self._value((), 0, None)
        self._ws()
        if self.i < len(self.text):
            raise self._err("unexpected text after the JSON value")
        return Document(self.path, self.text, data, self.locations, "json")

    def _span(self, a: int, b: int) -> Span:
        return Span(self.path, self.index.pos(a), self.index.pos(b))

    def _err(self, message: str, at: int | None = None, hint: str | None = None) -> DocumentError:
        at = self.i if at is None else at
        return _fail("SP002", "invalid-json", message, self._span(at, at), hint)

    def _ws(self) -> None:
        """Whitespace, and the // and /* */ comments ARM templates (and JSONC files) allow."""
        t = self.text
        while True:
            self.i = _WS.match(t, self.i).end()  # type: ignore[union-attr]
            if t.startswith("//", self.i):
                nl = t.find("\n", self.i)
                self.i = len(t) if nl < 0 else nl + 1
            elif t.startswith("/*", self.i):
                end = t.find("*/", self.i + 2)
                if end < 0:
                    raise self._err("unterminated /* comment")
                self.i = end + 2
            else:
                return

    def _value(self, path: JsonPath, depth: int, key_span: Span | None) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise _fail(
                "SP005",
                "nesting-too-deep",
                f"values nest more than {MAX_DEPTH} levels deep",
                self._span(self.i, self.i),
            )
        t = self.text
        i = self.i
        if i >= len(t):
            raise self._err("unexpected end of file; expected a value")
        c = t[i]
        if c == "{":
            value: Any = self._object(path, depth)
        elif c == "[":
            value = self._array(path, depth)
        elif c == '"':
            value, smap = self._string()
            self.locations[path] = Location(self._span(i, self.i), key_span, smap)
            return value
        elif t.startswith("true", i):
            self.i += 4
            value = True
        elif t.startswith("false", i):
            self.i += 5
            value = False
        elif t.startswith("null", i):
            self.i += 4
            value = None
        else:
            m = _NUMBER.match(t, i)
            if not m or m.end() == i:
                hint = "JSON strings use double quotes" if c == "'" else None
                raise self._err(f"unexpected character {c!r}; expected a value", hint=hint)
            self.i = m.end()
            s = m.group()
            value = float(s) if any(ch in s for ch in ".eE") else int(s)
        self.locations[path] = Location(self._span(i, self.i), key_span)
        return value

    def _object(self, path: JsonPath, depth: int) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        key_spans: dict[str, Span] = {}
        self._ws()
        if self.text.startswith("}", self.i):
            self.i += 1
            return out
        while True:
            self._ws()
            if not self.text.startswith('"', self.i):
                hint = "remove the trailing comma" if self.text.startswith("}", self.i) else None
                raise self._err("expected a double-quoted property name", hint=hint)
            ks = self.i
            key, _ = self._string()
            kspan = self._span(ks, self.i)
            if key in key_spans:
                first = key_spans[key]
                raise DocumentError(
                    [
                        Diagnostic(
                            code="SP003",
                            name="duplicate-key",
                            severity=Severity.ERROR,
                            message=f'duplicate key "{key}"; the first one is on line {first.start.line}',
                            span=kspan,
                            hint="JSON readers disagree about which value wins; keep one",
                        )
                    ]
                )
            key_spans[key] = kspan
            self._ws()
            if not self.text.startswith(":", self.i):
                raise self._err(f'expected ":" after "{key}"')
            self.i += 1
            self._ws()
            out[key] = self._value((*path, key), depth + 1, kspan)
            self._ws()
            if self.text.startswith(",", self.i):
                self.i += 1
                continue
            if self.text.startswith("}", self.i):
                self.i += 1
                break
            raise self._err('expected "," or "}"')
        return out

    def _array(self, path: JsonPath, depth: int) -> list[Any]:
        self.i += 1
        out: list[Any] = []
        self._ws()
        if self.text.startswith("]", self.i):
            self.i += 1
        else:
            while True:
                self._ws()
                out.append(self._value((*path, len(out)), depth + 1, None))
                self._ws()
                if self.text.startswith(",", self.i):
                    self.i += 1
                    continue
                if self.text.startswith("]", self.i):
                    self.i += 1
                    break
                raise self._err('expected "," or "]"')
        return out

    def _string(self) -> tuple[str, StringMap]:
        t = self.text
        i = self.i + 1
        chars: list[str] = []
        offsets: list[int] = []
        while True:
            m = _PLAIN_STR.match(t, i)
            seg = m.group()  # type: ignore[union-attr]
            if seg:
                chars.append(seg)
                offsets.extend(range(i, i + len(seg)))
                i += len(seg)
            if i >= len(t):
                raise self._err("unterminated string", at=self.i)
            c = t[i]
            if c == '"':
                offsets.append(i)
                self.i = i + 1
                break
            if c == "\\":
                e = t[i + 1 : i + 2]
                if e in _ESCAPES:
                    chars.append(_ESCAPES[e])
                    offsets.append(i)
                    i += 2
                elif e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", t[i + 2 : i + 6]):
                    code = int(t[i + 2 : i + 6], 16)
                    j = i + 6
                    if (
                        0xD800 <= code < 0xDC00
                        and t[j : j + 2] == "\\u"
                        and re.fullmatch(r"[dD][c-fC-F][0-9a-fA-F]{2}", t[j + 2 : j + 6])
                    ):
                        low = int(t[j + 2 : j + 6], 16)
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        j += 6
                    chars.append(chr(code))
                    offsets.append(i)
                    i = j
                else:
                    raise self._err(f"invalid escape {t[i : i + 2]!r} in string", at=i)
            else:
                raise self._err("control character in string; write it as an escape such as \\n", at=i)
        value = "".join(chars)
        if len(offsets) != len(value) + 1:  # pragma: no cover - defensive: fall back to an inexact map
            return value, StringMap((self.index.pos(self.i),), exact=False)
        return value, StringMap(offsets=tuple(offsets), lines=self.index)


# --------------------------------------------------------------------------------------------------- YAML


class _YamlNode:
    __slots__ = ("anchor", "children", "end", "kind", "start", "style", "tag", "value")

    def __init__(self, kind: str, start: Any, end: Any, tag: str | None, anchor: str | None) -> None:
        self.kind = kind  # "scalar" | "map" | "seq"
        self.start = start
        self.end = end
        self.tag = tag
        self.anchor = anchor
        self.value: Any = None
        self.style: str | None = None
        self.children: list[Any] = []  # seq: nodes; map: (key_node, value_node)


_STD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:timestamp",
    "!",
}


class _YamlReader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.index = LineIndex(text)
        self.locations: dict[JsonPath, Location] = {}
        self.nodes = 0

    def _mark_pos(self, mark: Any) -> Pos:
        return Pos(mark.line + 1, mark.column + 1)

    def _span(self, start: Any, end: Any) -> Span:
        return Span(self.path, self._mark_pos(start), self._mark_pos(end))

    def document(self) -> Document:
        import yaml

        loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            root = self._compose(yaml.parse(self.text, Loader=loader_cls))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = self._mark_pos(mark) if mark is not None else Pos(1, 1)
            problem = (exc.problem or exc.context or "invalid YAML").strip()
            hint = None
            at = self.index.offset(pos)
            if "\t" in problem or "tab" in problem or self.text[at : at + 1] == "\t":
                problem = "tab character where YAML expects indentation or a token"
                hint = "YAML does not allow tabs for indentation; use spaces"
            elif "expected <block end>" in problem:
                hint = "check the indentation of this line and the one before"
            elif "mapping values are not allowed" in problem:
                hint = 'check the indentation of this line and the one before, or quote a value that holds ": "'
            context = (exc.context or "").strip()
            opened = exc.context_mark
            if opened is not None and context == "while scanning a quoted scalar" and "end of stream" in problem:
                # PyYAML points at the end of the file; the quote that is never closed is what to fix
                quote_char = self.text[self.index.offset(self._mark_pos(opened)) :][:1] or '"'
                pos = self._mark_pos(opened)
                problem = f"the string opened with {quote_char} here is never closed"
                hint = f"add the closing {quote_char}"
            elif opened is not None and context.startswith("while parsing a flow ") and "did not find" in problem:
                bracket = "{" if "mapping" in context else "["
                closer = "}" if bracket == "{" else "]"
                where = self._mark_pos(opened)
                problem = (
                    f'expected "," or "{closer}": the "{bracket}" opened on line {where.line}, '
                    f"column {where.col} is not closed"
                )
                hint = f'close it with "{closer}" (a flow {bracket}...{closer} must end before the next key)'
            elif "unknown escape character" in problem:
                hint = 'inside double quotes a backslash starts an escape: write "\\\\" or use single quotes'
            raise _fail("SP001", "invalid-yaml", problem, Span(self.path, pos, pos), hint) from None
        except yaml.YAMLError as exc:
            raise _fail(
                "SP001", "invalid-yaml", str(exc).strip().splitlines()[0], Span.point(self.path, 1, 1)
            ) from None
        if root is None:
            return Document(self.path, self.text, None, {}, "yaml")
        self._check_expansion(root)
        data = self._construct(root, (), None, 0)
        return Document(self.path, self.text, data, self.locations, "yaml")

    def _compose(self, events: Iterator[Any]) -> _YamlNode | None:
        import yaml

        anchors: dict[str, _YamlNode] = {}
        stack: list[_YamlNode] = []
        root: _YamlNode | None = None
        pending_key: list[_YamlNode | None] = []
        documents = 0

        def attach(node: _YamlNode) -> None:
            nonlocal root
            if not stack:
                root = node
                return
            parent = stack[-1]
            if parent.kind == "seq":
                parent.children.append(node)
            elif pending_key[-1] is None:
                pending_key[-1] = node
            else:
                parent.children.append((pending_key[-1], node))
                pending_key[-1] = None

        for ev in events:
            if isinstance(ev, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail(
                        "SP001",
                        "invalid-yaml",
                        "file holds more than one YAML document",
                        Span.point(self.path, ev.start_mark.line + 1, ev.start_mark.column + 1),
                        hint="keep one document per file; remove the second '---'",
                    )
            elif isinstance(ev, yaml.AliasEvent):
                target = anchors.get(ev.anchor)
                if target is None:
                    raise _fail(
                        "SP001",
                        "invalid-yaml",
                        f'undefined alias "*{ev.anchor}"',
                        self._span(ev.start_mark, ev.end_mark),
                    )
                if any(open_node is target for open_node in stack):
                    # the alias sits inside the node it names: the value would contain itself for ever
                    raise _fail(
                        "SP004",
                        "yaml-alias-limit",
                        f'alias "*{ev.anchor}" refers to a value that contains it, so it never ends',
                        self._span(ev.start_mark, ev.end_mark),
                        hint=f'anchor "&{ev.anchor}" is still open here; copy the value instead of the alias',
                    )
                alias = _YamlNode("alias", ev.start_mark, ev.end_mark, None, None)
                alias.value = target
                attach(alias)
            elif isinstance(ev, yaml.ScalarEvent):
                node = _YamlNode("scalar", ev.start_mark, ev.end_mark, ev.tag, ev.anchor)
                node.value = ev.value
                node.style = ev.style
                if ev.tag is None or ev.tag == "!":
                    resolver = yaml.resolver.Resolver()
                    node.tag = resolver.resolve(yaml.ScalarNode, ev.value, ev.implicit)
                if ev.anchor:
                    anchors[ev.anchor] = node
                attach(node)
            elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise _fail(
                        "SP005",
                        "nesting-too-deep",
                        f"values nest more than {MAX_DEPTH} levels deep",
                        self._span(ev.start_mark, ev.end_mark),
                    )
                kind = "map" if isinstance(ev, yaml.MappingStartEvent) else "seq"
                node = _YamlNode(kind, ev.start_mark, ev.end_mark, ev.tag, ev.anchor)
                if ev.anchor:
                    anchors[ev.anchor] = node
                attach(node)
                stack.append(node)
                pending_key.append(None)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                node = stack.pop()
                pending_key.pop()
                node.end = ev.end_mark
        return root

    def _check_expansion(self, root: _YamlNode) -> None:
        """Size of the document after alias expansion, computed without expanding (memoised, iterative)."""
        sizes: dict[int, int] = {}
        stack: list[tuple[_YamlNode, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            target = node.value if node.kind == "alias" else node
            if id(target) in sizes and not done:
                continue
            kids = [c for pair in target.children for c in (pair if isinstance(pair, tuple) else (pair,))]
            if not done:
                stack.append((target, True))
                stack.extend((c, False) for c in kids if id(c.value if c.kind == "alias" else c) not in sizes)
                continue
            total = 1
            for c in kids:
                total += sizes.get(id(c.value if c.kind == "alias" else c), 1)
            sizes[id(target)] = total
            if total > MAX_NODES:
                raise _fail(
                    "SP004",
                    "yaml-alias-limit",
                    f"document expands to more than {MAX_NODES} values through aliases",
                    self._span(target.start, target.end),
                    hint="this looks like an alias bomb; expand anchors by hand or use fewer nested aliases",
                )

    def _check_tag(self, node: _YamlNode) -> None:
        if node.tag is not None and node.tag not in _STD_TAGS:
            raise _fail(
                "SP001",
                "invalid-yaml",
                f'unsupported YAML tag "{node.tag}"',
                self._span(node.start, node.end),
                hint="batchspec reads plain YAML data; remove the tag",
            )

    def _construct(self, node: _YamlNode, path: JsonPath, key_span: Span | None, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(
                "SP004",
                "yaml-alias-limit",
                f"document expands to more than {MAX_NODES} values through aliases",
                self._span(node.start, node.end),
                hint="this looks like an alias bomb; expand anchors by hand or use fewer nested aliases",
            )
        if depth > MAX_DEPTH:
            raise _fail(
                "SP005",
                "nesting-too-deep",
                f"values nest more than {MAX_DEPTH} levels deep (through aliases)",
                self._span(node.start, node.end),
            )
        if node.kind == "alias":
            target: _YamlNode = node.value
            value = self._construct(target, path, key_span, depth)
            # the value itself is reported where this occurrence ("*name") is written
            self.locations[path] = Location(self._span(node.start, node.end), key_span, None)
            return value
        self._check_tag(node)
        span = self._span(node.start, node.end)
        if node.kind == "scalar":
            value = self._scalar(node)
            smap = self._string_map(node) if isinstance(value, str) else None
            self.locations[path] = Location(span, key_span, smap)
            return value
        if node.kind == "seq":
            self.locations[path] = Location(span, key_span)
            return [
                self._construct(child, (*path, i), None, depth + 1) for i, child in enumerate(node.children)
            ]
        self.locations[path] = Location(span, key_span)
        out: dict[str, Any] = {}
        key_spans: dict[str, Span] = {}
        merges: list[_YamlNode] = []
        for knode, vnode in node.children:
            if knode.kind != "scalar":
                raise _fail(
                    "SP001",
                    "invalid-yaml",
                    "mapping keys must be plain strings",
                    self._span(knode.start, knode.end),
                )
            if knode.tag == "tag:yaml.org,2002:merge":
                merges.append(vnode)
                continue
            key = self._scalar(knode)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            kspan = self._span(knode.start, knode.end)
            if key in key_spans:
                first = key_spans[key]
                raise _fail(
                    "SP003",
                    "duplicate-key",
                    f'duplicate key "{key}"; the first one is on line {first.start.line}',
                    kspan,
                    hint="YAML readers disagree about which value wins; keep one",
                )
            key_spans[key] = kspan
            out[key] = self._construct(vnode, (*path, key), kspan, depth + 1)
        for m in merges:
            sources = m.value.children if m.kind == "alias" and m.value.kind == "seq" else None
            targets = [c.value if c.kind == "alias" else c for c in sources] if sources else [m]
            for t in targets:
                src = t.value if t.kind == "alias" else t
                if src.kind != "map":
                    raise _fail(
                        "SP001",
                        "invalid-yaml",
                        "a merge key (<<) needs a mapping",
                        self._span(m.start, m.end),
                    )
                merged = self._construct(src, (*path, "<<"), None, depth + 1)
                for k, v in merged.items():
                    if k not in out:
                        out[k] = v
                        for p, loc in list(self.locations.items()):
                            if p[: len(path) + 2] == (*path, "<<", k):
                                self.locations[(*path, k, *p[len(path) + 2 :])] = loc
        for p in [p for p in self.locations if p[: len(path) + 1] == (*path, "<<")]:
            del self.locations[p]
        return out

    def _scalar(self, node: _YamlNode) -> Any:
        import yaml

        if node.style in ("'", '"', "|", ">") or node.tag == "tag:yaml.org,2002:str":
            return node.value
        tag = node.tag
        if tag == "tag:yaml.org,2002:timestamp":
            return node.value  # keep dates as written; specs never need datetime objects
        try:
            cons = yaml.constructor.SafeConstructor()
            return cons.construct_object(yaml.ScalarNode(tag, node.value, node.start, node.end, node.style))
        except Exception:
            raise _fail(
                "SP001", "invalid-yaml", f'cannot read value "{node.value}"', self._span(node.start, node.end)
            ) from None

    def _string_map(self, node: _YamlNode) -> StringMap:
        """Per-character source positions for plain, quoted and literal block scalars."""
        value: str = node.value
        start = node.start
        end = node.end
        style = node.style
        line0 = start.line + 1
        col0 = start.column + 1
        if style is None or style == "":  # plain
            if start.line == end.line:
                return StringMap(tuple(Pos(line0, col0 + i) for i in range(len(value) + 1)))
            return StringMap((Pos(line0, col0),), exact=False)
        if style == "'" and start.line == end.line:
            raw = self.text[self.index.offset(Pos(line0, col0)) + 1 :]
            out: list[Pos] = []
            j = 0
            for ch in value:
                out.append(Pos(line0, col0 + 1 + j))
                j += 2 if ch == "'" and raw[j : j + 2] == "''" else 1
            out.append(Pos(line0, col0 + 1 + j))
            return StringMap(tuple(out))
        if style == '"' and start.line == end.line:
            off = self.index.offset(Pos(line0, col0))
            raw_end = self.index.offset(Pos(end.line + 1, end.column + 1))
            try:
                sub = _JsonReader(self.path, self.text[off:raw_end])
                decoded, smap = sub._string()
            except DocumentError:
                return StringMap((Pos(line0, col0),), exact=False)
            if decoded != value:
                return StringMap((Pos(line0, col0),), exact=False)
            return StringMap(tuple(Pos(line0, col0 + smap.at(i).col - 1) for i in range(len(decoded) + 1)))
        if style == "|":
            return self._literal_map(node)
        return StringMap((Pos(line0, col0),), exact=False)

    def _literal_map(self, node: _YamlNode) -> StringMap:
        value: str = node.value
        # content starts on the line after the indicator; find the indentation of the first non-empty line
        first_line = node.start.line + 1  # 0-based index of the first content line
        lines = self.text.split("\n")
        indent = None
        for ln in lines[first_line : node.end.line + 1]:
            if ln.strip():
                indent = len(ln) - len(ln.lstrip(" "))
                break
        if indent is None:
            return StringMap((Pos(node.start.line + 1, node.start.column + 1),), exact=False)
        out: list[Pos] = []
        line = first_line
        for piece in value.split("\n"):
            for k in range(len(piece)):
                out.append(Pos(line + 1, indent + k + 1))
            out.append(Pos(line + 1, indent + len(piece) + 1))  # the newline (or end)
            line += 1
        positions = tuple(out[: len(value) + 1])
        # verify: the source text at each mapped position must be the decoded character
        for idx in range(0, len(value), max(1, len(value) // 64)):
            ch = value[idx]
            if ch == "\n":
                continue
            p = positions[idx]
            src = lines[p.line - 1] if p.line - 1 < len(lines) else ""
            if src[p.col - 1 : p.col] != ch:
                return StringMap((Pos(node.start.line + 1, node.start.column + 1),), exact=False)
        return StringMap(positions)
