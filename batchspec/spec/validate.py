"""``batchspec validate`` for YAML/JSON: batchspec specs and pool definitions (management plane, data plane,
``az batch pool show`` output, ARM templates).

Pipeline: read (positions) -> spec schema -> render -> pool/job/task schemas (best match first, ARM's
case-insensitive spellings downgraded to SP201 warnings) -> prose-only limits -> formula diagnostics mapped into the
YAML block or the JSON string -> pool rules (SP2xx). Every diagnostic points into the file the user edits.
Never imports an Azure package; never raises on bad input.
"""

from __future__ import annotations

import dataclasses
import functools

import re
from collections.abc import Callable, Iterable
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Related, Severity, Span
from batchspec.spec.durations import parse_duration
from batchspec.spec.loader import (
    Document,
    DocumentError,
    JsonPath,
    LineIndex,
    StringMap,
    format_path,
    load_text,
)
from batchspec.spec.rules import ALL_SPEC_RULES, PoolContext, TextSource
from batchspec.spec.shapes import (
    PoolShape,
    all_pool_shapes,
    detect_pool_shape,
    get,
    is_arm_expression,
    strip_nulls,
)

_MARKER = re.compile(r"^batchspec\s*:", re.M)
SHOW_ONLY = {
    "url",
    "eTag",
    "lastModified",
    "creationTime",
    "state",
    "stateTransitionTime",
    "allocationState",
    "allocationStateTransitionTime",
    "currentDedicatedNodes",
    "currentLowPriorityNodes",
    "resizeErrors",
    "autoScaleRun",
    "stats",
    "identity",
    "currentNodeCommunicationMode",
    "odata.metadata",
    "enableAutoScale",
}
RETIRED = {
    "cloudServiceConfiguration": "Cloud Services pools were retired on 29 February 2024; use virtualMachineConfiguration",
    "maxTasksPerNode": 'renamed "taskSlotsPerNode" in API 2020-09-01',
    "certificates": "pool certificates were retired in February 2024; use the Azure Key Vault VM extension",
    "certificateReferences": "pool certificates were retired in February 2024; use the Azure Key Vault VM extension",
    "applicationLicenses": "application licenses are no longer accepted",
    "resizeTimeout": 'belongs in "scaleSettings.fixedScale" on the management plane',
    "blobSource": 'renamed "httpUrl" in API 2018-12-01',
    "targetNodeCommunicationMode": "removed in API 2025-06-01: classic node communication is retired and simplified "
    "communication is the only mode",
}


def _is_spec_name(path: str) -> bool:
    """batchspec.yaml is a spec by its name: broken YAML or a missing marker there is an error, not a skip."""
    return path.replace("\\", "/").rsplit("/", 1)[-1].lower() in ("batchspec.yaml", "batchspec.yml")


def is_batchspec_document(path: str, text: str) -> bool:
    """True for a spec (top-level ``batchspec:`` key) or a recognisable pool definition."""
    lower = path.lower()
    if lower.endswith((".yaml", ".yml")):
        if _MARKER.search(text) or _is_spec_name(path):
            return True
    if not lower.endswith((".json", ".yaml", ".yml")):
        return False
    if lower.endswith(".json"):
        import json

        try:
            data = json.loads(text)  # the C parser: this runs on every JSON file pre-commit hands over
        except RecursionError:
            return True  # hostile nesting: our own reader reports it with a position (SP005)
        except ValueError:
            return ('"properties"' in text and '"vmSize"' in text) or '"autoScaleFormula"' in text
        return detect_pool_shape(data) is not None
    try:
        doc = load_text(path, text)
    except DocumentError:
        return False
    return detect_pool_shape(doc.data) is not None


def validate_document(path: str, text: str, config: Any = None) -> list[Diagnostic]:
    """All diagnostics for one YAML/JSON document (spec or pool definition).

    Files that are neither (``package.json``, a CI workflow) give no diagnostics: pre-commit passes every changed
    YAML/JSON file, and validate decides by the marker/shape, never by failing on unrelated files.
    """
    lower = path.lower()
    if not is_batchspec_document(path, text):
        return []
    if lower.endswith((".yaml", ".yml")) and (_MARKER.search(text) or _is_spec_name(path)):
        diags = validate_spec_text(path, text, config)
    else:
        diags = validate_pool_text(path, text, config)
    kept = apply_suppressions(diags, {path: text})
    unused = [d for d in kept if d.code == "BS003" and d.message.endswith(_UNUSED_SPEC_SUFFIX)]
    rest = [d for d in kept if not (d.code == "BS003" and d.message.endswith(_UNUSED_SPEC_SUFFIX))]
    return _apply_config(rest, config, path) + (_config_only(unused, config, path) if unused else [])


_SUPPRESS = re.compile(r"#\s*batchspec:\s*ignore\[([A-Za-z0-9_,\s-]+)\]")
_HASH_COMMENT_FILES = (".yaml", ".yml", ".sh", ".bash", ".j2")


def apply_suppressions(diags: list[Diagnostic], texts: dict[str, str]) -> list[Diagnostic]:
    """Drop diagnostics silenced by ``# batchspec: ignore[SP213]`` (code or name, comma-separated) on their line,
    or alone on the line above, in YAML specs and start-task scripts. Formula files use the linter's own
    ``// batchspec: ignore[...]`` (handled by lint_formula)."""
    cache: dict[str, list[str] | None] = {}

    def lines_of(p: str) -> list[str] | None:
        if p not in cache:
            text = texts.get(p)
            if text is None and p.lower().endswith(_HASH_COMMENT_FILES):
                try:
                    from pathlib import Path

                    text = Path(p).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    text = None
            cache[p] = (
                text.split("\n") if text is not None and p.lower().endswith(_HASH_COMMENT_FILES) else None
            )
        return cache[p]

    used: set[tuple[str, int, str]] = set()  # (path, 0-based line, key) of suppressions that silenced something

    def silenced(d: Diagnostic) -> bool:
        lines = lines_of(d.span.path)
        if not lines or not d.code.startswith(("SP", "TM")):
            return False
        n = d.span.start.line - 1
        candidates = [n] if 0 <= n < len(lines) else []
        if 1 <= n <= len(lines) and lines[n - 1].lstrip().startswith("#"):
            candidates.append(n - 1)
        hit = False
        for ln in candidates:
            for m in _SUPPRESS.finditer(lines[ln]):
                for k in m.group(1).split(","):
                    if k.strip() in (d.code, d.name):
                        used.add((d.span.path, ln, k.strip()))
                        hit = True
        return hit

    kept = [d for d in diags if not silenced(d)]
    for d in kept:  # files findings pointed into are read by now; the checked files always are
        lines_of(d.span.path)
    for p in texts:
        lines_of(p)
    return kept + _unused_suppressions(cache, used)


@functools.cache
def _spec_keys() -> frozenset[str]:
    from batchspec.spec.codes import SPEC_CODES
    from batchspec.spec.rules import ALL_SPEC_RULES

    keys = {c.code for c in SPEC_CODES} | {c.name for c in SPEC_CODES}
    keys |= {r.code for r in ALL_SPEC_RULES} | {r.name for r in ALL_SPEC_RULES}
    return frozenset(keys)


def _unused_suppressions(
    files: dict[str, list[str] | None], used: set[tuple[str, int, str]]
) -> list[Diagnostic]:
    """BS003 for a ``# batchspec: ignore[SP...]`` that silenced nothing, in the checked spec and in the
    script files findings pointed into (a stale suppression hides the next real finding on that line)."""
    spec_keys = _spec_keys()
    out: list[Diagnostic] = []
    for p, lines in files.items():
        for n, line in enumerate(lines or ()):
            for m in _SUPPRESS.finditer(line):
                col = m.start(1)
                for raw in m.group(1).split(","):
                    key = raw.strip()
                    start = col + (len(raw) - len(raw.lstrip()))
                    col += len(raw) + 1
                    if key not in spec_keys or (p, n, key) in used:
                        continue  # formula keys belong to the linter's // comments; unknown keys: left alone
                    out.append(
                        _make(
                            "BS003",
                            "unused-suppression",
                            Severity.WARNING,
                            f'suppression of "{key}" suppresses nothing{_UNUSED_SPEC_SUFFIX}',
                            Span(p, Pos(n + 1, start + 1), Pos(n + 1, start + 1 + len(key))),
                            hint="remove it",
                        )
                    )
    return out


_UNUSED_SPEC_SUFFIX = " on this line"  # BS003 made here, not by lint_formula (those are configured already)


def _config_only(diags: list[Diagnostic], config: Any, path: str) -> list[Diagnostic]:
    if config is None:
        return diags
    from batchspec.lint.config import apply_config

    return apply_config(diags, config, path)


def _apply_config(diags: list[Diagnostic], config: Any, path: str) -> list[Diagnostic]:
    if config is None:
        return diags
    try:
        from batchspec.lint.config import apply_config
    except ImportError:  # pragma: no cover - LINT not installed
        return diags
    formula = [d for d in diags if d.code.startswith(("FM", "BS"))]  # already configured by lint_formula
    rest = [d for d in diags if not d.code.startswith(("FM", "BS"))]
    return formula + apply_config(rest, config, path)


# ----------------------------------------------------------------------------------------------- schema passes


def _make(
    code: str, name: str, severity: Severity, message: str, span: Span, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code=code, name=name, severity=severity, message=message, span=span, hint=hint)


def pool_schema_diagnostics(
    body: Any,
    schema_name: str,
    span_of: Callable[[JsonPath, bool], Span],
    *,
    code: str = "SP101",
    name: str = "pool-schema",
    show_output: bool = False,
    arm_expressions: bool = False,
) -> list[Diagnostic]:
    """Schema errors, with ARM's case-insensitive acceptance turned into SP201 warnings."""
    from batchspec.spec.schema import MAX_ERRORS_PER_DOCUMENT, describe, validator
    from batchspec.spec.schemalite import relevance

    errors = sorted(validator(schema_name).iter_errors(body), key=relevance)
    if arm_expressions:  # ARM computes these at deployment; only the service can check them
        errors = [e for e in errors if not _involves_expression(e)]
    if not errors:
        return []
    best = min(errors, key=relevance)  # describe() descends into anyOf/oneOf branches itself
    out: list[Diagnostic] = []
    for err in [best] + [e for e in errors if e is not best]:
        if len(out) >= MAX_ERRORS_PER_DOCUMENT:
            break
        path = tuple(err.absolute_path)
        inst = err.instance
        if err.validator == "additionalProperties" and isinstance(inst, dict):
            allowed = list((err.schema.get("properties") or {}).keys())
            for key in [k for k in inst if k not in allowed]:
                same = [a for a in allowed if a.lower() == key.lower()]
                kpath = (*path, key)
                if same:
                    out.append(
                        _make(
                            "SP201",
                            "non-canonical-spelling",
                            Severity.WARNING,
                            f'"{key}" is spelled "{same[0]}" in this API; the service accepts it case-insensitively',
                            span_of(kpath, True),
                            hint=f'write "{same[0]}"',
                        )
                    )
                elif key in RETIRED:
                    out.append(
                        _make(
                            "SP103",
                            "retired-property",
                            Severity.ERROR,
                            f'"{key}" is not accepted by API 2025-06-01{_in(path)}',
                            span_of(kpath, True),
                            hint=RETIRED[key],
                        )
                    )
                elif show_output and key in SHOW_ONLY:
                    out.append(
                        _make(
                            "SP102",
                            "read-only-property",
                            Severity.INFO,
                            f'"{key}" is state from "pool show"; it is not part of a create request',
                            span_of(kpath, True),
                        )
                    )
                else:
                    message, hint, _, _ = describe(err)
                    import difflib

                    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                    out.append(
                        _make(
                            code,
                            name,
                            Severity.ERROR,
                            f'unknown property "{key}"{_in(path)}',
                            span_of(kpath, True),
                            hint=f'did you mean "{close[0]}"?' if close else None,
                        )
                    )
            continue
        if err.validator == "required" and isinstance(inst, dict):
            missing = err.message.split("'")[1] if "'" in err.message else ""
            if any(k.lower() == missing.lower() for k in inst):
                continue  # written with another casing: reported as SP201 on that key
        if err.validator == "enum" and isinstance(inst, str):
            same = [o for o in err.validator_value if isinstance(o, str) and o.lower() == inst.lower()]
            if same:
                out.append(
                    _make(
                        "SP201",
                        "non-canonical-spelling",
                        Severity.WARNING,
                        f'"{inst}" is spelled "{same[0]}" in this API; the service accepts it case-insensitively',
                        span_of(path, False),
                        hint=f'write "{same[0]}"',
                    )
                )
                continue
        if err.validator == "not" and isinstance(err.schema, dict) and err.schema.get("readOnly"):
            key = path[-1] if path else ""
            sev = Severity.INFO if show_output else Severity.WARNING
            out.append(
                _make(
                    "SP102",
                    "read-only-property",
                    sev,
                    f'"{key}" is read-only: the service sets it and ignores it in a request',
                    span_of(path, True),
                    hint="remove it from the definition",
                )
            )
            continue
        message, hint, p, key = describe(err)
        out.append(_make(code, name, Severity.ERROR, message, span_of(p, key), hint))
    seen: set[tuple[str, Span]] = set()
    unique = []
    for d in out:
        if (d.message, d.span) not in seen:
            seen.add((d.message, d.span))
            unique.append(d)
    return unique


def _involves_expression(error: Any) -> bool:
    if is_arm_expression(error.instance):
        return True
    if error.validator == "anyOf" or error.validator == "oneOf":
        return any(_involves_expression(e) for e in error.context)
    return False


def _in(path: JsonPath) -> str:
    return f" in {format_path(path)}" if path else ""


def _duration_hint(text: str) -> str:
    from batchspec.spec.durations import suggest_duration

    iso = suggest_duration(text)
    return f'write "{iso}"' if iso else "write it like PT5M or PT1H"


def drop_repeated_duration_errors(diags: list[Diagnostic]) -> list[Diagnostic]:
    """The schema's pattern check and SP104 both reject a malformed duration; keep the schema's one."""
    schema_spans = {d.span for d in diags if d.code != "SP104" and "is not an ISO 8601 duration" in d.message}
    return [
        d
        for d in diags
        if not (d.code == "SP104" and d.span in schema_spans and "is not an ISO 8601 duration" in d.message)
    ]


def limit_diagnostics(ctx: PoolContext) -> list[Diagnostic]:
    """Limits the REST specification states only in prose (reference §10): SP104."""
    out: list[Diagnostic] = []
    ip = ctx.path("interval")
    interval = ctx.get(ip)
    if isinstance(interval, str) and not is_arm_expression(interval):
        td = parse_duration(interval)
        if td is None and ctx.extras.get("show"):
            from batchspec.spec.durations import cli_duration_to_iso

            td = parse_duration(cli_duration_to_iso(interval) or "")
        if td is None:
            out.append(
                _make(
                    "SP104",
                    "value-out-of-range",
                    Severity.ERROR,
                    f'evaluation interval "{interval}" is not an ISO 8601 duration',
                    ctx.span_of(ip, False),
                    hint=_duration_hint(interval),
                )
            )
        elif not (5 * 60 <= td.total_seconds() <= 168 * 3600):
            out.append(
                _make(
                    "SP104",
                    "value-out-of-range",
                    Severity.ERROR,
                    f'evaluation interval "{interval}" is outside 5 minutes to 168 hours',
                    ctx.span_of(ip, False),
                    hint="the service rejects it; use PT5M (the shortest) up to PT168H",
                )
            )
    rp = (
        (*ctx.path("fixedScale"), "resizeTimeout")
        if ctx.shape.plane == "management"
        else (*ctx.shape.props, "resizeTimeout")
    )
    rt = ctx.get(rp)
    if isinstance(rt, str) and not is_arm_expression(rt):
        td = parse_duration(rt)
        if td is not None and td.total_seconds() < 300:
            out.append(
                _make(
                    "SP104",
                    "value-out-of-range",
                    Severity.ERROR,
                    f'resize timeout "{rt}" is shorter than the minimum of 5 minutes',
                    ctx.span_of(rp, False),
                )
            )
    return out


# ----------------------------------------------------------------------------------------------- formula / script


def formula_diagnostics(
    text: str, path: str, locate: Callable[[int, int], Span] | None, config: Any, exact: bool = True
) -> list[Diagnostic]:
    """Formula front end + lint rules; positions mapped into the enclosing file when ``locate`` is given."""
    try:
        from batchspec.lint import lint_formula

        diags = lint_formula(text, path, config)
    except ImportError:  # the linter is not installed: front end only
        from batchspec.formula import check_formula

        _, diags = check_formula(text, path)
    if locate is None:
        return list(diags)
    # --fix rewrites .formula files only; inside a spec or a JSON string the promise would not hold
    diags = [
        dataclasses.replace(d, hint=d.hint.replace("(--fix does this)", "(--fix does this in a .formula file)"))
        if d.hint and "(--fix does this)" in d.hint
        else d
        for d in diags
    ]
    index = LineIndex(text)

    def remap(span: Span) -> Span:
        return locate(index.offset(span.start), index.offset(span.end))

    out = []
    for d in diags:
        hint = d.hint
        if not exact:
            note = (
                f"formula line {d.span.start.line}, column {d.span.start.col}; the position inside the string "
                "could not be mapped exactly"
            )
            hint = f"{hint}; {note}" if hint else note
        out.append(
            Diagnostic(
                code=d.code,
                name=d.name,
                severity=d.severity,
                message=d.message,
                span=remap(d.span),
                hint=hint,
                related=tuple(Related(remap(r.span), r.message) for r in d.related),
            )
        )
    return out


def _string_locator(
    path: str, smap: StringMap | None, fallback: Span
) -> tuple[Callable[[int, int], Span], bool]:
    if smap is None:
        return (lambda a, b: fallback), False
    if not smap.exact:
        return (lambda a, b: Span(path, smap.at(0), smap.at(0))), False
    return (lambda a, b: Span(path, smap.at(a), smap.at(max(a, b)))), True


def _source_locator(path: str, src: Any, fallback: Span) -> tuple[Callable[[int, int], Span], bool]:
    """Locator for an inline spec text; a templated text maps by line (same line count) and is marked inexact."""
    if src.raw is None:
        return _string_locator(path, src.string_map, fallback)
    smap = src.string_map
    raw_lines = src.raw.split("\n")
    new_lines = src.text.split("\n")
    if smap is None or not smap.exact or len(raw_lines) != len(new_lines):
        return (lambda a, b: fallback), False
    raw_starts = [0]
    for ln in raw_lines[:-1]:
        raw_starts.append(raw_starts[-1] + len(ln) + 1)
    index = LineIndex(src.text)

    def locate(a: int, b: int) -> Span:
        pa, pb = index.pos(a), index.pos(max(a, b))
        la = pa.line - 1
        same = raw_lines[la] == new_lines[la] and pa.line == pb.line
        start = raw_starts[la] + (pa.col - 1 if same else 0)
        end = raw_starts[la] + (pb.col - 1 if same else len(raw_lines[la]))
        return Span(path, smap.at(start), smap.at(end))

    return locate, False


def rendered_file_positions(diags: list[Diagnostic], path: str, raw: str, text: str) -> list[Diagnostic]:
    """Diagnostics positioned in the rendered text of a *.j2 file -> positions in the file as written: exact on
    lines the template left alone, the whole line (with the rendered column in the hint) on changed ones."""
    raw_lines, new_lines = raw.split("\n"), text.split("\n")
    same_shape = len(raw_lines) == len(new_lines)

    def move(span: Span) -> tuple[Span, str | None]:
        if span.path != path:
            return span, None
        la = span.start.line - 1
        if not same_shape or la >= len(raw_lines):
            return span, "the template changes the line count, so this is a position in the rendered text"
        if raw_lines[la] == new_lines[la] and span.start.line == span.end.line:
            return span, None
        whole = Span(path, Pos(la + 1, 1), Pos(la + 1, len(raw_lines[la]) + 1))
        return whole, f"the template changed this line; the finding is at column {span.start.col} once rendered"

    out = []
    for d in diags:
        span, note = move(d.span)
        out.append(
            dataclasses.replace(
                d,
                span=span,
                hint=(f"{d.hint}; {note}" if d.hint else note) if note else d.hint,
                related=tuple(Related(move(r.span)[0], r.message) for r in d.related),
            )
        )
    return out


def _file_locator(path: str, text: str, raw: str | None = None) -> Callable[[int, int], Span]:
    """Offsets in ``text`` -> positions in the file at ``path``. ``raw``: the file as written when it is a
    template that rendered to ``text``; unchanged lines map exactly, a changed line maps to the whole line."""
    index = LineIndex(text)
    if raw is None:
        return lambda a, b: Span(path, index.pos(a), index.pos(max(a, b)))
    raw_lines, new_lines = raw.split("\n"), text.split("\n")

    def locate(a: int, b: int) -> Span:
        pa, pb = index.pos(a), index.pos(max(a, b))
        la = pa.line - 1
        if len(raw_lines) != len(new_lines) or la >= len(raw_lines):
            return Span.point(path, 1, 1)  # a loop or an {% if %} changed the line count: no line maps
        if raw_lines[la] == new_lines[la] and pa.line == pb.line:
            return Span(path, pa, pb)
        return Span(path, Pos(pa.line, 1), Pos(pa.line, len(raw_lines[la]) + 1))

    return locate


def command_line_source(
    command_line: str, locate_cmd: Callable[[int, int], Span], exact: bool
) -> tuple[TextSource, str]:
    """The script a command line runs (the body of ``shell -c``, or the command line itself) as a TextSource."""
    from batchspec.spec.startscript import split_command_with_offsets

    split = split_command_with_offsets(command_line)
    if split is None:  # a plain command line (no shell): command checks apply, shellcheck does not
        return TextSource(command_line, locate_cmd, exact), ""
    shell, body, offs = split

    def locate(a: int, b: int) -> Span:
        a = min(max(a, 0), len(offs) - 1)
        b = min(max(b, a), len(offs) - 1)
        end = offs[b - 1] + 1 if b > a else offs[a]
        return locate_cmd(offs[a], end)

    return TextSource(body, locate, exact), shell.rsplit("/", 1)[-1]


def is_windows_pool(ctx: PoolContext) -> bool:
    """Windows nodes: the start task is cmd/PowerShell, so the shell checks do not apply."""
    vm = ctx.get(ctx.path("vmConfig"))
    if not isinstance(vm, dict):
        return False
    agent = next((v for k, v in vm.items() if isinstance(k, str) and k.lower() == "nodeagentskuid"), None)
    if isinstance(agent, str) and "windows" in agent.lower():
        return True
    image = vm.get("imageReference")
    if isinstance(image, dict):
        text = f"{image.get('publisher', '')} {image.get('offer', '')}".lower()
        return "windows" in text
    return False


def run_rules(ctx: PoolContext) -> list[Diagnostic]:
    if ctx.script is not None and is_windows_pool(ctx):
        ctx.script = None
    out: list[Diagnostic] = []
    for rule_cls in ALL_SPEC_RULES:
        rule = rule_cls()
        try:
            out.extend(rule.check(ctx))
        except Exception as exc:  # a crashing rule must not hide the others (style.md §4)
            out.append(
                _make(
                    "BS002",
                    "rule-crashed",
                    Severity.ERROR,
                    f"rule {rule.code} ({rule.name}) crashed: {type(exc).__name__}: {exc}",
                    ctx.span_of((), False),
                    hint="please report this bug",
                )
            )
    return out


# ----------------------------------------------------------------------------------------------- pool documents


def validate_pool_text(path: str, text: str, config: Any = None) -> list[Diagnostic]:
    try:
        doc = load_text(path, text)
    except DocumentError as exc:
        return exc.diagnostics
    return validate_pool_document(doc, config)


ARM_ENVELOPE = ("apiVersion", "location", "dependsOn", "condition", "copy", "comments", "scope")


def validate_pool_document(doc: Document, config: Any = None) -> list[Diagnostic]:
    shapes = all_pool_shapes(doc.data)
    if not shapes:
        return [
            _make(
                "SP020",
                "not-a-spec",
                Severity.ERROR,
                "not a pool definition or batchspec spec; expected a management-plane body "
                '({"properties": {"vmSize": ...}}), a data-plane body or a spec with "batchspec: 1"',
                Span.point(doc.path, 1, 1),
            )
        ]
    diags: list[Diagnostic] = []
    for shape in shapes:
        diags += _validate_one_pool(doc, shape, config)
    return diags


def _validate_one_pool(doc: Document, shape: PoolShape, config: Any) -> list[Diagnostic]:
    def span_of(p: JsonPath, key: bool) -> Span:
        return doc.span((*shape.root, *p), key=key)

    resource = strip_nulls(get(doc.data, shape.root))
    diags: list[Diagnostic] = []
    arm = shape.plane == "management"
    if shape.plane == "management":
        if shape.wrapper == "resource":
            view = {k: v for k, v in resource.items() if k not in ARM_ENVELOPE}
        else:
            view = {k: v for k, v in resource.items() if k in ("properties", "identity", "tags")}
        diags += pool_schema_diagnostics(view, "pool.schema.json", span_of, arm_expressions=True)
    else:
        show = any(k in resource for k in ("state", "url", "creationTime", "allocationState"))
        body = resource
        if show:  # az CLI prints durations as "0:15:00": its display form, not the user's mistake
            from batchspec.spec.durations import cli_duration_to_iso

            body = {
                k: (cli_duration_to_iso(v) or v)
                if k in ("autoScaleEvaluationInterval", "resizeTimeout")
                else v
                for k, v in body.items()
            }
        if show and resource.get("enableAutoScale") is True:
            # pool show reports the formula's current targets; a create request must not carry them
            body = {
                k: v
                for k, v in body.items()
                if k not in ("targetDedicatedNodes", "targetLowPriorityNodes", "resizeTimeout")
            }
        diags += pool_schema_diagnostics(body, "pool-data.schema.json", span_of, show_output=show)
    ctx = PoolContext(doc.data, shape, lambda p, key: doc.span(p, key=key))
    ctx.extras["show"] = shape.plane == "data" and any(
        k in resource for k in ("state", "url", "creationTime")
    )
    fpath = shape.path("formula")
    formula = get(doc.data, fpath)
    if isinstance(formula, str) and not (arm and is_arm_expression(formula)):
        loc = doc.locations.get(fpath)
        locate, exact = _string_locator(doc.path, loc.string_map if loc else None, doc.span(fpath))
        ctx.formula = TextSource(formula, locate, exact)
        diags += formula_diagnostics(formula, doc.path, locate, config, exact)
    cpath = (*shape.path("startTask"), "commandLine")
    cmd = get(doc.data, cpath)
    if isinstance(cmd, str) and not (arm and is_arm_expression(cmd)):
        loc = doc.locations.get(cpath)
        locate, exact = _string_locator(doc.path, loc.string_map if loc else None, doc.span(cpath))
        ctx.script, ctx.extras["shell"] = command_line_source(cmd, locate, exact)
        from batchspec.spec.rules.script_checks import prefetch_shellcheck

        prefetch_shellcheck(ctx.script.text, ctx.extras.get("shell", "bash"))
    diags = drop_repeated_duration_errors(diags + limit_diagnostics(ctx))
    diags += run_rules(ctx)
    return diags


# ----------------------------------------------------------------------------------------------- specs


def validate_spec_text(path: str, text: str, config: Any = None, env: str | None = None) -> list[Diagnostic]:
    """The spec as written, then once per environment overlay (an error only prod has is still an error)."""
    diags = _validate_spec_env(path, text, config, env)
    if env is not None or any(
        d.severity >= Severity.ERROR and d.code.startswith(("SP0", "SP100")) for d in diags
    ):
        return diags
    try:
        doc = load_text(path, text)
    except DocumentError:
        return diags
    envs = doc.data.get("environments") if isinstance(doc.data, dict) else None
    if not isinstance(envs, dict):
        return diags
    seen = set(diags)
    for name in envs:
        for d in _validate_spec_env(path, text, config, str(name)):
            if d not in seen:
                seen.add(d)
                overlay = Related(
                    doc.span(("environments", name), key=True), f'environment "{name}" is defined here'
                )
                diags.append(
                    Diagnostic(
                        code=d.code,
                        name=d.name,
                        severity=d.severity,
                        message=f"{d.message} (with --env {name})",
                        span=d.span,
                        hint=d.hint,
                        related=(*d.related, overlay),
                    )
                )
    return diags


def _validate_spec_env(path: str, text: str, config: Any = None, env: str | None = None) -> list[Diagnostic]:
    from pathlib import Path

    from batchspec.errors import BatchspecError
    from batchspec.spec.project import compile_spec

    try:
        c = compile_spec(path, text, env, root=Path(path).parent)
    except BatchspecError as exc:
        return [
            _make(
                "SP012", "invalid-value", Severity.ERROR, str(exc).split(": ", 1)[-1], Span.point(path, 1, 1)
            )
        ]
    diags = list(c.diagnostics)
    if c.has_errors or c.pool_body is None:
        return diags
    props = c.pool_body.get("properties")
    if isinstance(props, dict) and "vmSize" not in props:
        # optional in the REST schema (PATCH bodies share it) but a pool cannot be created without it; render
        # still works, so an imported partial body round-trips
        diags.append(
            _make(
                "SP014",
                "missing-field",
                Severity.ERROR,
                'the pool needs a "vmSize" to be created',
                c.doc.span(("pool",), key=True) if c.doc else Span.point(path, 1, 1),
                hint="e.g. vmSize: Standard_D2s_v5 (an environment overlay may set it per environment)",
            )
        )

    def span_of(p: JsonPath, key: bool) -> Span:
        origin = c.body_origin(p)
        return c.doc.span(origin, key=key and origin[-1:] == p[-1:]) if c.doc else Span.point(path, 1, 1)

    diags += pool_schema_diagnostics(c.pool_body, "pool.schema.json", span_of, arm_expressions=True)
    shape = PoolShape("management", (), "resource")
    ctx = PoolContext(c.pool_body, shape, span_of, source_is_spec=True)
    st_spec = get(c.data, ("pool", "startTask")) or {}
    if c.start_script is not None:
        s = c.start_script
        if s.string_map is None:
            locate, exact = _file_locator(s.path, s.text, s.raw), s.raw is None
        else:
            locate, exact = _source_locator(path, s, span_of(("properties", "startTask"), False))
        ctx.script = TextSource(s.text, locate, exact, joined_with=st_spec.get("joinWith"))
        ctx.extras["shell"] = str(st_spec.get("shell", "/bin/bash")).rsplit("/", 1)[-1]
    else:
        cmd = get(c.pool_body, ("properties", "startTask", "commandLine"))
        if isinstance(cmd, str) and not is_arm_expression(cmd):
            cpath = c.doc_path(("pool", "startTask", "commandLine"))
            loc = c.doc.locations.get(cpath) if c.doc else None
            locate, exact = _string_locator(
                path, loc.string_map if loc else None, span_of(("properties", "startTask"), False)
            )
            ctx.script, ctx.extras["shell"] = command_line_source(cmd, locate, exact)
    if ctx.script is not None:  # shellcheck runs in its own process while the checks below run here
        from batchspec.spec.rules.script_checks import prefetch_shellcheck

        prefetch_shellcheck(ctx.script.text, ctx.extras.get("shell", "bash"))
    if c.formula is not None and not is_arm_expression(c.formula.text):
        src = c.formula
        if src.string_map is None and src.raw is None:  # a .formula file: positions are the file's own
            locate = _file_locator(src.path, src.text)
            diags += formula_diagnostics(src.text, src.path, None, config)
            ctx.formula = TextSource(src.text, locate, True)
        elif src.string_map is None:  # a .formula.j2 file the template changed: map by line
            locate = _file_locator(src.path, src.text, src.raw)
            found = formula_diagnostics(src.text, src.path, None, config)
            diags += rendered_file_positions(found, src.path, src.raw or "", src.text)
            ctx.formula = TextSource(src.text, locate, False)
        else:
            locate, exact = _source_locator(path, src, span_of(shape.path("formula"), False))
            diags += formula_diagnostics(src.text, path, locate, config, exact)
            ctx.formula = TextSource(src.text, locate, exact)
    tasks = []
    for i, job in enumerate(c.jobs):
        for n, t in enumerate(job.tasks):
            tpath = c.doc_path(job.task_origins[n]) if n < len(job.task_origins) else _job_doc_path(c, job.id, i)
            where = (*tpath, "requiredSlots")
            tasks.append((job.id, t, c.doc.span(where, key=False) if c.doc else Span.point(path, 1, 1)))
    ctx.extras["tasks"] = tasks
    diags = drop_repeated_duration_errors(diags + limit_diagnostics(ctx))
    diags += run_rules(ctx)
    for i, job in enumerate(c.jobs):
        jpath = _job_doc_path(c, job.id, i)

        def jspan(p: JsonPath, key: bool, jpath: JsonPath = jpath) -> Span:
            return c.doc.span((*jpath, *p), key=key) if c.doc else Span.point(path, 1, 1)

        diags += pool_schema_diagnostics(
            job.job_body, "job.schema.json", jspan, code="SP105", name="job-schema"
        )
        diags += _secrets_in(job.job_body, _env_span(c, jpath, jspan, "commonEnvironmentSettings"), diags)
        for n, t in enumerate(job.tasks[:1000]):
            tpath = c.doc_path(job.task_origins[n]) if n < len(job.task_origins) else jpath

            def tspan(p: JsonPath, key: bool, tpath: JsonPath = tpath) -> Span:
                return c.doc.span((*tpath, *p), key=key) if c.doc else Span.point(path, 1, 1)

            diags += _secrets_in(t, _env_span(c, tpath, tspan, "environmentSettings"), diags)

            tdiags = pool_schema_diagnostics(t, "task.schema.json", tspan, code="SP106", name="task-schema")
            for d in tdiags:
                diags.append(
                    Diagnostic(
                        code=d.code,
                        name=d.name,
                        severity=d.severity,
                        message=(
                            f"task {d.message.removesuffix(' in id')}"  # the id itself is what is wrong
                            if d.message.endswith(" is not a valid id in id")
                            else f'task "{t.get("id")}": {d.message}'
                        ),
                        span=d.span,
                        hint=d.hint,
                    )
                )
            if tdiags:
                break  # one broken task shows the problem; the same template would repeat it
    return diags


def _env_span(
    c: Any, spec_path: JsonPath, span_of: Callable[[JsonPath, bool], Span], rest_key: str
) -> Callable[[JsonPath, bool], Span]:
    """Body path -> span, with the REST list ``rest_key[i]`` mapped back to the spec's ``environment`` key."""
    env = get(c.doc.data, (*spec_path, "environment")) if c.doc else None

    def locate(p: JsonPath, key: bool) -> Span:
        if isinstance(env, dict) and len(p) >= 2 and p[0] == rest_key and isinstance(p[1], int):
            names = list(env)
            if p[1] < len(names):
                return span_of(("environment", names[p[1]]), key and p[2:] == ("name",))
        return span_of(p, key)

    return locate


def _secrets_in(body: Any, span_of: Callable[[JsonPath, bool], Span], seen: list[Diagnostic]) -> list[Diagnostic]:
    """SP205 on a job or task body (secrets in job environments and task command lines leak as well); a task
    template repeats its finding for every task, so a finding already reported at the same place is skipped."""
    from batchspec.spec.rules.sp205_plaintext_secret import PlaintextSecret

    ctx = PoolContext(body, PoolShape("data", (), "body"), span_of)
    known = {(d.code, d.span) for d in seen}
    return [d for d in PlaintextSecret().check(ctx) if (d.code, d.span) not in known]


def _job_doc_path(c: Any, job_id: str, index: int) -> JsonPath:
    jobs = (c.data or {}).get("jobs") or []
    for i, j in enumerate(jobs):
        if isinstance(j, dict) and j.get("id") == job_id:
            return c.doc_path(("jobs", i))
    return ("jobs", index)


def validate_texts(items: Iterable[tuple[str, str]], config: Any = None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for path, text in items:
        out.extend(validate_document(path, text, config))
    return out
