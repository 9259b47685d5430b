"""The reference interpreter: walks the AST, one node at a time, with the semantics of formula-language.md.

It is written for clarity, not speed: every value goes through the generic operations table of ``values.py``,
names are looked up in dictionaries on every read, and sample windows are computed by giving every sample its
own timestamp and testing it against the window (the definition, not a shortcut). The compiled form
(``compiled.py``) must agree with it exactly, results and errors alike; a Hypothesis test checks that.

Semantics in brief (reference section in brackets):

* statements run in order; the first failure or ``stop()`` ends the run [§4.4, A27];
* the ternary, ``&&`` and ``||`` are lazy [§4.4, A34];
* ``$TargetDedicatedNodes``/``$TargetLowPriorityNodes`` read as the pool's current target until assigned; an
  alias and its full name share one effective value: the full name's assignment if any, else the alias's
  [§5.1, A18, A23];
* user variables are distinct by exact spelling (``$x`` ≠ ``x``, case-sensitive) [A24, A25];
* a time-window ``GetSample`` without a percentage requires ``EvalState.default_sample_percent`` (70) [A14].
"""

from __future__ import annotations

from batchspec.formula import ast
from batchspec.formula.builtins import (
    DEALLOCATION_OPTIONS,
    DEFAULT_DEALLOCATION_OPTION,
    SERVICE_VARIABLES,
    TIME_INTERVAL_TICKS,
)
from batchspec.sim import values as V
from batchspec.sim.results import assemble
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


def _pos_at(span_start: object) -> tuple[int, int]:
    return span_start.line, span_start.col  # type: ignore[attr-defined]


class _Run:
    """The mutable state of one evaluation."""

    def __init__(self, state: EvalState) -> None:
        self.state = state
        self.now = Timestamp.from_datetime(state.time)
        self.functions = FunctionContext(self.now, state.seed, state.strict_index)
        self.user: dict[str, object] = {}  # user variables, by name as written
        self.assigned: dict[str, object] = {}  # service variables assigned, by name as written (aliases too)

    # ------------------------------------------------------------------------------------- failures

    @staticmethod
    def fail(exc: OpFailure, line: int, col: int) -> EvalFailure:
        return EvalFailure(exc.code, exc.message, line, col)

    # ----------------------------------------------------------------------------------- statements

    def run(self, formula: ast.Formula) -> None:
        for statement in formula.statements:
            match statement:
                case ast.Assignment():
                    self.assign(statement.target, self.eval(statement.value))
                case ast.ExprStatement():
                    self.eval(statement.expr)
                case _:  # pragma: no cover - the AST has no other statements
                    raise TypeError(statement)

    def assign(self, target: ast.Var, value: object) -> None:
        name = target.name
        line, col = _pos_at(target.span.start)
        if value is None:
            raise EvalFailure(
                V.EVALUATION_ERROR, f'"{name}" cannot be assigned: the expression has no value', line, col
            )
        service = SERVICE_VARIABLES.get(name)
        if service is not None:
            if not service.writable:
                raise EvalFailure(V.EVALUATION_ERROR, f'"{name}" is a read-only service variable', line, col)
            if service.canonical == _DEALLOCATION:
                if type(value) is not DeallocationOption:
                    raise EvalFailure(
                        V.EVALUATION_ERROR,
                        f'"{name}" must be one of {", ".join(DEALLOCATION_OPTIONS)}, '
                        f"got {V.type_name(value)}",
                        line,
                        col,
                    )
            elif type(value) is not float:
                raise EvalFailure(
                    V.EVALUATION_ERROR, f'"{name}" must be a double, got {V.type_name(value)}', line, col
                )
            self.assigned[name] = value
            return
        if name in TIME_INTERVAL_TICKS or name in DEALLOCATION_OPTIONS:
            raise EvalFailure(
                V.EVALUATION_ERROR, f'"{name}" is a predefined constant and cannot be assigned', line, col
            )
        if type(value) is DeallocationOption:
            raise EvalFailure(
                V.EVALUATION_ERROR,
                f'"{value.name}" is valid only as the value of "$NodeDeallocationOption"',
                line,
                col,
            )
        self.user[name] = value

    # ---------------------------------------------------------------------------------- expressions

    def eval(self, node: ast.Expr) -> object:
        match node:
            case ast.Number():
                return float(node.value)
            case ast.String():
                return node.value
            case ast.Paren():
                return self.eval(node.expr)
            case ast.Var():
                return self.read(node)
            case ast.Unary():
                operand = self.eval(node.operand)
                try:
                    return V.unary(node.op, operand)
                except OpFailure as exc:
                    raise self.fail(exc, *_pos_at(node.op_span.start)) from None
            case ast.Binary():
                return self.binary(node)
            case ast.Ternary():
                condition = self.eval(node.condition)
                try:
                    taken = V.truth(condition, "the condition of ?:")
                except OpFailure as exc:
                    raise self.fail(exc, *_pos_at(node.condition.span.start)) from None
                return self.eval(node.if_true if taken else node.if_false)
            case ast.Call():
                return self.call(node)
            case ast.Member():
                receiver = self.eval(node.receiver)
                try:
                    return V.member(receiver, node.name)
                except OpFailure as exc:
                    raise self.fail(exc, *_pos_at(node.name_span.start)) from None
            case ast.MethodCall():
                return self.method(node)
            case _:  # pragma: no cover - the AST has no other expressions
                raise TypeError(f"not an expression: {node!r}")

    def binary(self, node: ast.Binary) -> object:
        op = node.op
        if op in ("&&", "||"):
            left = self.eval(node.left)
            try:
                lhs = V.truth(left, f'the left operand of "{op}"')
            except OpFailure as exc:
                raise self.fail(exc, *_pos_at(node.op_span.start)) from None
            if op == "&&" and not lhs:
                return 0.0
            if op == "||" and lhs:
                return 1.0
            right = self.eval(node.right)
            try:
                return 1.0 if V.truth(right, f'the right operand of "{op}"') else 0.0
            except OpFailure as exc:
                raise self.fail(exc, *_pos_at(node.op_span.start)) from None
        left = self.eval(node.left)
        right = self.eval(node.right)
        try:
            return V.binary(op, left, right)
        except OpFailure as exc:
            raise self.fail(exc, *_pos_at(node.op_span.start)) from None

    def read(self, node: ast.Var) -> object:
        name = node.name
        service = SERVICE_VARIABLES.get(name)
        if service is not None:
            canonical = service.canonical
            if canonical in (_DEDICATED, _LOW_PRIORITY):
                return self.target(canonical)
            if canonical == _DEALLOCATION:
                return self.assigned.get(_DEALLOCATION, DeallocationOption(DEFAULT_DEALLOCATION_OPTION))
            pool = self.state.pool
            if canonical == "$CurrentDedicatedNodes":
                return float(pool.current_dedicated_nodes)
            if canonical == "$CurrentLowPriorityNodes":
                return float(pool.current_low_priority_nodes)
            if canonical == "$TaskSlotsPerNode":
                return float(pool.task_slots_per_node)
            if canonical == "$UsableNodeCount":
                return float(pool.usable_node_count)
            raise EvalFailure(
                V.EVALUATION_ERROR,
                f'"{name}" is a metric and must be read through a sample method such as GetSample',
                *_pos_at(node.span.start),
            )
        if name in TIME_INTERVAL_TICKS:
            return TimeInterval(TIME_INTERVAL_TICKS[name])
        if name in DEALLOCATION_OPTIONS:
            return DeallocationOption(name)
        if name in self.user:
            return self.user[name]
        raise EvalFailure(V.EVALUATION_ERROR, f'undefined variable "{name}"', *_pos_at(node.span.start))

    def target(self, canonical: str) -> float:
        """The effective value of a target: its full name's assignment, else its alias's, else the pool's."""
        if canonical in self.assigned:
            return self.assigned[canonical]  # type: ignore[return-value]
        alias = "$TargetDedicated" if canonical == _DEDICATED else "$TargetLowPriority"
        if alias in self.assigned:
            return self.assigned[alias]  # type: ignore[return-value]
        pool = self.state.pool
        return float(
            pool.target_dedicated_nodes if canonical == _DEDICATED else pool.target_low_priority_nodes
        )

    def call(self, node: ast.Call) -> object:
        args = [self.eval(arg) for arg in node.args]
        line, col = _pos_at(node.name_span.end)  # the "(" right after the name, as the service counts
        if node.name == "stop":
            raise StopEvaluation
        try:
            return V.call_function(node.name, args, self.functions)
        except OpFailure as exc:
            raise self.fail(exc, line, col) from None

    # ---------------------------------------------------------------------------------------- sample methods

    def method(self, node: ast.MethodCall) -> object:
        receiver = node.receiver
        while isinstance(receiver, ast.Paren):
            receiver = receiver.expr
        line, col = _pos_at(node.method_span.end)  # the "(" after the method name (SHIP's "Col 43")
        service = SERVICE_VARIABLES.get(receiver.name) if isinstance(receiver, ast.Var) else None
        if service is None or not service.methods_allowed:
            what = f'"{receiver.name}"' if isinstance(receiver, ast.Var) else "this expression"
            raise EvalFailure(
                V.EVALUATION_ERROR,
                f'"{node.method}" can be called only on a metric, not on {what}',
                line,
                col,
            )
        metric = service.canonical
        args = [self.eval(arg) for arg in node.args]
        history = _History(self.state.metrics.get(metric), self.now)
        try:
            result = _sample_method(
                node.method, metric, history, args, self.now, self.state.default_sample_percent
            )
            if self.state.newest_first and type(result) is list:
                result = result[::-1]
            return result
        except OpFailure as exc:
            raise self.fail(exc, line, col) from None


class _History:
    """A metric's samples as (timestamp ticks, value) pairs: the literal definition of the state's series."""

    def __init__(self, series: MetricSeries | None, now: Timestamp) -> None:
        self.period = TimeInterval.from_timedelta(series.period).ticks if series is not None else 300_000_000
        self.samples: list[tuple[int, float]] = []
        if series is None:
            return
        end = Timestamp.from_datetime(series.end).ticks
        n = len(series.values)
        for i, value in enumerate(series.values):
            at = end - (n - 1 - i) * self.period
            if value is not None and at <= now.ticks:  # a sample newer than "now" is not available yet
                self.samples.append((at, float(value)))

    def window(self, start: int, end: int) -> tuple[list[float], int, int]:
        """(values, available, expected) of the window (start, end]."""
        values = [v for at, v in self.samples if start < at <= end]
        expected = (end - start) // self.period
        return values, len(values), expected


def _time_bound(value: object, now: Timestamp, method: str) -> int:
    if type(value) is Timestamp:
        return value.ticks  # type: ignore[attr-defined]
    if type(value) is TimeInterval:
        return now.ticks - value.ticks  # type: ignore[attr-defined]  # a look-back from now (§4.3)
    raise OpFailure(f'"{method}" expects a timestamp or a timeinterval here, got {V.type_name(value)}')


def _sample_method(
    method: str, metric: str, history: _History, args: list[object], now: Timestamp, default_percent: float
) -> object:
    kinds = tuple(V.type_name(a) for a in args)
    if method == "Count" and not args:
        return float(len(history.samples))
    if method == "GetSamplePeriod" and not args:
        return TimeInterval(history.period)
    if method == "HistoryBeginTime" and not args:
        # no sample yet: the history begins now (batchspec's choice; the service's answer is unobserved)
        return Timestamp(history.samples[0][0]) if history.samples else now
    if method == "GetSample" and kinds == ("double",):
        count = V.whole_count(args[0])  # type: ignore[arg-type]
        if count <= 0:
            return []
        return [v for _, v in history.samples[-count:]]
    if method in ("GetSample", "GetSamplePercent") and 1 <= len(args) <= 3:
        wanted: float | None = None
        bounds = [args[0]]
        if len(args) >= 2 and kinds[1] == "double" and method == "GetSample" and len(args) == 2:
            wanted = args[1]  # type: ignore[assignment]
        elif len(args) >= 2:
            bounds.append(args[1])
        if len(args) == 3:
            if method != "GetSample" or kinds[2] != "double":
                raise OpFailure(f'"{method}" does not accept ({", ".join(kinds)})')
            wanted = args[2]  # type: ignore[assignment]
        ticks = [_time_bound(b, now, method) for b in bounds]
        if len(ticks) == 1:
            ticks.append(now.ticks)
        start, end = min(ticks), max(ticks)
        end = min(end, now.ticks)  # nothing newer than "now" exists
        start = min(start, end)
        values, available, expected = history.window(start, end)
        percent = V.sample_percent(available, expected)
        if method == "GetSamplePercent":
            return percent
        if wanted is None:
            wanted = default_percent
        if percent < wanted:
            raise V.insufficient(metric, wanted, percent)
        return values
    raise OpFailure(f'"{method}" does not accept ({", ".join(kinds)})')


def interpret(formula: ast.Formula, state: EvalState) -> EvalResult:
    """Evaluate ``formula`` against ``state`` with the reference interpreter."""
    run = _Run(state)
    error: EvalFailure | None = None
    try:
        run.run(formula)
    except StopEvaluation:
        pass
    except EvalFailure as exc:
        error = exc
    assigned = run.assigned
    deallocation = assigned.get(_DEALLOCATION, DeallocationOption(DEFAULT_DEALLOCATION_OPTION))
    service: dict[str, object] = {}
    for name, value in assigned.items():
        service.setdefault(SERVICE_VARIABLES[name].canonical, value)
    for canonical in (_DEDICATED, _LOW_PRIORITY):  # the full name wins over its alias (§5.1)
        if canonical in service:
            service[canonical] = run.target(canonical)
    return assemble(
        state,
        dedicated=run.target(_DEDICATED),
        low_priority=run.target(_LOW_PRIORITY),
        deallocation=deallocation.name,  # type: ignore[attr-defined]
        user=run.user,
        service=service,
        error=error,
    )
