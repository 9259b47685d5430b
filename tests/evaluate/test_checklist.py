"""Every row of the checklist of formula-language.md §10, evaluated with both strategies (see conftest.evaluate).

Rows about rejection (syntax, limits, types) assert that the front end rejects the formula, so it never reaches
the evaluator; ``compile_text`` then raises FormulaCheckError (tested in test_semantics.py).
"""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from batchspec.sim.state import MetricSeries

from .conftest import T0, P, evaluate, message, rejected, state, window

GT = Path(__file__).parent / "ground_truth"
F1 = (GT / "r4-haste.formula").read_text()
F2 = (GT / "r5-doazureparallel.formula").read_text()
F4 = (GT / "f4-guarded-new-pool.formula").read_text()
E9 = (GT / "e9-initial-size.formula").read_text()
E6_EVALUATE = (GT / "r6-time-based.formula").read_text()
F3 = """lastsample = val($PendingTasks.GetSample(1), 0);
samplevecavg = avg($PendingTasks.GetSample(TimeInterval_Minute * 10));
"""
E1 = """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;
"""
E4 = """$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)
"""
E7 = """$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
$NodeDeallocationOption = taskcompletion;
"""


def test_row_01_r1_no_trailing_semicolon() -> None:
    r = evaluate("$TargetDedicatedNodes=2")
    assert r.results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert r.target_dedicated_nodes == 2 and r.error is None


def test_row_02_r2_evaluate() -> None:
    r = evaluate("$TargetDedicatedNodes=3", state(dedicated=2))
    assert r.results == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


@pytest.mark.parametrize("option", ["requeue", "terminate"])
def test_row_03_results_equal_the_formula(option: str) -> None:
    text = f"$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption={option}"
    assert evaluate(text).results == text


def test_row_04_crlf_comments_tabs() -> None:
    r = evaluate("\r\n// note\r\n\t$TargetDedicatedNodes = 1; // one node\r\nx =\r\n  2;\r\n")
    assert (
        r.results == "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;x=2"
    )


def test_row_04_crlf_positions_in_errors() -> None:
    # a CRLF formula: the failing call is on line 3, and \r never shifts a column
    r = evaluate("\r\n// note\r\n\tx = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95));\r\n")
    assert (
        message(r) == "Line 3, Col 31: Insufficient data from data set: $CPUPercent wanted 95%, received 0%"
    )


def test_row_05_missing_semicolon_rejected() -> None:
    assert rejected(E4 + "$NodeDeallocationOption = taskcompletion;\n")


@pytest.mark.parametrize(
    "text",
    [
        "/* note */ $TargetDedicatedNodes = 1;",  # row 6
        "x = 1e3;",  # row 7
        "x = .5;",
        "x = 5 % 2;",
        "x = +1;",
        "t = time('Mon, 06 Oct 2014 10:20:00 GMT');",  # row 8
        't = time(\\"Mon, 06 Oct 2014 10:20:00 GMT\\");',
        "",  # row 9
        "// only a comment",
        "x=1;" * 101,  # row 11
    ],
)
def test_rows_06_to_11_rejected(text: str) -> None:
    assert rejected(text)


def test_row_10_empty_statement_accepted() -> None:
    assert evaluate("$TargetDedicatedNodes = 1;;").results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    )


def test_row_11_limits_accepted() -> None:
    assert evaluate("x=1;" * 100).results == P + ";x=1"
    head = "$TargetDedicatedNodes = 1;\n"
    padded = head + "//" + "x" * (8192 - len(head) - 2)
    assert len(padded) == 8192
    assert evaluate(padded).target_dedicated_nodes == 1
    assert rejected(padded + "x")


def test_row_12_stop() -> None:
    r = evaluate("$TargetDedicatedNodes = 3; stop(); $TargetDedicatedNodes = 9;")
    assert r.error is None and r.target_dedicated_nodes == 3
    assert r.results == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def test_row_13_precedence() -> None:
    r = evaluate("a = 2 + 3 * 4; b = 10 - 4 - 3; c = 8 / 2 / 2; d = 0 == 1 < 2; e = 0 && 0 || 1;")
    assert r.results == P + ";a=14;b=3;c=2;d=0;e=1"


def test_row_14_unary() -> None:
    assert evaluate("x = -!0; y = !-2; z = -2 * -3;").results == P + ";x=-1;y=0;z=6"


def test_row_15_right_associative_ternary() -> None:
    assert evaluate("x = 1 ? 2 : 0 ? 3 : 4;").results == P + ";x=2"


def test_row_16_lazy_ternary_guard() -> None:
    r = evaluate(F4)
    assert r.error is None
    assert r.results == P + ";lastsample=0;samplepercent=0;samplevecavg=0"


def test_row_17_short_circuit_and() -> None:
    r = evaluate("ok = 0 && avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95)) > 50;")
    assert r.error is None and r.results == P + ";ok=0"


def test_row_18_names_distinct_and_ordinal_order() -> None:
    assert evaluate("x = 1; $x = 2; B = 3; a = 4;").results == P + ";$x=2;B=3;a=4;x=1"


def test_row_19_number_format() -> None:
    r = evaluate("a = 290 / 3; b = 1 / 3; c = 2.5; d = 100; e = 1234567;")
    assert r.results == P + ";a=96.6667;b=0.333333;c=2.5;d=100;e=1.23457e+06"


def test_row_20_time_strings_and_members() -> None:
    r = evaluate(
        't = time("Mon, 06 Oct 2014 10:20:00 GMT"); h = t.hour; d = t.weekday; m = t.month; '
        'u = time("2024-10-30T00:00:00.880011Z");'
    )
    assert r.results == P + ";d=1;h=10;m=10;t=2014-10-06T10:20:00.000Z;u=2024-10-30T00:00:00.880Z"


def test_row_21_time_arithmetic() -> None:
    r = evaluate(
        't = time("Mon, 06 Oct 2014 10:20:00 GMT") + (-6 * TimeInterval_Hour); h = t.hour; '
        'y = time("2024-01-01T00:00:00Z") + TimeInterval_Year; same = time() == time();'
    )
    assert r.results == P + ";h=4;same=1;t=2014-10-06T04:20:00.000Z;y=2024-12-31T00:00:00.000Z"


def test_row_22_get_sample_count() -> None:
    assert evaluate("v = $ActiveTasks.GetSample(3);", state(ActiveTasks=[1, 2, 3, 4, 5, 6])).results == (
        P + ";v=[4,5,6]"
    )
    r = evaluate("v = $ActiveTasks.GetSample(3);")
    assert r.error is None and r.results == P + ";v=[]"


def test_row_23_evaluate_without_targets() -> None:
    r = evaluate("myActiveSamples=$ActiveTasks.GetSample(5);", state(dedicated=1, ActiveTasks=[0] * 8))
    assert r.results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
        "myActiveSamples=[0,0,0,0,0]"
    )


def test_row_24_read_only_variables_not_printed() -> None:
    r = evaluate("n = $CurrentDedicatedNodes * 1.1;", state(dedicated=10, current_dedicated=10))
    assert (
        r.results == "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;n=11"
    )


def test_row_25_target_read_before_assignment() -> None:
    r = evaluate(
        "$half = $TargetDedicatedNodes / 2; $TargetDedicatedNodes = 4; $next = $TargetDedicatedNodes + 1;",
        state(dedicated=1),
    )
    assert r.results == (
        "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$half=0.5;$next=5"
    )


@pytest.mark.parametrize(
    "text",
    ["$TargetDedicatedNodes = 5; $TargetDedicated = 3;", "$TargetDedicated = 3; $TargetDedicatedNodes = 5;"],
)
def test_row_26_full_name_wins_over_alias(text: str) -> None:
    r = evaluate(text)
    assert r.target_dedicated_nodes == 5
    assert r.results == "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def test_row_27_aliases_print_canonical_names() -> None:
    r = evaluate("$TargetDedicated=0;$TargetLowPriority=2", state(dedicated=3))
    assert (r.target_dedicated_nodes, r.target_low_priority_nodes) == (0, 2)
    assert r.results == "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=2;$NodeDeallocationOption=requeue"


@pytest.mark.parametrize(("value", "applied"), [("0.5", 0), ("2.7", 2), ("-3", 0)])
def test_row_28_fractional_targets(value: str, applied: int) -> None:
    r = evaluate(f"$TargetDedicatedNodes = {value};")
    assert r.target_dedicated_nodes == applied
    assert r.results.startswith(f"$TargetDedicatedNodes={value};")


def test_row_29_case_differs_from_service_name() -> None:
    r = evaluate("$targetDedicatedNodes = 5;", state(dedicated=2))
    assert r.target_dedicated_nodes == 2
    assert r.results == (
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$targetDedicatedNodes=5"
    )


def test_row_30_legacy_current_dedicated() -> None:
    r = evaluate("x = $CurrentDedicated;", state(dedicated=3, current_dedicated=3))
    assert (
        r.results == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;x=3"
    )


def test_row_31_get_sample_percent_is_a_scalar() -> None:
    r = evaluate(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);", state(CPUPercent=window(15, 20))
    )
    assert r.results == P + ";p=75"


def test_row_32_required_percentage() -> None:
    st = state(CPUPercent=window(18, 20, 50.0))
    r = evaluate("x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95));", st)
    assert r.error is not None and r.error.code == "InsufficientSampleData"
    assert r.error.message == "Autoscale evaluation failed due to insufficient sample data"
    assert (
        message(r) == "Line 1, Col 30: Insufficient data from data set: $CPUPercent wanted 95%, received 90%"
    )
    assert (r.target_dedicated_nodes, r.target_low_priority_nodes) == (0, 0)
    assert (
        evaluate("x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 80));", st).results == P + ";x=50"
    )


def test_row_33_unguarded_window_on_a_new_pool() -> None:
    r = evaluate(F3, state(dedicated=3, low_priority=1))
    assert (
        message(r) == "Line 2, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%"
    )
    assert (
        r.results
        == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=1;$NodeDeallocationOption=requeue;lastsample=0"
    )
    assert (r.target_dedicated_nodes, r.target_low_priority_nodes) == (3, 1)  # pool unchanged


def test_row_34_flattening() -> None:
    text = "a = avg($ActiveTasks.GetSample(3), 7); m = max(0, $ActiveTasks.GetSample(1)); n = len($ActiveTasks.GetSample(1));"
    assert evaluate(text, state(ActiveTasks=[1, 2, 3])).results == P + ";a=3.25;m=3;n=1"
    assert evaluate(text).results == P + ";a=7;m=0;n=0"


def test_row_35_math_functions() -> None:
    r = evaluate(
        "a = round(2.5); b = round(-2.5); c = ceil(1.2); d = floor(1.8); e = lg(8); f = log(1000); g = ln(1); "
        "h = std(1, 2, 3, 4);"
    )
    assert r.results == P + ";a=3;b=-3;c=2;d=1;e=3;f=3;g=0;h=1.29099"


def test_row_36_double_op_vector() -> None:
    assert rejected("x = 2 * $ActiveTasks.GetSample(3);")
    assert rejected("$TargetDedicatedNodes = $ActiveTasks.GetSample(1);")
    assert (
        evaluate("y = $ActiveTasks.GetSample(3) * 2;", state(ActiveTasks=[1, 2, 3])).results
        == P + ";y=[2,4,6]"
    )


def test_row_37_metrics_must_be_sampled() -> None:
    assert rejected("x = $PendingTasks + 1;")
    assert rejected("y = $TargetDedicatedNodes.GetSample(1);")
    assert evaluate("z = $TaskSlotsPerNode * 2;", state(slots=4)).results == P + ";z=8"


@pytest.mark.parametrize(
    "text",
    ["x = requeue;", "$NodeDeallocationOption = 5;", "$CPUPercent = 5;", "$TargetDedicatedNodes = foo + 1;"],
)
def test_row_38_static_errors(text: str) -> None:
    assert rejected(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 1 / 0;", "Line 1, Col 7: division by zero"),
        ("y = log(0);", 'Line 1, Col 8: "log" needs values greater than 0, got 0'),
        ("z = avg($ActiveTasks.GetSample(1));", 'Line 1, Col 8: "avg" of an empty list'),
        ("s = std(5);", 'Line 1, Col 8: "std" needs at least 2 values, got 1'),
    ],
)
def test_row_39_runtime_errors(text: str, expected: str) -> None:
    r = evaluate(text, state(dedicated=2))
    assert r.error is not None and r.error.code == "FormulaEvaluationError"
    assert message(r) == expected
    assert r.results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert r.target_dedicated_nodes == 2


def test_row_40_e9_early() -> None:
    r = evaluate(E9, state(time=datetime(2023, 3, 13, 20, 35, tzinfo=timezone.utc)))
    assert r.error is None and r.target_dedicated_nodes == 4


def _e9_state(running: MetricSeries, active: MetricSeries, dedicated: int = 0):  # type: ignore[no-untyped-def]
    return state(dedicated=dedicated, RunningTasks=running, ActiveTasks=active)


def test_row_41_e9_later() -> None:
    r = evaluate(E9, _e9_state(window(60, 120), window(120, 120)))
    assert r.error is None and r.target_dedicated_nodes == 0
    busy = MetricSeries([0.0] * 119 + [2.0], T0)
    r = evaluate(E9, _e9_state(window(60, 120), busy, dedicated=7))
    assert r.error is None and r.target_dedicated_nodes == 4  # the value line 1 assigned, not the pool's 7


def test_row_42_e9_insufficient() -> None:
    r = evaluate(E9, _e9_state(window(48, 120), window(120, 120)))
    assert (
        message(r)
        == "Line 6, Col 75: Insufficient data from data set: $RunningTasks wanted 50%, received 40%"
    )
    assert r.target_dedicated_nodes == 0


def test_row_43_e1() -> None:
    assert evaluate(E1).results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "maxNumberofVMs=25;pendingTaskSamplePercent=0;pendingTaskSamples=1;startingNumberOfVMs=1"
    )


def test_row_44_e7() -> None:
    assert evaluate(E7, state(dedicated=4)).results == (
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "$samples=0;$targetVMs=2;$tasks=0"
    )


def test_row_45_r4() -> None:
    assert evaluate(F1, state(dedicated=1, ActiveTasks=window(29, 30))).results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "$samples=96.6667;$targetVMs=0.5;$tasks=0;cappedPoolSize=3"
    )


def test_row_46_r5() -> None:
    assert evaluate(F2, state(dedicated=1, PendingTasks=window(30, 30))).results == (
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=5;$NodeDeallocationOption=taskcompletion;"
        "$maxTasksPerNode=4;$round=3;$samples=100;$targetVMs=1;$tasks=0"
    )


def test_row_47_r6() -> None:
    at = datetime(2016, 10, 13, 19, 18, 47, 805000, tzinfo=timezone.utc)
    assert evaluate(E6_EVALUATE, state(time=at)).results == (
        "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
        "$curTime=2016-10-13T19:18:47.805Z;$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0"
    )


@pytest.mark.parametrize(("day", "target"), [(13, 5), (14, 1)])
def test_row_48_weekday(day: int, target: int) -> None:
    at = datetime(2023, 3, day, 12, tzinfo=timezone.utc)
    assert (
        evaluate(
            "$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);", state(time=at)
        ).target_dedicated_nodes
        == target
    )


def test_row_49_count_on_first_evaluation() -> None:
    text = "$NodeDeallocationOption = retaineddata; $TargetDedicatedNodes = ($PendingTasks.Count() ? 0 : 1);"
    assert evaluate(text).results == (
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=retaineddata"
    )
    later = state(PendingTasks=MetricSeries([0.0] * 10, T0 - timedelta(minutes=1)))
    assert evaluate(text, later).target_dedicated_nodes == 0
