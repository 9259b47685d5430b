"""Run the front end, the rules, the configuration and the inline suppressions over one formula."""

from __future__ import annotations

import dataclasses
import functools
import gc
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Related, Severity, Span, sort_and_dedupe
from batchspec.formula import ast
from batchspec.lint.config import LintConfig, apply_config
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Finding, Fix, FormulaRule
from batchspec.lint.suppress import apply_suppressions, parse_suppressions


@dataclass(frozen=True, slots=True)
class LintResult:
    diagnostics: list[Diagnostic]
    fixes: list[tuple[Diagnostic, Fix]]  # fixable findings that survived config and suppressions
    formula: ast.Formula | None


@functools.cache
def _known() -> frozenset[str]:
    from batchspec.lint.registry import known_keys

    return frozenset(known_keys())


@functools.cache
def _formula_rules() -> tuple[type[FormulaRule], ...]:
    from batchspec.lint.registry import all_rules

    return tuple(r for r in all_rules() if issubclass(r, FormulaRule))


@functools.cache
def _instance(rule_cls: type[FormulaRule]) -> FormulaRule:
    return rule_cls()  # rules are stateless


def _enabled_rules(
    config: LintConfig, path: str, rules: tuple[type[FormulaRule], ...]
) -> list[type[FormulaRule]]:
    """The rules that run for ``path``; cached on the config unless per-file ignores make it depend on the path."""
    key = path if config.per_file_ignores else ""
    cache: dict[str, list[type[FormulaRule]]] = config.__dict__.setdefault("_enabled_rules_cache", {})
    found = cache.get(key)
    if found is None:
        found = [
            r
            for r in rules
            if config.is_enabled(r.code, r.name, default_enabled=r.default_enabled, path=path)
        ]
        cache[key] = found
    return found


def run_rules(ctx: FormulaContext, rules: tuple[type[FormulaRule], ...]) -> list[Finding]:
    findings: list[Finding] = []
    for rule_cls in _enabled_rules(ctx.config, ctx.path, rules):
        rule = _instance(rule_cls)
        try:
            findings.extend(rule.check(ctx))
        except Exception as exc:  # a bug in a rule must not hide the other findings
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
            findings.append(
                Finding(
                    Diagnostic(
                        code="BS002",
                        name="rule-crashed",
                        severity=Severity.ERROR,
                        message=f'rule {rule_cls.code} "{rule_cls.name}" crashed: {type(exc).__name__}: {exc}{where}',
                        span=Span(ctx.path, Pos(1, 1), Pos(1, 1)),
                        hint="this is a bug in batchspec, please report it; "
                        f"ignore[{rule_cls.name}] in the configuration skips the rule",
                    )
                )
            )
    return findings


def _statement_lines(formula: ast.Formula | None) -> list[tuple[int, int]]:
    if formula is None:
        return []
    return [(s.span.start.line, s.span.end.line) for s in formula.statements]


def lint_formula_result(
    text: str,
    path: str = "",
    config: LintConfig | None = None,
    *,
    origin: Any = None,
) -> LintResult:
    from batchspec.formula import check_formula
    from batchspec.lint.registry import find_rule

    config = config or LintConfig()
    formula, front = check_formula(text, path)
    findings: list[Finding] = [Finding(d) for d in front]
    if formula is not None:
        findings.extend(run_rules(FormulaContext(text, path, formula, config), _formula_rules()))
        findings = _merge_case_fixes(findings)
        findings = _keyword_case_fixes(findings, text)
        findings = _misspelt_option_hints(findings, formula)
    plain = config.is_plain
    diagnostics = [f.diagnostic for f in findings]
    configured = diagnostics if plain else apply_config(diagnostics, config, path)
    fix_by_key = {
        (f.diagnostic.code, f.diagnostic.span, f.diagnostic.message): f.fix for f in findings if f.fix
    }
    if "batchspec" not in text:  # no directive can be there: skip the suppression machinery
        final = _drop_cascades(configured, formula)
        fixes = [
            (d, fix_by_key[(d.code, d.span, d.message)])
            for d in final
            if (d.code, d.span, d.message) in fix_by_key
        ]
        if origin is None:
            return LintResult(sort_and_dedupe(final), fixes, formula)
        mapper = _mapper(origin)
        return LintResult(
            sort_and_dedupe([_map(d, mapper) for d in final]),
            [(_map(d, mapper), f) for d, f in fixes],
            formula,
        )
    parsed = parse_suppressions(text, path, _statement_lines(formula), _known())

    def enabled(key: str) -> bool:
        rule = find_rule(key)
        if rule is None:
            return True
        return config.is_enabled(rule.code, rule.name, default_enabled=rule.default_enabled, path=path)

    final = apply_suppressions(configured, parsed, is_enabled=enabled)
    # the suppression warnings themselves obey select/ignore too
    final = [
        d
        for d in final
        if not d.code.startswith("BS00")
        or d.code in ("BS001", "BS002")
        or config.is_enabled(d.code, d.name, path=path)
    ]
    final = [_re_level(d, config) for d in final]
    final = _drop_cascades(final, formula)
    fixes = [
        (d, fix_by_key[(d.code, d.span, d.message)])
        for d in final
        if (d.code, d.span, d.message) in fix_by_key
    ]
    if origin is not None:
        mapper = _mapper(origin)
        final = [_map(d, mapper) for d in final]
        fixes = [(_map(d, mapper), f) for d, f in fixes]
    return LintResult(sort_and_dedupe(final), fixes, formula)


@functools.cache
def _rule_codes() -> frozenset[str]:
    return frozenset(r.code for r in _formula_rules())


def _within(inner: Span, outer: Span) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


_SUGGESTION = re.compile(r'did you mean "([^"]+)"\?')
_UNUSED = re.compile(r'variable "([^"]+)" is assigned but never used')


def _drop_cascades(diagnostics: list[Diagnostic], formula: ast.Formula | None) -> list[Diagnostic]:
    """Report the root cause once: drop lint findings that only repeat or follow from another diagnostic.

    - A rule finding on a part of the formula the front end rejected (an error-level FM0xx/FM1xx) is dropped
      when its span overlaps the error or lies within a statement that has one: ``$x == 5;`` is an invalid
      statement (FM010), not also a thrown-away result (FM220);
      ``$TargetDedicatedNodes = $PendingTasks.GetSample(10);`` is a type error (FM108), not also an unbounded
      target (FM205). The rule reasons about code that does not
      mean what it says, so its finding is noise until the error is fixed. Findings anchored at a point (the
      formula-wide ones, such as FM204) are kept.
    - FM204 (no target assigned) is dropped when FM211 reports, on the same name, the target written without
      its "$" or in the wrong case: that is why no target is assigned, and FM211 carries the fix.
    - FM213 (unused variable) is dropped where FM204 points at the same assignment (a misspelt target such as
      ``$TargetDedicatedNode = 1;``), and for a variable that an undefined-variable error (FM101) suggests: in
      ``$samples = 1; $TargetDedicatedNodes = $sample;`` "$samples" only looks unused because of the typo.

    Runs after the configuration and the inline suppressions, so a disabled or suppressed root cause lets the
    follow-on findings through.
    """
    rules = _rule_codes()
    errors = [
        d.span
        for d in diagnostics
        if d.code not in rules and d.code.startswith("FM") and d.severity is Severity.ERROR
    ]
    case_spans = {d.span for d in diagnostics if d.code == "FM211"}
    suggested = {
        m.group(1)
        for d in diagnostics
        if d.code == "FM101" and d.hint and (m := _SUGGESTION.match(d.hint)) is not None
    }
    no_target_spans = {d.span for d in diagnostics if d.code == "FM204" and d.span.start != d.span.end}
    if not errors and not case_spans and not no_target_spans:
        return diagnostics
    broken: list[Span] = []
    if errors and formula is not None:
        for st in formula.statements:
            if any(_overlaps(e, st.span) or (e.start == e.end and _within(e, st.span)) for e in errors):
                broken.append(st.span)

    def is_cascade(d: Diagnostic) -> bool:
        if d.code not in rules:
            return False
        if d.code == "FM204" and d.span in case_spans:
            return True
        if d.code == "FM213" and d.span in no_target_spans:
            return True  # "$TargetDedicatedNode = 1;": FM204 names the misspelt target already
        if d.code == "FM213" and suggested:
            m = _UNUSED.match(d.message)
            if m is not None and m.group(1) in suggested:
                return True
        if d.span.start == d.span.end:
            return False
        return any(_overlaps(d.span, e) for e in errors) or any(_within(d.span, st) for st in broken)

    return [d for d in diagnostics if not is_cascade(d)]


def _merge_case_fixes(findings: list[Finding]) -> list[Finding]:
    """A read of ``$pendingtasks`` is both undefined (FM101) and a case typo (FM211): one mistake, so report the
    error once and give it the rename as its --fix."""
    undefined = {f.diagnostic.span: i for i, f in enumerate(findings) if f.diagnostic.code == "FM101"}
    if not undefined:
        return findings
    out = list(findings)
    drop: set[int] = set()
    for i, f in enumerate(findings):
        host = undefined.get(f.diagnostic.span)
        if f.diagnostic.code != "FM211" or f.fix is None or host is None:
            continue
        d = out[host].diagnostic
        hint = f"{d.hint} (--fix does this)" if d.hint and "--fix" not in d.hint else d.hint
        out[host] = Finding(dataclasses.replace(d, hint=hint), f.fix)
        drop.add(i)
    return [f for i, f in enumerate(out) if i not in drop]


def _keyword_case_fixes(findings: list[Finding], text: str) -> list[Finding]:
    """``$NodeDeallocationOption = TaskCompletion``: names are case-sensitive, so the type checker rejects it
    (FM107); the lower-case keyword is the only possible meaning, so --fix writes it."""
    from batchspec.formula import builtins as b
    from batchspec.lint.rule import Edit

    lines: list[str] | None = None
    out = []
    for f in findings:
        d = f.diagnostic
        if d.code == "FM107" and f.fix is None and d.span.start.line == d.span.end.line:
            lines = lines if lines is not None else text.split("\n")
            row = lines[d.span.start.line - 1] if d.span.start.line <= len(lines) else ""
            word = row[d.span.start.col - 1 : d.span.end.col - 1]
            if word.lower() in b.DEALLOCATION_OPTIONS and word != word.lower():
                hint = f'write "{word.lower()}" (--fix does this)'
                f = Finding(
                    dataclasses.replace(d, hint=hint), Fix(f"write {word.lower()}", (Edit(d.span, word.lower()),))
                )
        out.append(f)
    return out


_NDO = "$NodeDeallocationOption"


def _misspelt_option_hints(findings: list[Finding], formula: ast.Formula) -> list[Finding]:
    """``$NodeDeallocationOptions = taskcompletion;``: the keyword is rejected (FM113) because the name is a
    misspelling, so say which name was meant."""
    from batchspec.lint.rules.formula._util import misspelt_writable

    out = []
    for f in findings:
        d = f.diagnostic
        if d.code == "FM113" and d.hint is None:
            for st in formula.statements:
                if isinstance(st, ast.Assignment) and _within(d.span, st.value.span):
                    if misspelt_writable(st.target.name) == _NDO:
                        name = st.target.name
                        hint = f'did you mean "{_NDO}"? "{name}" is an ordinary user variable'
                        f = Finding(dataclasses.replace(d, hint=hint), f.fix)
                    break
        out.append(f)
    return out


def _re_level(d: Diagnostic, config: LintConfig) -> Diagnostic:
    if d.code in ("BS003", "BS004"):
        level = config.severity_for(d.code)
        if level is not None and level != d.severity:
            return dataclasses.replace(d, severity=level)
    return d


def _mapper(origin: Any) -> Callable[[Span], Span]:
    for attr in ("map_span", "map"):
        fn = getattr(origin, attr, None)
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    if callable(origin):
        return origin  # type: ignore[no-any-return]
    raise TypeError("origin must be a callable Span -> Span or have a map_span method")


def _map(d: Diagnostic, mapper: Callable[[Span], Span]) -> Diagnostic:
    return dataclasses.replace(
        d,
        span=mapper(d.span),
        related=tuple(Related(mapper(r.span), r.message) for r in d.related),
    )


def lint_formula(
    text: str, path: str = "", config: LintConfig | None = None, *, origin: Any = None
) -> list[Diagnostic]:
    """Front-end diagnostics + lint rules, filtered by ``config`` and inline suppressions, sorted. Never raises
    for bad formula text."""
    return lint_formula_result(text, path, config, origin=origin).diagnostics


def _without_cyclic_gc(fn: Callable[..., LintResult]) -> Callable[..., LintResult]:
    """Pause the cyclic garbage collector while one formula is linted.

    The analysis allocates many small objects and no reference cycles (everything is freed by reference counting),
    but the allocations alone trigger collections that scan every live object: measured, that was about a third
    of the linter's cost (bench/lint.py reports both figures). The collector is restarted afterwards, and left
    alone when the caller had switched it off.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> LintResult:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


lint_formula_result = _without_cyclic_gc(lint_formula_result)
