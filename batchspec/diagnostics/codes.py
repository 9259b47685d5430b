"""Codes that are not lint rules: the formula front end (FM0xx syntax, FM1xx names/types, FM3xx service limits).

Every code a user can see has a row here or in the lint rule registry, so ``batchspec rules`` and the docs list all
of them. Other areas (SP, TM, SM, AP, BS) add their rows to ``CHECKS`` in their own sections below.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchspec.diagnostics.model import Diagnostic, Related, Severity, Span


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    name: str
    severity: Severity
    summary: str


_E = Severity.ERROR
_W = Severity.WARNING

_FORMULA_CHECKS: tuple[Check, ...] = (
    # FM0xx: syntax
    Check("FM001", "syntax-error", _E, "the formula does not follow the grammar of the autoscale language"),
    Check(
        "FM002",
        "missing-semicolon",
        _E,
        'two statements are not separated by ";" (a line break is not enough)',
    ),
    Check("FM003", "unbalanced-parentheses", _E, 'a "(" is never closed, or a ")" has no matching "("'),
    Check("FM004", "invalid-character", _E, "a character that no token of the language can contain"),
    Check("FM005", "unterminated-string", _E, "a string has no closing double quote on its line"),
    Check("FM006", "incomplete-conditional", _E, 'a "?" without its ":" branch'),
    Check("FM007", "empty-formula", _E, "the formula has no statement (empty, or only comments)"),
    Check("FM008", "invalid-encoding", _E, "the file is not UTF-8 text"),
    Check("FM009", "nesting-too-deep", _E, "an expression is nested more deeply than batchspec supports"),
    Check("FM010", "invalid-statement", _E, "a statement that is neither an assignment nor a function call"),
    # FM1xx: names, types, arity
    Check("FM101", "undefined-variable", _E, "a variable is read before it is assigned, or does not exist"),
    Check("FM102", "read-only-assignment", _E, "assignment to a read-only service variable"),
    Check("FM103", "unknown-function", _E, "a call to a function the language does not have"),
    Check("FM104", "unknown-method", _E, "a method that metric variables do not have"),
    Check(
        "FM105", "wrong-argument-count", _E, "a function or method called with the wrong number of arguments"
    ),
    Check("FM106", "wrong-argument-type", _E, "an argument of the wrong type"),
    Check(
        "FM107",
        "invalid-deallocation-option",
        _E,
        "$NodeDeallocationOption assigned something other than "
        "requeue, retaineddata, taskcompletion or terminate",
    ),
    Check("FM108", "target-not-double", _E, "a node target assigned a value that is not a double"),
    Check(
        "FM109",
        "unsupported-operation",
        _E,
        "an operator applied to types the operations table does not list",
    ),
    Check(
        "FM110",
        "metric-not-sampled",
        _E,
        "a metric variable used as a number instead of through a sample method",
    ),
    Check(
        "FM111",
        "method-on-non-metric",
        _E,
        "a sample method called on something that is not a metric variable",
    ),
    Check(
        "FM112",
        "unknown-member",
        _E,
        "a member other than year, month, day, weekday, hour, minute, second, "
        "or a member of something that is not a timestamp",
    ),
    Check("FM113", "misplaced-keyword", _E, "a $NodeDeallocationOption keyword used outside its assignment"),
    Check("FM114", "assign-to-constant", _E, "assignment to a predefined constant or keyword"),
    Check("FM115", "invalid-condition", _E, "a condition (ternary, &&, ||, !) that is not a double"),
    # FM3xx: service limits
    Check("FM301", "formula-too-long", _E, "the formula has more than 8192 characters"),
    Check("FM302", "too-many-statements", _E, "the formula has more than 100 statements"),
    Check(
        "FM303", "formula-too-many-bytes", _W, "the formula is over 8192 bytes in UTF-8 (the docs say 8 KB)"
    ),
)

CHECKS: dict[str, Check] = {c.code: c for c in _FORMULA_CHECKS}
BY_NAME: dict[str, Check] = {c.name: c for c in _FORMULA_CHECKS}


def make(
    code: str,
    span: Span,
    message: str,
    *,
    hint: str | None = None,
    related: tuple[Related, ...] = (),
    severity: Severity | None = None,
) -> Diagnostic:
    """A Diagnostic for a built-in check, with its registered name and default severity."""
    check = CHECKS[code]
    return Diagnostic(
        code=code,
        name=check.name,
        severity=severity if severity is not None else check.severity,
        message=message,
        span=span,
        hint=hint,
        related=related,
    )


# SM: batchspec simulate (owner: SIM). SM0xx: failed --expect checks; SM1xx: scenario files.
_SIMULATE_CHECKS: tuple[Check, ...] = (
    Check("SM001", "expectation-failed", _E, "a --expect check on a simulation summary figure did not hold"),
    Check(
        "SM101", "scenario-syntax", _E, "the scenario file is not valid YAML, or too large or deeply nested"
    ),
    Check("SM102", "scenario-unknown-key", _E, "the scenario has a key batchspec does not know"),
    Check("SM103", "scenario-invalid-value", _E, "a scenario value has the wrong type, unit or range"),
    Check("SM104", "scenario-missing-key", _E, "a required scenario key is missing"),
    Check("SM105", "replay-file-invalid", _E, "a replay CSV file cannot be read or has a bad row"),
)
CHECKS.update({c.code: c for c in _SIMULATE_CHECKS})
BY_NAME.update({c.name: c for c in _SIMULATE_CHECKS})
