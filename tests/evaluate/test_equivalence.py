"""Hypothesis: the compiled form and the reference interpreter agree on generated well-typed formulas and states.

The generator builds formulas statement by statement with a typed environment, so every variable is assigned
before it is read and every operation is one of the operations table; runtime failures (division by zero, log of
0, empty aggregates, vectors of different lengths, missing samples, bad time strings, stop()) are generated on
purpose. Both strategies must give the same EvalResult: results string, targets, variables and error with its
position.
"""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from batchspec.formula import check_formula
from batchspec.sim.compiled import compile_formula
from batchspec.sim.evaluator import interpret
from batchspec.sim.state import EvalState, MetricSeries, PoolState

METRICS = ("$ActiveTasks", "$RunningTasks", "$PendingTasks", "$CPUPercent")
INTERVALS = ("TimeInterval_Second", "TimeInterval_Minute", "TimeInterval_Hour", "TimeInterval_Zero")
TIMES = (
    '"Mon, 13 Mar 2023 20:29:32 GMT"',
    '"2023-03-13T21:00:00Z"',
    '"2023-03-13T21:59:30.1234567+01:00"',
    '"not a time"',
    '""',
)
NAMES = ("a", "b", "$x", "x", "B", "total")


class Gen:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.env: dict[str, str] = {}

    def pick(self, options):  # type: ignore[no-untyped-def]
        return self.draw(st.sampled_from(options))

    def number(self) -> str:
        return self.pick(("0", "1", "2", "3", "0.5", "70", "100", "2.5", "1234567", "0.001"))

    def expr(self, t: str, depth: int) -> str:
        choices = {"d": self.double, "v": self.vector, "ti": self.interval, "ts": self.timestamp}
        return choices[t](depth)

    def var(self, t: str) -> str | None:
        names = sorted(n for n, nt in self.env.items() if nt == t)
        return self.pick(names) if names else None

    def double(self, depth: int) -> str:
        leaf = depth <= 0 or self.draw(st.integers(0, 3)) == 0
        if leaf:
            options = [
                self.number(),
                "$TargetDedicatedNodes",
                "$TargetLowPriority",
                "$CurrentDedicatedNodes",
                "$TargetDedicated",
                "$UsableNodeCount",
                "$CurrentLowPriorityNodes",
                "$TaskSlotsPerNode",
                f"{self.pick(METRICS)}.Count()",
            ]
            v = self.var("d")
            if v:
                options += [v, v]
            return self.pick(options)
        d = depth - 1
        kind = self.draw(st.integers(0, 14))
        if kind == 0:
            return f"({self.double(d)} {self.pick(('+', '-', '*', '/'))} {self.double(d)})"
        if kind == 1:
            t = self.pick(("d", "d", "ti", "ts"))
            op = self.pick(("<", "<=", "==", ">=", ">", "!="))
            return f"({self.expr(t, d)} {op} {self.expr(t, d)})"
        if kind == 2:
            return f"({self.double(d)} {self.pick(('&&', '||'))} {self.double(d)})"
        if kind == 3:
            return f"{self.pick(('-', '!'))}{self.double(d)}"
        if kind == 4:
            return f"({self.double(d)} ? {self.double(d)} : {self.double(d)})"
        if kind == 5:
            args = ", ".join(self.expr(self.pick(("d", "v")), d) for _ in range(self.draw(st.integers(0, 3))))
            return f"{self.pick(('avg', 'max', 'min', 'sum', 'len', 'range', 'std', 'norm'))}({args})"
        if kind == 6:
            return f"percentile({self.vector(d)}, {self.double(d)})"
        if kind == 7:
            return f"val({self.vector(d)}, {self.double(d)})"
        if kind == 8:
            return f"{self.pick(('lg', 'ln', 'log', 'ceil', 'floor', 'round'))}({self.double(d)})"
        if kind == 9:
            return "rand()"
        if kind == 10:
            field = self.pick(("year", "month", "day", "weekday", "hour", "minute", "second"))
            return f"{self.timestamp(d)}.{field}"
        if kind == 11:
            args = [self.window_bound(d) for _ in range(self.draw(st.integers(1, 2)))]
            return f"{self.pick(METRICS)}.GetSamplePercent({', '.join(args)})"
        if kind == 12:
            return (
                f"({self.double(d)} ? {self.double(d)} : stop())"
                if self.draw(st.integers(0, 4)) == 0
                else "1"
            )
        if kind == 13:
            strings = ('"a"', '"b"', '"B"', '""', '"2023"')
            return (
                f"({self.pick(strings)} {self.pick(('<', '<=', '==', '>=', '>', '!='))} {self.pick(strings)})"
            )
        return f"({self.double(d)})"

    def window_bound(self, depth: int) -> str:
        return self.pick((self.interval(depth), self.interval(depth), self.timestamp(depth)))

    def vector(self, depth: int) -> str:
        d = depth - 1
        kind = self.draw(st.integers(0, 5 if depth > 0 else 1))
        metric = self.pick(METRICS)
        if kind == 0:
            v = self.var("v")
            if v:
                return v
            return f"{metric}.GetSample({self.pick(('1', '3', '5', '0'))})"
        if kind == 1:
            args = [self.window_bound(max(d, 0))]
            shape = self.draw(st.integers(0, 3))
            if shape in (1, 3):
                args.append(self.window_bound(max(d, 0)))
            if shape in (2, 3):
                args.append(self.pick(("0", "50", "70", "95", "100")))
            return f"{metric}.GetSample({', '.join(args)})"
        if kind == 2:
            return f"({self.vector(d)} {self.pick(('+', '-', '*', '/'))} {self.double(d)})"
        if kind == 3:
            return f"({self.vector(d)} {self.pick(('+', '-', '*', '/'))} {self.vector(d)})"
        if kind == 4:
            name = self.pick(("lg", "ln", "log", "ceil", "floor", "round"))
            return f"{name}({self.vector(d)})"
        return f"{metric}.GetSample({self.double(d)})"

    def interval(self, depth: int) -> str:
        if depth <= 0 or self.draw(st.integers(0, 2)) == 0:
            v = self.var("ti")
            return (
                self.pick((v,) if v else ())
                if v and self.draw(st.booleans())
                else (f"({self.number()} * {self.pick(INTERVALS)})")
            )
        d = depth - 1
        kind = self.draw(st.integers(0, 5))
        if kind == 0:
            return f"({self.interval(d)} {self.pick(('*', '/'))} {self.double(d)})"
        if kind == 1:
            return f"({self.interval(d)} {self.pick(('+', '-'))} {self.interval(d)})"
        if kind == 2:
            return f"({self.timestamp(d)} - {self.timestamp(d)})"
        if kind == 3:
            return f"-{self.interval(d)}"
        if kind == 4:
            return f"{self.pick(METRICS)}.GetSamplePeriod()"
        return f"({self.double(d)} * {self.pick(INTERVALS)})"

    def timestamp(self, depth: int) -> str:
        if depth <= 0 or self.draw(st.integers(0, 2)) == 0:
            v = self.var("ts")
            return v if v and self.draw(st.booleans()) else self.pick(("time()", f"time({self.pick(TIMES)})"))
        d = depth - 1
        kind = self.draw(st.integers(0, 2))
        if kind == 0:
            return f"({self.timestamp(d)} + {self.interval(d)})"
        if kind == 1:
            return f"({self.interval(d)} + {self.timestamp(d)})"
        return f"{self.pick(METRICS)}.HistoryBeginTime()"

    def statement(self) -> str:
        kind = self.draw(st.integers(0, 9))
        if kind == 0:
            return f"{self.pick(('$TargetDedicatedNodes', '$TargetDedicated', '$TargetLowPriorityNodes'))} = {self.double(3)}"
        if kind == 1:
            return f"$NodeDeallocationOption = {self.pick(('requeue', 'terminate', 'taskcompletion', 'retaineddata'))}"
        if kind == 2 and self.draw(st.integers(0, 5)) == 0:
            return self.pick(
                ("stop()", f"max({self.double(2)}, {self.vector(2)})", f"time({self.pick(TIMES)})")
            )
        t = self.pick(("d", "d", "d", "v", "ti", "ts"))
        value = self.expr(t, 3)
        name = self.pick(NAMES)
        self.env[name] = t
        return f"{name} = {value}"


@st.composite
def formulas(draw: st.DrawFn) -> str:
    gen = Gen(draw)
    statements = [gen.statement() for _ in range(draw(st.integers(1, 6)))]
    sep = draw(st.sampled_from((";\n", "; ", ";\r\n")))
    return sep.join(statements) + draw(st.sampled_from(("", ";")))


@st.composite
def states(draw: st.DrawFn) -> EvalState:
    now = datetime(2023, 3, 13, 22, 0, tzinfo=timezone.utc) + timedelta(
        seconds=draw(st.integers(0, 7 * 86400)), microseconds=draw(st.integers(0, 999_999))
    )
    metrics = {}
    for name in draw(st.lists(st.sampled_from(METRICS), unique=True)):
        values = draw(
            st.lists(
                st.one_of(st.none(), st.integers(0, 20).map(float), st.floats(-5, 100, allow_nan=False)),
                max_size=150,
            )
        )
        period = timedelta(seconds=draw(st.sampled_from((30, 30, 60, 10, 45))))
        end = now - timedelta(seconds=draw(st.integers(-120, 600)))
        metrics[name] = MetricSeries(values, end, period)
    pool = PoolState(
        target_dedicated_nodes=draw(st.integers(0, 10)),
        target_low_priority_nodes=draw(st.integers(0, 10)),
        current_dedicated_nodes=draw(st.integers(0, 10)),
        task_slots_per_node=draw(st.integers(1, 8)),
    )
    return EvalState(
        time=now,
        pool=pool,
        metrics=metrics,
        seed=draw(st.integers(0, 2**16)),
        newest_first=draw(st.booleans()),
        strict_index=draw(st.booleans()),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=formulas(), state=states())
@example(text="x = 1 / 0", state=EvalState(time=datetime(2023, 1, 1, tzinfo=timezone.utc)))
@example(
    text="samplevecavg = avg($PendingTasks.GetSample(TimeInterval_Minute * 10))",
    state=EvalState(time=datetime(2023, 1, 1, tzinfo=timezone.utc)),
)
def test_compiled_form_equals_interpreter(text: str, state: EvalState) -> None:
    formula, diagnostics = check_formula(text)
    assume(formula is not None and not any(d.severity.name == "ERROR" for d in diagnostics))
    reference = interpret(formula, state)
    compiled = compile_formula(formula).evaluate(state)
    assert compiled.results == reference.results
    assert compiled.error == reference.error
    assert compiled == reference
