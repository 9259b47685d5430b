"""The rule registry: every lint rule by code and by name, with its metadata checked once.

``ALL_RULES`` (``batchspec/lint/rules/__init__.py``) is an explicit tuple; ``check_rules`` rejects duplicate codes
or names, codes outside their area, names that are not kebab-case, a missing docstring and empty ``examples``.
``LINT_CODES`` lists the codes the linter machinery itself reports (bad config, crashed rule, suppressions).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from batchspec.diagnostics.model import Severity
from batchspec.lint.rule import Rule


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of ``batchspec rules``: a lint rule, a built-in check or a tool code."""

    code: str
    name: str
    severity: Severity
    summary: str
    area: str  # "formula lint rule", "formula syntax", …
    fixable: bool = False
    default_enabled: bool = True


# Codes the linter machinery reports (style.md §3.2, BS0xx).
LINT_CODES: tuple[CodeInfo, ...] = (
    CodeInfo("BS001", "invalid-config", Severity.ERROR, "the batchspec configuration is malformed", "tool"),
    CodeInfo(
        "BS002", "rule-crashed", Severity.ERROR, "a lint rule raised an exception (a batchspec bug)", "tool"
    ),
    CodeInfo(
        "BS003",
        "unused-suppression",
        Severity.WARNING,
        "an inline suppression that suppresses nothing",
        "tool",
    ),
    CodeInfo(
        "BS004",
        "unknown-suppression",
        Severity.WARNING,
        "an inline suppression names a code or rule that does not exist",
        "tool",
    ),
)

_CODE_RE = re.compile(r"^[A-Z]{2}\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# lint rules live in the "practice" ranges of their area (style.md §3.2)
_RULE_AREAS = ("FM2", "SP2")


class RegistryError(Exception):
    """Bad rule metadata: a bug in batchspec, caught by the tests."""


def check_rules(rules: Iterable[type[Rule]]) -> None:
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for rule in rules:
        label = rule.__name__
        if not _CODE_RE.match(rule.code or ""):
            raise RegistryError(f"{label}: code {rule.code!r} is not two capital letters and three digits")
        if not rule.code.startswith(_RULE_AREAS):
            raise RegistryError(
                f"{label}: code {rule.code} is outside the lint areas {', '.join(_RULE_AREAS)}xx"
            )
        if not _NAME_RE.match(rule.name or ""):
            raise RegistryError(f"{label}: name {rule.name!r} is not kebab-case")
        if rule.code in codes:
            raise RegistryError(f"{label}: code {rule.code} is already used by {codes[rule.code]}")
        if rule.name in names:
            raise RegistryError(f"{label}: name {rule.name} is already used by {names[rule.name]}")
        if not rule.title():
            raise RegistryError(f"{label}: missing docstring (its first line is the rule's title)")
        if not rule.examples:
            raise RegistryError(f"{label}: no examples (each rule needs at least one bad/good pair)")
        if rule.Options is not None:
            if not dataclasses.is_dataclass(rule.Options) or not rule.Options.__dataclass_params__.frozen:  # type: ignore[attr-defined]
                raise RegistryError(f"{label}: Options must be a frozen dataclass")
            for f in dataclasses.fields(rule.Options):
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise RegistryError(f"{label}: option {f.name} has no default")
        codes[rule.code] = label
        names[rule.name] = label


@functools.cache
def all_rules() -> tuple[type[Rule], ...]:
    from batchspec.lint.rules import ALL_RULES

    check_rules(ALL_RULES)
    return ALL_RULES


@functools.cache
def rules_by_key() -> dict[str, type[Rule]]:
    """Both codes and names map to the rule."""
    out: dict[str, type[Rule]] = {}
    for rule in all_rules():
        out[rule.code] = rule
        out[rule.name] = rule
    return out


def find_rule(key: str) -> type[Rule] | None:
    return rules_by_key().get(key) or rules_by_key().get(key.upper())


def rule_infos() -> list[CodeInfo]:
    return [
        CodeInfo(
            r.code,
            r.name,
            r.default_severity,
            r.title(),
            "formula lint rule" if r.code.startswith("FM") else "spec lint rule",
            fixable=r.fixable,
            default_enabled=r.default_enabled,
        )
        for r in all_rules()
    ]


def _codes_table() -> list[CodeInfo]:
    """FRONTEND's table of built-in (non-rule) codes, when present."""
    try:
        from batchspec.diagnostics import codes as codes_module
    except ImportError:
        return []
    out: list[CodeInfo] = []
    for row in _iter_code_rows(codes_module):
        out.append(row)
    return out


def _iter_code_rows(module: object) -> Iterable[CodeInfo]:
    # The table's exact container is FRONTEND's choice; accept a dict or a sequence of rows with the
    # attributes code, name, severity, summary (and optionally area).
    table = None
    for attr in ("CHECKS", "CODES", "ALL_CODES"):
        table = getattr(module, attr, None)
        if table is not None:
            break
    if table is None:
        return
    rows = table.values() if isinstance(table, dict) else table
    for row in rows:
        code = getattr(row, "code", None)
        if code is None:
            continue
        severity = getattr(row, "severity", Severity.ERROR)
        if isinstance(severity, str):
            severity = Severity.parse(severity)
        yield CodeInfo(
            code,
            getattr(row, "name", ""),
            severity,
            getattr(row, "summary", ""),
            getattr(row, "area", "") or _area_of(code),
        )


def rule_class_infos(rules: Iterable[Any], area: str) -> list[CodeInfo]:
    """Rows for rule classes that follow the Rule protocol (code, name, default_severity, title())."""
    out: list[CodeInfo] = []
    for r in rules:
        title_fn = getattr(r, "title", None)
        title = title_fn() if callable(title_fn) else (getattr(r, "__doc__", "") or "").strip()
        out.append(
            CodeInfo(
                r.code,
                r.name,
                getattr(r, "default_severity", Severity.WARNING),
                title.splitlines()[0] if title else "",
                area,
                fixable=bool(getattr(r, "fixable", False)),
                default_enabled=bool(getattr(r, "default_enabled", True)),
            )
        )
    return out


_AREAS = {
    "FM0": "formula syntax",
    "FM1": "formula names and types",
    "FM2": "formula lint rule",
    "FM3": "formula service limits",
    "SP0": "spec structure",
    "SP1": "spec schema",
    "SP2": "spec lint rule",
    "TM0": "template rendering",
    "SM0": "simulation expectation",
    "AP0": "apply plan",
    "BS0": "tool",
}


def _area_of(code: str) -> str:
    return _AREAS.get(code[:3], "other")


def every_code(extra: Iterable[CodeInfo] = ()) -> list[CodeInfo]:
    """Every code a user can see, sorted by code; rules win over table rows that share a code.

    ``extra``: rows from areas lint must not import (SPEC's spec rules); the CLI passes them.
    """
    merged: dict[str, CodeInfo] = {}
    for row in [*_codes_table(), *LINT_CODES, *extra, *rule_infos()]:
        merged[row.code] = row
    return [merged[c] for c in sorted(merged)]


def known_keys(extra: Iterable[CodeInfo] = ()) -> set[str]:
    """Codes and names accepted by select/ignore/suppressions."""
    out: set[str] = set()
    for row in every_code(extra):
        out.add(row.code)
        if row.name:
            out.add(row.name)
    return out
