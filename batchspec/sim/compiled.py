"""The compiled form: the AST is translated once into Python source, ``compile()``-d into one function per
formula.

This is what the simulator and the local Batch service run thousands of times. It must give exactly what the
reference interpreter (``evaluator.py``) gives, results and errors with their positions; a Hypothesis test
checks that on generated formulas and states. What makes it fast, and why each trick keeps the semantics:

* **Straight-line code.** Statements run in order with no loops, so which variables are assigned before
  statement *k* is known when compiling. User variables become Python locals; reading one that is not assigned
  yet compiles to the same positioned error the interpreter raises at that point. Reads of
  ``$TargetDedicatedNodes`` resolve statically to "the full name's value", "the alias's value" or "the pool's
  current target".
* **Static types.** A small inference (literals, the builtins table, the operations table) finds expressions
  that are certainly doubles; those compile to plain float arithmetic with an inline finiteness check (``x - x
  == 0``) instead of a call into the generic operations table. Everything else calls the same ``values.py``
  functions the interpreter uses, so messages are identical by construction.
* **Constant folding.** ``TimeInterval_Minute * 10``, ``-6 * TimeInterval_Hour`` and ``time("…")`` with a
  literal are computed once. Folding is only done when the operation succeeds; a failing constant expression
  is left to fail at run time, at its position, like the interpreter.
* **Index arithmetic for sample windows.** Sample *i* of a series is at ``end - (n-1-i)*period``, so a window
  maps to one slice of ``values`` (the interpreter tests each sample's timestamp instead).
* **One ``%`` for the results string.** The order of the user variables in ``results`` is static; the success
  path formats them with one precomputed format string.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from batchspec.formula import ast
from batchspec.formula.builtins import (
    DEALLOCATION_OPTIONS,
    DEFAULT_DEALLOCATION_OPTION,
    FUNCTIONS,
    LENIENT_OPERATIONS,
    METHODS,
    OPERATIONS,
    SERVICE_VARIABLES,
    TIME_INTERVAL_TICKS,
)
from batchspec.formula.types import DEALLOCATION_OPTION, DOUBLE, DOUBLE_VEC, STRING, TIMEINTERVAL, TIMESTAMP
from batchspec.sim import values as V
from batchspec.sim.results import applied_target, assemble
from batchspec.sim.state import EvalResult, EvalState, MetricSeries
from batchspec.sim.values import (
    DeallocationOption,
    EvalFailure,
    FunctionContext,
    OpFailure,
    StopEvaluation,
    TimeInterval,
    Timestamp,
)

_DEDICATED = "$TargetDedicatedNodes"
_LOW_PRIORITY = "$TargetLowPriorityNodes"
_DEALLOCATION = "$NodeDeallocationOption"
_ALIASES = {"$TargetDedicated": _DEDICATED, "$TargetLowPriority": _LOW_PRIORITY}
_POOL_COUNTS = {
    "$CurrentDedicatedNodes": "current_dedicated_nodes",
    "$CurrentLowPriorityNodes": "current_low_priority_nodes",
    "$TaskSlotsPerNode": "task_slots_per_node",
    "$UsableNodeCount": "usable_node_count",
}

# static types: "d" double, "v" doubleVec, "s" string, "ts" timestamp, "ti" timeinterval, "do" deallocation
# option, None unknown (or no value)
_CODES = {
    "d": DOUBLE,
    "v": DOUBLE_VEC,
    "s": STRING,
    "ts": TIMESTAMP,
    "ti": TIMEINTERVAL,
    "do": DEALLOCATION_OPTION,
}
_TYPES = {t: c for c, t in _CODES.items()}


def _result_type(op: str, left: str | None, right: str | None) -> str | None:
    """The static result type from builtins.OPERATIONS, or None (unknown, or the operation fails)."""
    if left is None or right is None:
        return None
    key = (_CODES[left], op, _CODES[right])
    result = OPERATIONS.get(key) or LENIENT_OPERATIONS.get(key)
    return _TYPES.get(result) if result is not None else None


_NOT_CONSTANT = object()

# ---------------------------------------------------------------------------------- runtime support


_TICKS_CACHE: dict[Any, int] = {}


def _ticks_of(value: datetime | timedelta) -> int:
    """datetime/timedelta -> ticks, memoised: both types are immutable, so the cache can never be stale."""
    ticks = _TICKS_CACHE.get(value)
    if ticks is None:
        if isinstance(value, datetime):
            ticks = Timestamp.from_datetime(value).ticks
        else:
            ticks = value // timedelta(microseconds=1) * 10
        if len(_TICKS_CACHE) > 65536:
            _TICKS_CACHE.clear()
        _TICKS_CACHE[value] = ticks
    return ticks


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


class _Series:
    """One metric's samples at one evaluation, addressed by index arithmetic.

    Sample ``i`` (oldest first) is at ``end - (n-1-i)*period``; a window (start, end] is one slice of
    ``values``.
    """

    __slots__ = ("end", "metric", "newest_first", "now", "period", "values")

    def __init__(
        self, metric: str, series: MetricSeries | None, now: int, newest_first: bool = False
    ) -> None:
        self.metric = metric
        self.now = now
        self.newest_first = newest_first
        if series is None:
            self.values: list[Any] = []
            self.period = 300_000_000
            self.end = now
        else:
            self.values = series.values
            cache = _TICKS_CACHE  # _ticks_of, with its cache lookup inlined (this runs for every metric read)
            period = cache.get(series.period)
            self.period = period if period is not None else _ticks_of(series.period)
            end = cache.get(series.end)
            self.end = end if end is not None else _ticks_of(series.end)

    @property
    def visible(self) -> list[Any]:
        """The samples not newer than "now"."""
        if self.end <= self.now:
            return self.values
        newest_age = -((self.now - self.end) // self.period)  # ceil((end - now) / period)
        return self.values[: max(0, len(self.values) - newest_age)]

    def _span(self, start: int, end: int) -> tuple[list[Any], float]:
        """(samples at t with start < t <= end, percentage available); requires start <= end <= now."""
        values = self.values
        n = len(values)
        e = self.end
        p = self.period
        k_min = -((end - e) // p)  # ceil((e - end) / p): the age of the newest sample inside
        k_max = -((start - e) // p)  # ceil((e - start) / p): the first age outside
        if k_min < 0:
            k_min = 0
        if k_max > n:
            k_max = n
        window = values[n - k_max : n - k_min] if k_max > k_min else []
        expected = (end - start) // p
        available = len(window) - window.count(None)
        if expected > 0:  # V.sample_percent, inlined (same expression)
            percent = available * 100.0 / expected
            return window, (percent if percent < 100.0 else 100.0)
        return window, V.sample_percent(available, expected)

    def _bounds(self, method: str, a: Any, b: Any) -> tuple[int, int]:
        now = self.now
        ta = type(a)
        if ta is TimeInterval:
            x = now - a.ticks
        elif ta is Timestamp:
            x = a.ticks
        else:
            raise OpFailure(f'"{method}" expects a timestamp or a timeinterval here, got {V.type_name(a)}')
        if b is None:
            y = now
        else:
            tb = type(b)
            if tb is TimeInterval:
                y = now - b.ticks
            elif tb is Timestamp:
                y = b.ticks
            else:
                raise OpFailure(
                    f'"{method}" expects a timestamp or a timeinterval here, got {V.type_name(b)}'
                )
        start, end = (x, y) if x <= y else (y, x)
        if end > now:
            end = now
        if start > end:
            start = end
        return start, end

    def _window(self, method: str, a: Any, b: Any) -> tuple[list[Any], float]:
        return self._span(*self._bounds(method, a, b))

    def _relative(self, start_rel: int, end_rel: int) -> tuple[list[Any], float]:
        """_span for a window given relative to now (precomputed by the compiler from constant look-backs)."""
        now = self.now
        start = now + start_rel
        end = now + end_rel
        values = self.values
        n = len(values)
        e = self.end
        p = self.period
        k_min = -((end - e) // p)
        k_max = -((start - e) // p)
        if k_min < 0:
            k_min = 0
        if k_max > n:
            k_max = n
        window = values[n - k_max : n - k_min] if k_max > k_min else []
        expected = (end - start) // p
        available = len(window) - window.count(None)
        if expected > 0:
            percent = available * 100.0 / expected
            return window, (percent if percent < 100.0 else 100.0)
        return window, V.sample_percent(available, expected)

    def percent_relative(self, start_rel: int, end_rel: int) -> float:
        return self._relative(start_rel, end_rel)[1]

    def window_relative(
        self, start_rel: int, end_rel: int, wanted: float, pos: tuple[int, int]
    ) -> list[float]:
        window, percent = self._relative(start_rel, end_rel)
        if percent < wanted:
            failure = V.insufficient(self.metric, wanted, percent)
            raise EvalFailure(failure.code, failure.message, *pos)
        out = [float(v) for v in window if v is not None]
        return out[::-1] if self.newest_first else out

    def last(self, count: float) -> list[float]:
        """GetSample(count): the newest ``count`` available samples, oldest first; never fails (A32)."""
        n = V.whole_count(count)
        out: list[float] = []
        if n <= 0:
            return out
        for v in reversed(self.visible):
            if v is not None:
                out.append(float(v))
                if len(out) == n:
                    break
        if not self.newest_first:  # built newest first
            out.reverse()
        return out

    def percent(self, a: Any, b: Any) -> float:
        return self._window("GetSamplePercent", a, b)[1]

    def window(self, a: Any, b: Any, wanted: float, pos: tuple[int, int]) -> list[float]:
        window, percent = self._window("GetSample", a, b)
        if percent < wanted:
            failure = V.insufficient(self.metric, wanted, percent)
            raise EvalFailure(failure.code, failure.message, *pos)
        out = [float(v) for v in window if v is not None]
        return out[::-1] if self.newest_first else out

    def call(self, method: str, args: tuple[Any, ...], default_percent: float) -> Any:
        kinds = tuple(V.type_name(a) for a in args)
        if method == "GetSample":
            if kinds == ("double",):
                return self.last(args[0])
            if 1 <= len(args) <= 3:
                wanted = None
                b = None
                if len(args) == 2 and kinds[1] == "double":
                    wanted = args[1]
                elif len(args) >= 2:
                    b = args[1]
                if len(args) == 3:
                    if kinds[2] != "double":
                        raise OpFailure(f'"GetSample" does not accept ({", ".join(kinds)})')
                    wanted = args[2]
                window, percent = self._window(method, args[0], b)
                if wanted is None:
                    wanted = default_percent
                if percent < wanted:
                    raise V.insufficient(self.metric, wanted, percent)
                out = [float(v) for v in window if v is not None]
                return out[::-1] if self.newest_first else out
        elif method == "GetSamplePercent" and 1 <= len(args) <= 2:
            return self._window(method, args[0], args[1] if len(args) == 2 else None)[1]
        elif not args:
            if method == "Count":
                visible = self.visible
                return float(len(visible) - visible.count(None))
            if method == "GetSamplePeriod":
                return TimeInterval(self.period)
            if method == "HistoryBeginTime":
                for i, v in enumerate(self.visible):
                    if v is not None:
                        return Timestamp(self.end - (len(self.values) - 1 - i) * self.period)
                return Timestamp(self.now)
        raise OpFailure(f'"{method}" does not accept ({", ".join(kinds)})')


class _Runtime:
    """Helpers the generated code calls; each turns an OpFailure into a positioned EvalFailure."""

    @staticmethod
    def binary(op: str, a: Any, b: Any, pos: tuple[int, int]) -> Any:
        try:
            return V.binary(op, a, b)
        except OpFailure as exc:
            raise EvalFailure(exc.code, exc.message, *pos) from None

    @staticmethod
    def div(a: float, b: float, pos: tuple[int, int]) -> float:
        if b == 0.0:
            raise EvalFailure(V.EVALUATION_ERROR, "division by zero", *pos)
        r = a / b
        if r - r != 0.0:
            raise EvalFailure(
                V.EVALUATION_ERROR, "arithmetic overflow: the result is not a finite number", *pos
            )
        return r

    @staticmethod
    def overflow(pos: tuple[int, int]) -> float:
        raise EvalFailure(V.EVALUATION_ERROR, "arithmetic overflow: the result is not a finite number", *pos)

    @staticmethod
    def unary(op: str, a: Any, pos: tuple[int, int]) -> Any:
        try:
            return V.unary(op, a)
        except OpFailure as exc:
            raise EvalFailure(exc.code, exc.message, *pos) from None

    @staticmethod
    def truth(value: Any, what: str, pos: tuple[int, int]) -> bool:
        if type(value) is float:
            return value != 0.0
        raise EvalFailure(V.EVALUATION_ERROR, f"{what} must be a double, got {V.type_name(value)}", *pos)

    @staticmethod
    def member(value: Any, name: str, pos: tuple[int, int]) -> float:
        try:
            return V.member(value, name)
        except OpFailure as exc:
            raise EvalFailure(exc.code, exc.message, *pos) from None

    @staticmethod
    def call(name: str, args: list[Any], ctx: FunctionContext, pos: tuple[int, int]) -> Any:
        try:
            return V.call_function(name, args, ctx)
        except OpFailure as exc:
            raise EvalFailure(exc.code, exc.message, *pos) from None

    # aggregates over statically typed doubles/doubleVecs: values.py's flattening and empty-list rule, inlined
    @staticmethod
    def _flatten(args: list[Any]) -> list[float]:
        values: list[float] = []
        for a in args:
            if type(a) is list:
                values.extend(a)
            else:
                values.append(a)
        return values

    @staticmethod
    def aggregate_max(args: list[Any], pos: tuple[int, int]) -> float:
        values = _Runtime._flatten(args)
        if not values:
            raise EvalFailure(V.EVALUATION_ERROR, '"max" of an empty list', *pos)
        return max(values)

    @staticmethod
    def max_dv(d: float, v: list[float]) -> float:
        """max([d, *v]) (first maximum wins, as in values.py) without building the list."""
        if not v:
            return d
        m = max(v)
        return m if m > d else d

    @staticmethod
    def min_dv(d: float, v: list[float]) -> float:
        if not v:
            return d
        m = min(v)
        return m if m < d else d

    @staticmethod
    def aggregate_min(args: list[Any], pos: tuple[int, int]) -> float:
        values = _Runtime._flatten(args)
        if not values:
            raise EvalFailure(V.EVALUATION_ERROR, '"min" of an empty list', *pos)
        return min(values)

    @staticmethod
    def aggregate_avg(args: list[Any], pos: tuple[int, int]) -> float:
        return _Runtime.avg_v(_Runtime._flatten(args), pos)

    @staticmethod
    def avg_v(values: list[float], pos: tuple[int, int]) -> float:
        if not values:
            raise EvalFailure(V.EVALUATION_ERROR, '"avg" of an empty list', *pos)
        total = 0.0
        for v in values:
            total += v
        total /= len(values)
        if total - total != 0.0:
            raise EvalFailure(
                V.EVALUATION_ERROR, "arithmetic overflow: the result is not a finite number", *pos
            )
        return total

    @staticmethod
    def aggregate_sum(args: list[Any], pos: tuple[int, int]) -> float:
        total = 0.0
        for v in _Runtime._flatten(args):
            total += v
        if total - total != 0.0:
            raise EvalFailure(
                V.EVALUATION_ERROR, "arithmetic overflow: the result is not a finite number", *pos
            )
        return total

    @staticmethod
    def aggregate_len(args: list[Any], pos: tuple[int, int]) -> float:
        return float(len(_Runtime._flatten(args)))

    @staticmethod
    def method(
        series: _Series, method: str, args: tuple[Any, ...], default: float, pos: tuple[int, int]
    ) -> Any:
        try:
            return series.call(method, args, default)
        except OpFailure as exc:
            raise EvalFailure(exc.code, exc.message, *pos) from None

    @staticmethod
    def fail(detail: str, pos: tuple[int, int]) -> Any:
        raise EvalFailure(V.EVALUATION_ERROR, detail, *pos)

    @staticmethod
    def stop() -> Any:
        raise StopEvaluation

    @staticmethod
    def as_double(value: Any, name: str, pos: tuple[int, int]) -> float:
        if type(value) is not float:
            raise EvalFailure(
                V.EVALUATION_ERROR, f'"{name}" must be a double, got {V.type_name(value)}', *pos
            )
        return value

    @staticmethod
    def as_option(value: Any, name: str, pos: tuple[int, int]) -> DeallocationOption:
        if type(value) is not DeallocationOption:
            raise EvalFailure(
                V.EVALUATION_ERROR,
                f'"{name}" must be one of {", ".join(DEALLOCATION_OPTIONS)}, got {V.type_name(value)}',
                *pos,
            )
        return value

    @staticmethod
    def as_user_value(value: Any, pos: tuple[int, int]) -> Any:
        if type(value) is DeallocationOption:
            raise EvalFailure(
                V.EVALUATION_ERROR,
                f'"{value.name}" is valid only as the value of "$NodeDeallocationOption"',
                *pos,
            )
        return value


# ---------------------------------------------------------------------------------------- compiler


@dataclass
class _Slot:
    """Where a variable lives in the generated function."""

    local: str
    type: str | None


@dataclass
class _Compiler:
    formula: ast.Formula
    constants: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)  # canonical metric -> local name
    uses_functions: bool = False
    _names: Any = field(default_factory=lambda: itertools.count())
    _constant_cache: dict[int, Any] = field(default_factory=dict)
    # state while compiling statement by statement
    user: dict[str, _Slot] = field(default_factory=dict)  # user variables assigned so far
    service: dict[str, str] = field(default_factory=dict)  # service names assigned so far -> local
    prefix_user: list[dict[str, str]] = field(default_factory=list)  # per statement index: user name -> local
    prefix_service: list[dict[str, str]] = field(default_factory=list)

    def fresh(self, stem: str) -> str:
        return f"_{stem}{next(self._names)}"

    def const(self, value: Any) -> str:
        if type(value) is float:
            return (
                repr(value)
                if value == value and value not in (float("inf"), float("-inf"))
                else self._bind(value)
            )
        return self._bind(value)

    def _bind(self, value: Any) -> str:
        name = self.fresh("c")
        self.constants[name] = value
        return name

    def pos(self, p: Any) -> str:
        return self._bind((p.line, p.col))

    # ------------------------------------------------------------------------------------------- constants

    def constant(self, node: ast.Expr) -> Any:
        """The value of a side-effect-free constant expression, or _NOT_CONSTANT (also when it would fail)."""
        key = id(node)
        if key not in self._constant_cache:  # memoised: expr() asks at every level of the tree
            self._constant_cache[key] = self._constant(node)
        return self._constant_cache[key]

    def _constant(self, node: ast.Expr) -> Any:
        if isinstance(node, ast.Number):
            return float(node.value)
        if isinstance(node, ast.String):
            return node.value
        if isinstance(node, ast.Paren):
            return self.constant(node.expr)
        if isinstance(node, ast.Var):
            if node.name in TIME_INTERVAL_TICKS and node.name not in SERVICE_VARIABLES:
                return TimeInterval(TIME_INTERVAL_TICKS[node.name])
            return _NOT_CONSTANT
        try:
            if isinstance(node, ast.Unary):
                operand = self.constant(node.operand)
                return _NOT_CONSTANT if operand is _NOT_CONSTANT else V.unary(node.op, operand)
            if isinstance(node, ast.Binary) and node.op not in ("&&", "||"):
                left = self.constant(node.left)
                if left is _NOT_CONSTANT:
                    return _NOT_CONSTANT
                right = self.constant(node.right)
                return _NOT_CONSTANT if right is _NOT_CONSTANT else V.binary(node.op, left, right)
            if isinstance(node, ast.Call) and node.name == "time" and len(node.args) == 1:
                text = self.constant(node.args[0])
                if type(text) is str and text.strip():
                    return V.call_function("time", [text], FunctionContext(Timestamp(0), None))
        except OpFailure:
            return _NOT_CONSTANT
        return _NOT_CONSTANT

    # ------------------------------------------------------------------------------------------ expressions

    def expr(self, node: ast.Expr) -> tuple[str, str | None]:
        value = self.constant(node)
        if value is not _NOT_CONSTANT:
            return self.const(value), _static_type(value)
        if isinstance(node, ast.Paren):
            return self.expr(node.expr)
        if isinstance(node, ast.Var):
            return self.read(node)
        if isinstance(node, ast.Unary):
            code, t = self.expr(node.operand)
            if t == "d":
                return (f"(-{code})", "d") if node.op == "-" else (f"(1.0 if {code} == 0.0 else 0.0)", "d")
            result = "d" if node.op == "!" else ("ti" if t == "ti" else None)
            return f"_rt.unary({node.op!r}, {code}, {self.pos(node.op_span.start)})", result
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Ternary):
            test = self.test(node.condition, "the condition of ?:", self.pos(node.condition.span.start))
            tcode, tt = self.expr(node.if_true)
            fcode, ft = self.expr(node.if_false)
            return f"({tcode} if {test} else {fcode})", (tt if tt == ft else None)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Member):
            code, _ = self.expr(node.receiver)
            return f"_rt.member({code}, {node.name!r}, {self.pos(node.name_span.start)})", "d"
        if isinstance(node, ast.MethodCall):
            return self.method(node)
        raise TypeError(f"not an expression: {node!r}")  # pragma: no cover

    def test(self, node: ast.Expr, what: str, pos: str) -> str:
        """A Python boolean expression for ``node`` used as a condition, with the interpreter's order and
        errors.

        ``what``/``pos`` name the operand in the message when the value is not a double."""
        value = self.constant(node)
        if type(value) is float:
            return "True" if value != 0.0 else "False"
        node = ast.unparen(node)
        if value is _NOT_CONSTANT and isinstance(node, ast.Binary):
            if node.op in ("&&", "||"):
                return self.logical(node)
            if node.op in V.COMPARISON_OPS:
                lcode, lt = self.expr(node.left)
                rcode, rt = self.expr(node.right)
                if lt == "d" and rt == "d":
                    return f"({lcode} {node.op} {rcode})"
                return f"_rt.binary({node.op!r}, {lcode}, {rcode}, {self.pos(node.op_span.start)}) != 0.0"
        code, t = self.expr(node)
        if t == "d":
            return f"{code} != 0.0"
        return f"_rt.truth({code}, {what!r}, {pos})"

    def logical(self, node: ast.Binary) -> str:
        op = node.op
        pos = self.pos(node.op_span.start)
        left = self.test(node.left, f'the left operand of "{op}"', pos)
        right = self.test(node.right, f'the right operand of "{op}"', pos)
        return f"({left} {'and' if op == '&&' else 'or'} {right})"

    def binary(self, node: ast.Binary) -> tuple[str, str | None]:
        op = node.op
        if op in ("&&", "||"):
            return f"(1.0 if {self.logical(node)} else 0.0)", "d"
        lcode, lt = self.expr(node.left)
        rcode, rt = self.expr(node.right)
        pos = self.pos(node.op_span.start)
        if lt == "d" and rt == "d":
            if op in V.COMPARISON_OPS:
                return f"(1.0 if {lcode} {op} {rcode} else 0.0)", "d"
            if op == "/":
                return f"_rt.div({lcode}, {rcode}, {pos})", "d"
            t = self.fresh("t")
            return f"({t} if ({t} := {lcode} {op} {rcode}) - {t} == 0.0 else _rt.overflow({pos}))", "d"
        if op in V.COMPARISON_OPS:
            result: str | None = "d"
        else:
            result = _result_type(op, lt, rt)
        return f"_rt.binary({op!r}, {lcode}, {rcode}, {pos})", result

    def read(self, node: ast.Var) -> tuple[str, str | None]:
        name = node.name
        service = SERVICE_VARIABLES.get(name)
        if service is not None:
            canonical = service.canonical
            if canonical in (_DEDICATED, _LOW_PRIORITY):
                return self.target(canonical), "d"
            if canonical == _DEALLOCATION:
                if _DEALLOCATION in self.service:
                    return self.service[_DEALLOCATION], "do"
                return self.const(DeallocationOption(DEFAULT_DEALLOCATION_OPTION)), "do"
            if canonical in _POOL_COUNTS:
                return f"float(_pool.{_POOL_COUNTS[canonical]})", "d"
            detail = f'"{name}" is a metric and must be read through a sample method such as GetSample'
            return f"_rt.fail({detail!r}, {self.pos(node.span.start)})", None
        if name in DEALLOCATION_OPTIONS:
            return self.const(DeallocationOption(name)), "do"
        slot = self.user.get(name)
        if slot is None:
            return (
                f"_rt.fail({f'undefined variable {chr(34)}{name}{chr(34)}'!r}, {self.pos(node.span.start)})",
                None,
            )
        return slot.local, slot.type

    def target(self, canonical: str) -> str:
        """Static resolution of a target read: the full name, else its alias, else the pool's target."""
        alias = "$TargetDedicated" if canonical == _DEDICATED else "$TargetLowPriority"
        if canonical in self.service:
            return self.service[canonical]
        if alias in self.service:
            return self.service[alias]
        return "_pool_dedicated" if canonical == _DEDICATED else "_pool_low_priority"

    def call(self, node: ast.Call) -> tuple[str, str | None]:
        compiled = [self.expr(a) for a in node.args]
        codes = [c for c, _ in compiled]
        types = [t for _, t in compiled]
        pos = self.pos(node.name_span.end)
        name = node.name
        if name == "stop":
            # arguments (there are none in a valid formula) are evaluated first, as in the interpreter
            return (f"(({', '.join(codes)},), _rt.stop())[1]" if codes else "_rt.stop()"), None
        if name in ("max", "min") and codes and all(t == "d" for t in types):
            return (f"{name}({', '.join(codes)})" if len(codes) > 1 else codes[0]), "d"
        if name in ("max", "min") and types == ["d", "v"]:
            # the documented idiom max(0, $X.GetSample(1)): no list to build
            return f"_rt.{name}_dv({codes[0]}, {codes[1]})", "d"
        if name == "avg" and types == ["v"]:
            return f"_rt.avg_v({codes[0]}, {pos})", "d"  # the documented avg($X.GetSample(window))
        if name in ("max", "min", "avg", "sum", "len") and codes and all(t in ("d", "v") for t in types):
            return f"_rt.aggregate_{name}([{', '.join(codes)}], {pos})", "d"
        if name in ("rand", "time", "val"):  # the functions that read the context
            self.uses_functions = True
        result = _function_type(name, types)
        ctx = "_ctx" if self.uses_functions else "None"  # only rand() and time() read the context
        return f"_rt.call({name!r}, [{', '.join(codes)}], {ctx}, {pos})", result

    def method(self, node: ast.MethodCall) -> tuple[str, str | None]:
        receiver = ast.unparen(node.receiver)
        pos = self.pos(node.method_span.end)
        service = SERVICE_VARIABLES.get(receiver.name) if isinstance(receiver, ast.Var) else None
        if service is None or not service.methods_allowed:
            what = f'"{receiver.name}"' if isinstance(receiver, ast.Var) else "this expression"
            detail = f'"{node.method}" can be called only on a metric, not on {what}'
            return f"_rt.fail({detail!r}, {pos})", None
        metric = service.canonical
        local = self.metrics.get(metric)
        if local is None:
            local = self.metrics[metric] = self.fresh("m")
        compiled = [self.expr(a) for a in node.args]
        codes = [c for c, _ in compiled]
        types = tuple(t for _, t in compiled)
        result = _method_type(node.method)
        # statically typed calls go straight to the window arithmetic (no type dispatch can fail there)
        if node.method == "GetSample" and types == ("d",):
            return f"{local}.last({codes[0]})", result
        times = ("ti", "ts")
        back = [self.constant(a) for a in node.args]
        if node.method in ("GetSample", "GetSamplePercent") and back and type(back[0]) is TimeInterval:
            # constant look-backs: the window offsets are known now
            shape = tuple(type(v) for v in back)
            if node.method == "GetSamplePercent" and shape in ((TimeInterval,), (TimeInterval, TimeInterval)):
                rel = _relative_window(back[0].ticks, back[1].ticks if len(back) == 2 else None)
                return f"{local}.percent_relative({rel[0]}, {rel[1]})", result
            if node.method == "GetSample" and shape in ((TimeInterval,), (TimeInterval, TimeInterval)):
                rel = _relative_window(back[0].ticks, back[1].ticks if len(back) == 2 else None)
                return f"{local}.window_relative({rel[0]}, {rel[1]}, _default_percent, {pos})", result
            if (
                node.method == "GetSample"
                and len(back) in (2, 3)
                and all(type(v) is TimeInterval for v in back[:-1])
                and types[-1] == "d"
            ):
                rel = _relative_window(back[0].ticks, back[1].ticks if len(back) == 3 else None)
                return f"{local}.window_relative({rel[0]}, {rel[1]}, {codes[-1]}, {pos})", result
        if node.method == "GetSamplePercent" and len(types) in (1, 2) and all(t in times for t in types):
            return f"{local}.percent({codes[0]}, {codes[1] if len(codes) == 2 else None})", result
        if node.method == "GetSample" and types and types[0] in times:
            shape = tuple("t" if t in times else t for t in types)
            if shape in (("t",), ("t", "d"), ("t", "t"), ("t", "t", "d")):
                end = codes[1] if shape[1:2] == ("t",) else "None"
                wanted = codes[-1] if shape[-1] == "d" else "_default_percent"
                return f"{local}.window({codes[0]}, {end}, {wanted}, {pos})", result
        args = f"({', '.join(codes)},)" if codes else "()"
        return f"_rt.method({local}, {node.method!r}, {args}, _default_percent, {pos})", result

    # ------------------------------------------------------------------------------------------- statements

    def statement(self, index: int, statement: ast.Statement) -> None:
        self.prefix_user.append({n: s.local for n, s in self.user.items()})
        self.prefix_service.append(dict(self.service))
        emit = self.lines.append
        emit(f"    _k = {index}")
        if isinstance(statement, ast.ExprStatement):
            code, _ = self.expr(statement.expr)
            emit(f"    {code}")
            return
        target = statement.target
        name = target.name
        code, t = self.expr(statement.value)
        pos = self.pos(target.span.start)
        service = SERVICE_VARIABLES.get(name)
        if service is not None:
            if not service.writable:
                emit(f"    {code}")
                emit(f"    _rt.fail({f'{chr(34)}{name}{chr(34)} is a read-only service variable'!r}, {pos})")
                return
            local = self.service.get(name) or self.fresh("s")
            if service.canonical == _DEALLOCATION:
                value = code if t == "do" else f"_rt.as_option({code}, {name!r}, {pos})"
            else:
                value = code if t == "d" else f"_rt.as_double({code}, {name!r}, {pos})"
            emit(f"    {local} = {value}")
            self.service[name] = local
            return
        if name in TIME_INTERVAL_TICKS or name in DEALLOCATION_OPTIONS:
            emit(f"    {code}")
            detail = f'"{name}" is a predefined constant and cannot be assigned'
            emit(f"    _rt.fail({detail!r}, {pos})")
            return
        if t is None or t == "do":
            code = f"_rt.as_user_value({code}, {pos})"  # a keyword cannot be stored in a user variable
        slot = self.user.get(name)
        local = slot.local if slot is not None else self.fresh("u")
        emit(f"    {local} = {code}")
        self.user[name] = _Slot(local, t)

    def build(self) -> tuple[str, dict[str, Any]]:
        for index, statement in enumerate(self.formula.statements):
            self.statement(index, statement)
        count = len(self.formula.statements)
        self.prefix_user.append({n: s.local for n, s in self.user.items()})
        self.prefix_service.append(dict(self.service))

        head = [
            "def _evaluate(state):",
            "    _pool = state.pool",
            "    _pool_dedicated = float(_pool.target_dedicated_nodes)",
            "    _pool_low_priority = float(_pool.target_low_priority_nodes)",
            "    _now_ticks = _ticks_of(state.time)",
            "    _default_percent = state.default_sample_percent",
            "    _newest_first = state.newest_first",
        ]
        if self.uses_functions:
            head.append("    _ctx = _FunctionContext(_Timestamp(_now_ticks), state.seed, state.strict_index)")
        for metric, local in self.metrics.items():
            head.append(
                f"    {local} = _Series({metric!r}, state.metrics.get({metric!r}), _now_ticks, _newest_first)"
            )
        head.append("    _k = 0")
        head.append("    try:")
        body = ["    " + line for line in self.lines] or ["        pass"]
        tail = [
            "    except _StopEvaluation:",
            "        return _partial(state, _k, locals(), None)",
            "    except _EvalFailure as exc:",
            "        return _partial(state, _k, locals(), exc)",
        ]
        tail += self._success()
        self.constants["_PREFIX_USER"] = self.prefix_user
        self.constants["_PREFIX_SERVICE"] = self.prefix_service
        self.constants["_STATEMENTS"] = count
        return "\n".join(head + body + tail) + "\n", self.constants

    def _success(self) -> list[str]:
        """The fast success path: one format string for the whole results string."""
        dedicated = self.target(_DEDICATED)
        low_priority = self.target(_LOW_PRIORITY)
        deallocation = self.service.get(_DEALLOCATION)
        parts = ["$TargetDedicatedNodes=%.6g;$TargetLowPriorityNodes=%.6g;$NodeDeallocationOption=%s"]
        args = [
            dedicated,
            low_priority,
            f"{deallocation}.name" if deallocation else repr(DEFAULT_DEALLOCATION_OPTION),
        ]
        for name in sorted(self.user):
            slot = self.user[name]
            if slot.type == "d":
                parts.append(";" + name.replace("%", "%%") + "=%.6g")
                args.append(slot.local)
            else:
                parts.append(";" + name.replace("%", "%%") + "=%s")
                args.append(f"_format_value({slot.local})")
        fmt = self._bind("".join(parts))
        variables = ", ".join(f"{name!r}: {slot.local}" for name, slot in self.user.items())
        service = {}
        for name, local in self.service.items():
            service.setdefault(SERVICE_VARIABLES[name].canonical, local)
        for canonical in (_DEDICATED, _LOW_PRIORITY):
            if canonical in service:
                service[canonical] = self.target(canonical)
        variables += "".join(f", {name!r}: {local}" for name, local in service.items())
        return [
            f"    return _EvalResult({fmt} % ({', '.join(args)},), "
            f"_applied({dedicated}), _applied({low_priority}),"
            f" {args[2]}, {{{variables.lstrip(', ')}}})",
        ]


def _relative_window(a: int, b: int | None) -> tuple[int, int]:
    """(start, end) of a window of look-backs ``a`` and ``b`` (ticks), relative to now: what _Series._bounds
    computes at run time (either order; the end capped at now; empty when both are in the future)."""
    x = -a
    y = 0 if b is None else -b
    start, end = (x, y) if x <= y else (y, x)
    if end > 0:
        end = 0
    if start > end:
        start = end
    return start, end


def _function_type(name: str, args: list[str | None]) -> str | None:
    """The static result type of a call, from the builtins table (None when unknown).

    For the overloaded functions the table lists the scalar overload first: one double argument selects it,
    anything else selects the list overload (reference §3.2)."""
    function = FUNCTIONS.get(name)
    if function is None:
        return None
    returns = {s.returns for s in function.signatures}
    if len(returns) == 1:
        return _TYPES.get(returns.pop())
    if args == ["d"]:
        return _TYPES.get(function.signatures[0].returns)
    if len(args) != 1 or args[0] == "v":
        return _TYPES.get(function.signatures[-1].returns)
    return None


def _method_type(name: str) -> str | None:
    method = METHODS.get(name)
    if method is None:
        return None
    returns = {s.returns for s in method.signatures}
    return _TYPES.get(returns.pop()) if len(returns) == 1 else None


def _static_type(value: Any) -> str | None:
    return {
        float: "d",
        list: "v",
        str: "s",
        Timestamp: "ts",
        TimeInterval: "ti",
        DeallocationOption: "do",
    }.get(type(value))


def _make_partial(prefix_user: list[dict[str, str]], prefix_service: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    """The slow path after stop() or a failure in statement k: report what statements 0..k-1 assigned."""

    def partial(state: EvalState, k: int, frame: dict[str, Any], error: EvalFailure | None) -> EvalResult:
        user = {name: frame[local] for name, local in prefix_user[k].items()}
        assigned = {name: frame[local] for name, local in prefix_service[k].items()}
        pool = state.pool

        def target(canonical: str, alias: str, current: int) -> float:
            if canonical in assigned:
                return assigned[canonical]  # type: ignore[no-any-return]
            if alias in assigned:
                return assigned[alias]  # type: ignore[no-any-return]
            return float(current)

        dedicated = target(_DEDICATED, "$TargetDedicated", pool.target_dedicated_nodes)
        low_priority = target(_LOW_PRIORITY, "$TargetLowPriority", pool.target_low_priority_nodes)
        service: dict[str, object] = {}
        for name, value in assigned.items():
            service.setdefault(SERVICE_VARIABLES[name].canonical, value)
        if _DEDICATED in service:
            service[_DEDICATED] = dedicated
        if _LOW_PRIORITY in service:
            service[_LOW_PRIORITY] = low_priority
        deallocation = assigned.get(_DEALLOCATION, DeallocationOption(DEFAULT_DEALLOCATION_OPTION))
        return assemble(
            state,
            dedicated=dedicated,
            low_priority=low_priority,
            deallocation=deallocation.name,  # type: ignore[attr-defined]
            user=user,
            service=service,
            error=error,
        )

    return partial


class CompiledFormula:
    """A formula translated to one Python function: ``evaluate(state)`` == ``interpret(formula, state)``."""

    def __init__(self, formula: ast.Formula) -> None:
        self.formula = formula
        self.fallback = False
        compiler = _Compiler(formula)
        try:
            self.source, constants = compiler.build()
            code = compile(self.source, "<batchspec compiled formula>", "exec")
        except (SyntaxError, RecursionError, MemoryError):
            # Python's own limits (about 200 nested parentheses) can be lower than the front end's limit:
            # such a formula runs on the reference interpreter, which is exact by definition, only slower.
            from batchspec.sim.evaluator import interpret

            self.fallback = True
            self.source = ""
            self._evaluate = lambda state: interpret(formula, state)
            return
        namespace: dict[str, Any] = {
            "_rt": _Runtime,
            "_Series": _Series,
            "_ticks_of": _ticks_of,
            "_FunctionContext": FunctionContext,
            "_Timestamp": Timestamp,
            "_StopEvaluation": StopEvaluation,
            "_EvalFailure": EvalFailure,
            "_EvalResult": EvalResult,
            "_applied": applied_target,
            "_format_value": V.format_value,
            "_partial": _make_partial(compiler.prefix_user, compiler.prefix_service),
        }
        namespace.update(constants)
        exec(code, namespace)
        self._evaluate = namespace["_evaluate"]

    def evaluate(self, state: EvalState) -> EvalResult:
        return self._evaluate(state)  # type: ignore[no-any-return]


def compile_formula(formula: ast.Formula) -> CompiledFormula:
    return CompiledFormula(formula)
