"""Static checks of names, types and arity (FM1xx), driven by the tables in builtins.py.

The checker follows the statements in order (the language has no control flow): a user variable is defined from
its first assignment on, and its type is the type of its latest assignment. It is never stricter than the service:
when a type is not known (after an earlier error, or a ternary whose branches differ) it accepts everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Diagnostic, Related, Span
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.formula.types import (
    DEALLOCATION_OPTION,
    DOUBLE,
    DOUBLE_VEC,
    NONE,
    STRING,
    TIMEINTERVAL,
    TIMESTAMP,
    UNKNOWN,
    Type,
    article,
    describe_types,
)


@dataclass(frozen=True)
class CheckOptions:
    # A8: accept "double op doubleVec" (e.g. 2 * v) like "doubleVec op double"; the service table does not list it
    allow_double_op_doublevec: bool = False
    # A11: metric variables that may also be read directly as a double (e.g. {"$PreemptedNodeCount"})
    bare_metrics: frozenset[str] = frozenset()


_AGGREGATE_HINT = "aggregate it first, e.g. avg(…), max(…) or min(…)"
_NDO = "$NodeDeallocationOption"


def _suggest(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    import difflib  # only needed when something is wrong

    for c in candidates:
        if c != name and c.lower() == name.lower():
            return c
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    if not matches and not name.startswith("$"):
        matches = difflib.get_close_matches("$" + name, candidates, n=1, cutoff=0.85)
    return matches[0] if matches else None


# names people reach for that the language spells differently
_FUNCTION_SYNONYMS = {
    "now": "time",
    "average": "avg",
    "mean": "avg",
    "count": "len",
    "length": "len",
    "size": "len",
    "minimum": "min",
    "maximum": "max",
    "ceiling": "ceil",
    "total": "sum",
    "stdev": "std",
    "stddev": "std",
}


class _Checker:
    def __init__(self, path: str, broken_names: frozenset[str], options: CheckOptions) -> None:
        self.path = path
        self.broken_names = broken_names
        self.options = options
        self.diagnostics: list[Diagnostic] = []
        self.user_types: dict[str, Type] = {}
        self.first_assignment: dict[str, ast.Var] = {}
        self.reported_undefined: set[str] = set()

    def report(self, code: str, span: Span, message: str, **kw) -> None:  # type: ignore[no-untyped-def]
        self.diagnostics.append(make(code, span, message, **kw))

    # -- statements ------------------------------------------------------------------------------------------
    def check(self, formula: ast.Formula) -> None:
        for stmt in formula.statements:
            if isinstance(stmt, ast.Assignment):
                self.first_assignment.setdefault(stmt.target.name, stmt.target)
        for stmt in formula.statements:
            if isinstance(stmt, ast.Assignment):
                self.assignment(stmt)
            else:
                inner = ast.unparen(stmt.expr)
                if not isinstance(inner, (ast.Call, ast.MethodCall)):
                    hint = "assign the value to a variable: name = …"
                    if isinstance(inner, ast.Binary) and inner.op == "==" and isinstance(inner.left, ast.Var):
                        hint = 'to assign, write "=" instead of "=="'
                    self.report(
                        "FM010", stmt.span, "a statement must be an assignment or a function call", hint=hint
                    )
                self.expr(stmt.expr)

    def assignment(self, stmt: ast.Assignment) -> None:
        name = stmt.target.name
        service = b.SERVICE_VARIABLES.get(name)
        is_ndo = service is not None and service.canonical == _NDO
        inner = ast.unparen(stmt.value)
        if is_ndo and isinstance(inner, ast.Var) and self._unknown_name(inner.name):
            self.deallocation_value(stmt.value, UNKNOWN, force=True)
            return
        value_type = self.expr(stmt.value, keyword_ok=is_ndo)
        target_span = stmt.target.span
        if service is not None:
            if not service.writable:
                hint = None
                if service.sampled:
                    hint = f'store values in a variable of your own, e.g. "{name[1:].lower()} = …"'
                self.report("FM102", target_span, f'"{name}" is a read-only service variable', hint=hint)
                return
            if is_ndo:
                self.deallocation_value(stmt.value, value_type)
                return
            if value_type not in (DOUBLE, UNKNOWN, NONE):
                hint = _AGGREGATE_HINT if value_type is DOUBLE_VEC else None
                self.report(
                    "FM108",
                    stmt.value.span,
                    f'{article(value_type.value)} cannot be assigned to "{name}"; a node target must be a double',
                    hint=hint,
                )
            return
        if name in b.TIME_INTERVALS or name in b.DEALLOCATION_OPTIONS:
            kind = "time interval constant" if name in b.TIME_INTERVALS else "$NodeDeallocationOption keyword"
            self.report("FM114", target_span, f'cannot assign to "{name}", a predefined {kind}')
            return
        self.user_types[name] = UNKNOWN if value_type in (NONE, DEALLOCATION_OPTION) else value_type

    def _unknown_name(self, name: str) -> bool:
        return not (
            name in b.SERVICE_VARIABLES
            or name in b.TIME_INTERVALS
            or name in b.DEALLOCATION_OPTIONS
            or name in self.user_types
            or name in self.broken_names
        )

    def deallocation_value(self, value: ast.Expr, value_type: Type, *, force: bool = False) -> None:
        if value_type in (DEALLOCATION_OPTION, UNKNOWN) and not force:
            return
        options = ", ".join(b.DEALLOCATION_OPTIONS)
        inner = ast.unparen(value)
        hint = None
        if isinstance(inner, ast.Var):
            got = f'"{inner.name}"'
            suggestion = _suggest(inner.name, b.DEALLOCATION_OPTIONS)
            if suggestion:
                hint = f'did you mean "{suggestion}"?'
        elif isinstance(inner, ast.String):
            got = f'the string "{inner.value}"'
            if inner.value.lower() in b.DEALLOCATION_OPTIONS:
                hint = f"write the keyword without quotes: {inner.value.lower()}"
        else:
            got = article(value_type.value)
        self.report("FM107", value.span, f'"{_NDO}" cannot be {got}; expected one of {options}', hint=hint)

    # -- expressions ------------------------------------------------------------------------------------------
    def expr(self, e: ast.Expr, *, keyword_ok: bool = False) -> Type:
        if isinstance(e, ast.Number):
            return DOUBLE
        if isinstance(e, ast.String):
            return STRING
        if isinstance(e, ast.Paren):
            return self.expr(e.expr, keyword_ok=keyword_ok)
        if isinstance(e, ast.Var):
            return self.var(e, keyword_ok=keyword_ok)
        if isinstance(e, ast.Unary):
            return self.unary(e)
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Ternary):
            return self.ternary(e, keyword_ok=keyword_ok)
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Member):
            return self.member(e)
        if isinstance(e, ast.MethodCall):
            return self.method_call(e)
        raise AssertionError(f"unhandled node {type(e).__name__}")  # pragma: no cover

    def var(self, e: ast.Var, *, keyword_ok: bool = False) -> Type:
        name = e.name
        service = b.SERVICE_VARIABLES.get(name)
        if service is not None:
            if service.sampled and name not in self.options.bare_metrics:
                self.report(
                    "FM110",
                    e.span,
                    f'"{name}" is a metric and must be read through a sample method',
                    hint=f"e.g. {name}.GetSample(1) for the last sample, or "
                    f"avg({name}.GetSample(TimeInterval_Minute * 5))",
                )
                return UNKNOWN
            return service.type
        if name in b.TIME_INTERVALS:
            return TIMEINTERVAL
        if name in b.DEALLOCATION_OPTIONS:
            if keyword_ok:
                return DEALLOCATION_OPTION
            self.report(
                "FM113",
                e.span,
                f'"{name}" is a value of "{_NDO}" and can only be assigned to it',
            )
            return UNKNOWN
        if name in self.user_types:
            return self.user_types[name]
        if name in self.broken_names:
            return UNKNOWN
        if name not in self.reported_undefined:  # report each undefined name once
            self.reported_undefined.add(name)
            self.undefined(e)
        return UNKNOWN

    def undefined(self, e: ast.Var) -> None:
        name = e.name
        related: tuple[Related, ...] = ()
        later = self.first_assignment.get(name)
        if later is not None:
            self.report(
                "FM101",
                e.span,
                f'variable "{name}" is read before it is assigned',
                hint="move the assignment above this statement",
                related=(Related(later.span, f'"{name}" is first assigned here'),),
            )
            return
        if name in b.FUNCTIONS:
            self.report(
                "FM101",
                e.span,
                f'undefined variable "{name}"',
                hint=f'"{name}" is a function: call it, {name}(…)',
            )
            return
        candidates = list(dict.fromkeys([*self.user_types, *b.SERVICE_VARIABLES, *b.TIME_INTERVALS]))
        suggestion = _suggest(name, candidates)
        hint = f'did you mean "{suggestion}"?' if suggestion else None
        if suggestion is None and not name.startswith("$") and name.lower() in ("true", "false"):
            hint = "there are no booleans; use 1 and 0"
        self.report("FM101", e.span, f'undefined variable "{name}"', hint=hint, related=related)

    def unary(self, e: ast.Unary) -> Type:
        t = self.expr(e.operand)
        if t is UNKNOWN:
            return DOUBLE if e.op == "!" else UNKNOWN
        result = b.UNARY_OPERATIONS.get((e.op, t))
        if result is not None:
            return result
        if e.op == "!":
            self.report(
                "FM115",
                e.operand.span,
                f'the operand of "!" must be a double, got {article(t.value)}',
                hint=_AGGREGATE_HINT if t is DOUBLE_VEC else None,
            )
            return DOUBLE
        self.report(
            "FM109",
            e.op_span,
            f'unsupported operation "-{t.value}"; unary "-" applies to a double or a timeinterval',
            hint="multiply instead: v * -1" if t is DOUBLE_VEC else None,
        )
        return UNKNOWN

    def binary(self, e: ast.Binary) -> Type:
        lt = self.expr(e.left)
        rt = self.expr(e.right)
        op = e.op
        if op in b.LOGICAL_OPERATORS:
            for side, t in ((e.left, lt), (e.right, rt)):
                if t not in (DOUBLE, UNKNOWN):
                    self.report(
                        "FM115",
                        side.span,
                        f'the operands of "{op}" must be doubles, got {article(t.value)}',
                        hint=_AGGREGATE_HINT if t is DOUBLE_VEC else None,
                    )
            return DOUBLE
        if lt is UNKNOWN or rt is UNKNOWN:
            return DOUBLE if op in b.COMPARISON_OPERATORS else UNKNOWN
        result = b.OPERATIONS.get((lt, op, rt))
        if result is None and self.options.allow_double_op_doublevec:
            result = b.LENIENT_OPERATIONS.get((lt, op, rt))
        if result is not None:
            return result
        hint = None
        if lt is DOUBLE and rt is DOUBLE_VEC and op in "+*":
            hint = f"only doubleVec {op} double is defined: put the doubleVec first"
        elif lt is DOUBLE and rt is DOUBLE_VEC:
            hint = f"only doubleVec {op} double is defined; " + _AGGREGATE_HINT
        elif DOUBLE_VEC in (lt, rt) and op in b.COMPARISON_OPERATORS:
            hint = "a doubleVec cannot be compared; " + _AGGREGATE_HINT
        elif lt is TIMESTAMP and rt is TIMEINTERVAL and op == "-":
            hint = "add a negative interval instead: t + (-1 * TimeInterval_Hour)"
        elif lt is TIMESTAMP and rt is DOUBLE and op in "+-":
            sign = "-" if op == "-" else ""
            hint = f"a number is not a time interval; write e.g. t + ({sign}5 * TimeInterval_Minute)"
        elif lt is TIMEINTERVAL and rt is DOUBLE and op in "+-":
            hint = "multiply the number by a unit first, e.g. 5 * TimeInterval_Minute"
        elif NONE in (lt, rt):
            hint = "stop() returns no value"
        self.report("FM109", e.op_span, f'unsupported operation "{lt.value} {op} {rt.value}"', hint=hint)
        return UNKNOWN

    def ternary(self, e: ast.Ternary, *, keyword_ok: bool) -> Type:
        ct = self.expr(e.condition)
        if ct not in (DOUBLE, UNKNOWN):
            self.report(
                "FM115",
                e.condition.span,
                f"the condition of a conditional must be a double, got {article(ct.value)}",
                hint=_AGGREGATE_HINT if ct is DOUBLE_VEC else None,
            )
        t1 = self.expr(e.if_true, keyword_ok=keyword_ok)
        t2 = self.expr(e.if_false, keyword_ok=keyword_ok)
        if keyword_ok:  # the value of $NodeDeallocationOption: each branch must be a keyword
            for branch, t in ((e.if_true, t1), (e.if_false, t2)):
                if t not in (DEALLOCATION_OPTION, UNKNOWN, NONE):
                    self.deallocation_value(branch, t)
            return DEALLOCATION_OPTION
        if t1 is t2:
            return t1
        if t1 is NONE or t1 is UNKNOWN:
            return t2 if t1 is NONE else UNKNOWN
        if t2 is NONE:
            return t1
        return UNKNOWN

    # -- calls -------------------------------------------------------------------------------------------------
    def call(self, e: ast.Call) -> Type:
        arg_types = [self.expr(a) for a in e.args]
        fn = b.FUNCTIONS.get(e.name)
        if fn is None:
            suggestion = _FUNCTION_SYNONYMS.get(e.name.lower()) or _suggest(e.name, tuple(b.FUNCTIONS))
            hint = f'did you mean "{suggestion}"?' if suggestion else None
            if e.name in b.SERVICE_VARIABLES or e.name in self.user_types:
                hint = f'"{e.name}" is a variable, not a function'
            self.report("FM103", e.name_span, f'unknown function "{e.name}"', hint=hint)
            return UNKNOWN
        return self.resolve(f'"{e.name}"', fn.signatures, e.args, arg_types, e.span)

    def method_call(self, e: ast.MethodCall) -> Type:
        receiver = ast.unparen(e.receiver)
        service = b.SERVICE_VARIABLES.get(receiver.name) if isinstance(receiver, ast.Var) else None
        receiver_ok = service is not None and service.methods_allowed
        receiver_type = self.expr(e.receiver) if service is None else UNKNOWN
        arg_types = [self.expr(a) for a in e.args]
        method = b.METHODS.get(e.method)
        if method is None:
            suggestion = _suggest(e.method, tuple(b.METHODS))
            if receiver_type is DOUBLE_VEC:
                hint = "a doubleVec has no methods; pass it to a function such as avg(…), max(…), min(…) or sum(…)"
            elif suggestion:
                hint = f'did you mean "{suggestion}"?'
            else:
                hint = "metrics have the methods " + ", ".join(b.METHODS)
            self.report("FM104", e.method_span, f'unknown method "{e.method}"', hint=hint)
            return UNKNOWN
        receiver_unknown = (
            isinstance(receiver, ast.Var) and service is None and self._unknown_name(receiver.name)
        )
        if not receiver_ok and not receiver_unknown:
            if service is not None:
                message = (
                    f'"{service.name}" is not a metric; "{e.method}" can only be called on a metric variable'
                )
            else:
                message = f'"{e.method}" can only be called on a metric variable such as "$PendingTasks"'
            self.report(
                "FM111",
                e.receiver.span,
                message,
                hint="metrics: "
                + ", ".join(
                    v.name for v in b.SERVICE_VARIABLES.values() if v.sampled and not v.retired_since
                ),
            )
        name = f'"{receiver.name}.{e.method}"' if isinstance(receiver, ast.Var) else f'"{e.method}"'
        result = self.resolve(name, method.signatures, e.args, arg_types, e.span)
        return result

    def resolve(
        self,
        display: str,
        signatures: tuple[b.Signature, ...],
        args: tuple[ast.Expr, ...],
        arg_types: list[Type],
        span: Span,
    ) -> Type:
        n = len(args)
        candidates = [s for s in signatures if _accepts_count(s, n)]
        if not candidates:
            counts = sorted({s.arity()[0] for s in signatures})
            if len(counts) == 1:
                wanted = f"{counts[0]} argument" + ("" if counts[0] == 1 else "s")
            else:
                wanted = ", ".join(str(c) for c in counts[:-1]) + f" or {counts[-1]} arguments"
            self.report("FM105", span, f"{display} expects {wanted}, got {n}")
            returns = {s.returns for s in signatures}
            return returns.pop() if len(returns) == 1 else UNKNOWN
        for i, t in enumerate(arg_types):
            if t is UNKNOWN:
                continue
            allowed: set[Type] = set()
            for s in candidates:
                allowed |= _param_types(s, i)
            if t not in allowed:
                hint = None
                if t is DOUBLE_VEC and DOUBLE in allowed:
                    hint = _AGGREGATE_HINT
                elif t is DOUBLE and TIMEINTERVAL in allowed:
                    hint = "a time window is a timeinterval, e.g. 10 * TimeInterval_Minute"
                self.report(
                    "FM106",
                    args[i].span,
                    f"argument {i + 1} of {display} must be {article(describe_types(allowed))}, "
                    f"got {article(t.value)}",
                    hint=hint,
                )
                returns = {s.returns for s in candidates}
                return returns.pop() if len(returns) == 1 else UNKNOWN
            candidates = [s for s in candidates if t in _param_types(s, i)]
        returns = {s.returns for s in candidates}
        if len(returns) == 1:
            return returns.pop()
        if UNKNOWN not in arg_types:
            return candidates[0].returns
        return UNKNOWN

    def member(self, e: ast.Member) -> Type:
        t = self.expr(e.receiver)
        if e.name not in b.TIMESTAMP_FIELDS:
            suggestion = _suggest(e.name, tuple(b.TIMESTAMP_FIELDS))
            self.report(
                "FM112",
                e.name_span,
                f'unknown member "{e.name}"; a timestamp has ' + ", ".join(b.TIMESTAMP_FIELDS),
                hint=f'did you mean "{suggestion}"?' if suggestion else None,
            )
            return UNKNOWN
        if t not in (TIMESTAMP, UNKNOWN):
            self.report(
                "FM112",
                e.name_span,
                f'".{e.name}" needs a timestamp, got {article(t.value)}',
                hint="timestamps come from time() or a metric's HistoryBeginTime()",
            )
        return DOUBLE


_ARITY: dict[int, tuple[int, int | None]] = {}


def _accepts_count(sig: b.Signature, n: int) -> bool:
    arity = _ARITY.get(id(sig))
    if arity is None:
        arity = _ARITY[id(sig)] = sig.arity()  # signatures are module-level constants
    low, high = arity
    return low <= n and (high is None or n <= high)


def _param_types(sig: b.Signature, index: int) -> set[Type]:
    if sig.params and sig.params[-1].is_list and index >= len(sig.params) - 1:
        return set(sig.params[-1].types)
    if index < len(sig.params):
        return set(sig.params[index].types)
    return set()


def typecheck(
    formula: ast.Formula,
    path: str = "",
    *,
    broken_names: frozenset[str] = frozenset(),
    options: CheckOptions | None = None,
) -> list[Diagnostic]:
    checker = _Checker(path, broken_names, options or CheckOptions())
    checker.check(formula)
    return checker.diagnostics
