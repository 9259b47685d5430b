"""Type checker: the operations table exhaustively, overloads, keywords, and never stricter than the service."""

from __future__ import annotations

import itertools

import pytest

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast, check_formula
from batchspec.formula import builtins as b
from batchspec.formula.typecheck import CheckOptions
from batchspec.formula.types import Type

SAMPLES = {
    Type.DOUBLE: "1",
    Type.DOUBLE_VEC: "$ActiveTasks.GetSample(3)",
    Type.STRING: '"a"',
    Type.TIMESTAMP: "time()",
    Type.TIMEINTERVAL: "TimeInterval_Minute",
}


def _errors(text: str, **options: bool) -> list[str]:
    _f, diagnostics = check_formula(text, "t.formula", options=CheckOptions(**options))
    return [d.code for d in diagnostics if d.severity is Severity.ERROR]


@pytest.mark.parametrize(
    ("left", "op", "right"),
    list(itertools.product(SAMPLES, ast.BINARY_OPERATORS, SAMPLES)),
)
def test_operations_table_is_exact(left: Type, op: str, right: Type) -> None:
    text = f"x = ({SAMPLES[left]}) {op} ({SAMPLES[right]});"
    errors = _errors(text)
    if (left, op, right) in b.OPERATIONS:
        assert errors == []
    else:
        assert errors and errors[0] in ("FM109", "FM115")


@pytest.mark.parametrize(("op", "operand"), list(itertools.product(("-", "!"), SAMPLES)))
def test_unary_table_is_exact(op: str, operand: Type) -> None:
    errors = _errors(f"x = {op}({SAMPLES[operand]});")
    assert (errors == []) == ((op, operand) in b.UNARY_OPERATIONS)


def test_bare_metric_set_is_configurable() -> None:
    assert _errors("x = $PreemptedNodeCount + 1;") == ["FM110"]
    _f, diagnostics = check_formula(
        "x = $PreemptedNodeCount + 1;", options=CheckOptions(bare_metrics=frozenset({"$PreemptedNodeCount"}))
    )
    assert diagnostics == []


def test_double_op_doublevec_leniency_is_an_option() -> None:
    assert _errors("x = 2 * $ActiveTasks.GetSample(3);") == ["FM109"]
    assert _errors("x = 2 * $ActiveTasks.GetSample(3);", allow_double_op_doublevec=True) == []


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        # overloads chosen by argument count and type (§3.2)
        ("$TargetDedicatedNodes = lg(8);", []),
        ("$TargetDedicatedNodes = lg($ActiveTasks.GetSample(3));", ["FM108"]),
        ("$TargetDedicatedNodes = round(2, 3);", ["FM108"]),
        ("$TargetDedicatedNodes = ceil(1.5);", []),
        ("$TargetDedicatedNodes = max(ceil($ActiveTasks.GetSample(3)));", []),
        ("x = avg();", []),
        ("x = avg(1, $ActiveTasks.GetSample(3), 2);", []),
        ("x = avg(time());", ["FM106"]),
        ("x = percentile($ActiveTasks.GetSample(3), 50);", []),
        ("x = percentile(1, 50);", ["FM106"]),
        ("x = val($ActiveTasks.GetSample(3), $ActiveTasks.GetSample(1));", ["FM106"]),
        ('x = time(); y = time("2024-01-01T00:00:00Z");', []),
        ("x = time(1);", ["FM106"]),
        ("x = rand(1);", ["FM105"]),
        # GetSample: the type of the second argument picks samplePercent or endTime (§4.3)
        ("x = $CPUPercent.GetSample(TimeInterval_Minute, 70);", []),
        ("x = $CPUPercent.GetSample(TimeInterval_Minute, TimeInterval_Minute * 5);", []),
        ("x = $CPUPercent.GetSample(time(), time(), 50);", []),
        ("x = $CPUPercent.GetSample(1, 2);", ["FM106"]),
        ("x = $CPUPercent.GetSample();", ["FM105"]),
        ("x = $CPUPercent.GetSamplePercent(TimeInterval_Minute, 5);", ["FM106"]),
        ("x = $CPUPercent.GetSamplePercent(TimeInterval_Minute) + 1;", []),
        ("x = $CPUPercent.Count() ? 1 : 0; y = $CPUPercent.HistoryBeginTime().hour;", []),
        ("x = $CPUPercent.GetSamplePeriod() * 2;", []),
        ("x = $CurrentDedicatedNodes.GetSample(1); y = $TaskSlotsPerNode * 2;", []),
        # keywords, constants, targets
        ("$NodeDeallocationOption = 1 ? requeue : terminate;", []),
        ("$NodeDeallocationOption = 1 ? requeue : 5;", ["FM107"]),
        ("x = 1 ? requeue : terminate;", ["FM113", "FM113"]),
        ("requeue = 1;", ["FM114"]),
        ("TimeInterval_Second = 1;", ["FM114"]),
        ("$TargetDedicatedNodes = time();", ["FM108"]),
        ("$TargetLowPriority = TimeInterval_Minute;", ["FM108"]),
        ("$CurrentDedicatedNodes = 1;", ["FM102"]),
        ("$UsableNodeCount = 1;", ["FM102"]),
        # stop() and unknown types are accepted everywhere (never stricter than the service)
        ("x = 1 ? stop() : 2; $TargetDedicatedNodes = x;", []),
        ("x = 1 ? 2 : time(); y = x + 1; $TargetDedicatedNodes = x;", []),
        ("$TargetDedicatedNodes = stop();", []),
        ("x = stop() + 1;", ["FM109"]),
        # conditions
        ("x = time() ? 1 : 0;", ["FM115"]),
        ("x = !time();", ["FM115"]),
        ("x = $ActiveTasks.GetSample(1) && 1;", ["FM115"]),
        # names
        ("x = y; y = 1;", ["FM101"]),
        ("$x = 1; x = $x + 1; y = x;", []),
        ("x = max;", ["FM101"]),
        ("x = $CPUPercent();", ["FM103"]),
        ("x = a.GetSample(1);", ["FM101"]),
        ("a = 1; x = a.GetSample(1);", ["FM111"]),
        ("x = (time()).hour; y = time().weekday + time().second;", []),
        ("x = 1.hour;", ["FM112"]),
    ],
)
def test_rules(text: str, errors: list[str]) -> None:
    assert _errors(text) == errors


def test_undefined_reported_once_per_name_with_suggestion() -> None:
    _f, diagnostics = check_formula("$samples = 1; x = $sample + $sample; y = $sample;", "t.formula")
    (d,) = diagnostics
    assert d.hint == 'did you mean "$samples"?' and d.span.start.col == 19


def test_names_from_broken_statements_are_not_reported_undefined() -> None:
    _f, diagnostics = check_formula("x = (1;\ny = x + 1;\nz = w;\n", "t.formula")
    assert [(d.code, d.span.start.line) for d in diagnostics] == [("FM003", 1), ("FM101", 3)]
