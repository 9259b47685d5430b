"""Run the front end, the rules, the configuration and the inline suppressions over one formula."""

from __future__ import annotations

import dataclasses
import functools
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


def run_rules(ctx: FormulaContext, rules: tuple[type[FormulaRule], ...]) -> list[Finding]:
    findings: list[Finding] = []
    for rule_cls in rules:
        if not ctx.config.is_enabled(rule_cls.code, rule_cls.name, default_enabled=rule_cls.default_enabled, path=ctx.path):
            continue
        rule = rule_cls()
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
    configured = apply_config([f.diagnostic for f in findings], config, path)
    fix_by_key = {(f.diagnostic.code, f.diagnostic.span, f.diagnostic.message): f.fix for f in findings if f.fix}
    parsed = parse_suppressions(text, path, _statement_lines(formula), _known() if "batchspec" in text else None)

    def enabled(key: str) -> bool:
        rule = find_rule(key)
        if rule is None:
            return True
        return config.is_enabled(rule.code, rule.name, default_enabled=rule.default_enabled, path=path)

    final = apply_suppressions(configured, parsed, is_enabled=enabled)
    # the suppression warnings themselves obey select/ignore too
    final = [d for d in final if not d.code.startswith("BS00") or d.code in ("BS001", "BS002") or config.is_enabled(d.code, d.name, path=path)]
    final = [_re_level(d, config) for d in final]
    fixes = [(d, fix_by_key[(d.code, d.span, d.message)]) for d in final if (d.code, d.span, d.message) in fix_by_key]
    if origin is not None:
        mapper = _mapper(origin)
        final = [_map(d, mapper) for d in final]
        fixes = [(_map(d, mapper), f) for d, f in fixes]
    return LintResult(sort_and_dedupe(final), fixes, formula)


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


def lint_formula(text: str, path: str = "", config: LintConfig | None = None, *, origin: Any = None) -> list[Diagnostic]:
    """Front-end diagnostics + lint rules, filtered by ``config`` and inline suppressions, sorted. Never raises
    for bad formula text."""
    return lint_formula_result(text, path, config, origin=origin).diagnostics
