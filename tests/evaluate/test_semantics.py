"""Evaluation semantics beyond the checklist: guard idioms, windows, aliases, stop(), compile_text, fallback."""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

from datetime import timedelta

import pytest

from batchspec.formula import check_formula
from batchspec.sim import FormulaCheckError, compile_text
from batchspec.sim import compiled as compiled_module
from batchspec.sim.compiled import compile_formula
from batchspec.sim.evaluator import interpret
from batchspec.sim.state import EvalState, MetricSeries

from .conftest import T0, P, evaluate, message, state, window

GUARDS = [
    # the docs' idiom (E1/E7): test GetSamplePercent, fall back to the last sample
    "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);\n"
    "x = p < 70 ? max(0, $CPUPercent.GetSample(1)) : avg($CPUPercent.GetSample(TimeInterval_Minute * 10));",
    # the same guard through && and ||
    "x = $CPUPercent.Count() > 0 && avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 90)) > 1;",
    "x = $CPUPercent.Count() == 0 || avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 90)) > 1;",
    # nested, unparenthesised, right-associative ternaries: only the selected branch runs
    "x = $CPUPercent.Count() == 0 ? 0 : $CPUPercent.GetSamplePercent(TimeInterval_Hour) < 50 ? 1 : "
    "avg($CPUPercent.GetSample(TimeInterval_Hour));",
    # TES: Count() as the condition
    "$TargetDedicatedNodes = ($CPUPercent.Count() ? avg($CPUPercent.GetSample(TimeInterval_Minute, 100)) : 1);",
]


@pytest.mark.parametrize("text", GUARDS)
def test_guard_idioms_do_not_fail_on_a_new_pool(text: str) -> None:
    r = evaluate(text)
    assert r.error is None, r.error


@pytest.mark.parametrize("text", GUARDS[:2])
def test_unguarded_half_fails(text: str) -> None:
    unguarded = "x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10));"
    assert evaluate(unguarded).error is not None
    assert evaluate(text, state(CPUPercent=window(20, 20, 3.0))).error is None


def test_stop_inside_a_branch() -> None:
    text = "$TargetDedicatedNodes = 2; x = $CPUPercent.Count() == 0 ? stop() : 1; $TargetDedicatedNodes = 9;"
    r = evaluate(text)
    assert r.error is None and r.target_dedicated_nodes == 2
    assert r.results == "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    assert evaluate(text, state(CPUPercent=[1])).target_dedicated_nodes == 9


def test_alias_reads_share_the_effective_value() -> None:
    r = evaluate(
        "a = $TargetDedicated; $TargetDedicated = 3; b = $TargetDedicatedNodes; "
        "$TargetDedicatedNodes = 5; c = $TargetDedicated;",
        state(dedicated=1),
    )
    assert (
        r.results
        == "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;a=1;b=3;c=5"
    )


def test_window_is_half_open_and_capped_at_now() -> None:
    # samples every 30 s ending at now: a 60-s window holds exactly 2 (the one 60 s ago is outside)
    st = state(CPUPercent=[1, 2, 3, 4])
    assert evaluate("v = $CPUPercent.GetSample(TimeInterval_Minute);", st).results == P + ";v=[3,4]"
    # the two bounds in either order; timestamps are absolute
    text = (
        "a = $CPUPercent.GetSample(TimeInterval_Second * 30, TimeInterval_Second * 90, 0); "
        "b = $CPUPercent.GetSample(TimeInterval_Second * 90, TimeInterval_Second * 30, 0); "
        "c = $CPUPercent.GetSample(time() + TimeInterval_Second * -90, time() + TimeInterval_Hour, 0);"
    )
    assert evaluate(text, st).results == P + ";a=[2,3];b=[2,3];c=[2,3,4]"


def test_samples_newer_than_now_are_not_available() -> None:
    future = MetricSeries([1.0, 2.0, 3.0, 4.0], T0 + timedelta(seconds=60))
    r = evaluate(
        "n = $CPUPercent.Count(); v = $CPUPercent.GetSample(5); h = $CPUPercent.HistoryBeginTime();",
        state(CPUPercent=future),
    )
    assert r.results == P + ";h=2023-03-13T21:59:30.000Z;n=2;v=[1,2]"


def test_history_methods() -> None:
    st = state(CPUPercent=MetricSeries([None, 5.0, None, 6.0], T0, timedelta(seconds=60)))
    r = evaluate(
        "n = $CPUPercent.Count(); p = $CPUPercent.GetSamplePeriod(); h = $CPUPercent.HistoryBeginTime(); "
        "q = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 4);",
        st,
    )
    assert r.results == P + ";h=2023-03-13T21:58:00.000Z;n=2;p=00:01:00;q=50"
    assert evaluate("h = $CPUPercent.HistoryBeginTime(); p = $CPUPercent.GetSamplePeriod();").results == (
        P + ";h=2023-03-13T22:00:00.000Z;p=00:00:30"
    )


def test_missing_samples_count_against_the_percentage() -> None:
    r = evaluate(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 15);", state(CPUPercent=window(29, 30))
    )
    assert r.results == P + ";p=96.6667"
    r = evaluate("x = $CPUPercent.GetSample(TimeInterval_Minute * 15, 97);", state(CPUPercent=window(29, 30)))
    assert message(r).endswith("$CPUPercent wanted 97%, received 96.6667%")


def test_default_sample_percent_is_configurable() -> None:
    st = state(CPUPercent=window(10, 20))
    assert evaluate("x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10));", st).error is not None
    st.default_sample_percent = 50.0
    assert evaluate("x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10));", st).error is None


def test_window_shorter_than_a_period() -> None:
    assert evaluate(
        "p = $CPUPercent.GetSamplePercent(TimeInterval_Second * 10);", state(CPUPercent=[1])
    ).results == (P + ";p=100")
    assert (
        evaluate("p = $CPUPercent.GetSamplePercent(TimeInterval_Zero);", state(CPUPercent=[1])).results
        == P + ";p=0"
    )


def test_integer_sample_values_behave_as_doubles() -> None:
    st = EvalState(time=T0, metrics={"$ActiveTasks": MetricSeries([1, 2, 3], T0)})  # type: ignore[list-item]
    r = evaluate(
        "v = $ActiveTasks.GetSample(3); x = val(v, 0) + 1; w = $ActiveTasks.GetSample(TimeInterval_Minute, 0) * 2;",
        st,
    )
    assert r.results == P + ";v=[1,2,3];w=[4,6];x=2"


def test_counts_read_through_sample_methods_use_their_history() -> None:
    r = evaluate(
        "n = $CurrentDedicatedNodes; v = $CurrentDedicatedNodes.GetSample(2);",
        state(current_dedicated=4, CurrentDedicatedNodes=[2, 3, 4]),
    )
    assert r.results == P + ";n=4;v=[3,4]"


def test_compile_text_rejects_front_end_errors() -> None:
    with pytest.raises(FormulaCheckError) as info:
        compile_text("$TargetDedicatedNodes = max(0, $PendingTask.GetSample(1));", "pool.formula")
    assert info.value.exit_code == 2
    assert str(info.value).startswith("pool.formula:1:")
    assert [d.code for d in info.value.diagnostics if d.severity.name == "ERROR"]
    assert compile_text("$TargetDedicatedNodes = 1;").evaluate(state()).target_dedicated_nodes == 1


def test_fallback_to_the_interpreter_when_python_cannot_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    formula, _ = check_formula("x = 1 + 2; $TargetDedicatedNodes = x;")
    assert formula is not None

    def too_deep(*args: object, **kwargs: object) -> object:
        raise RecursionError("maximum recursion depth exceeded during compilation")

    monkeypatch.setattr(compiled_module, "compile", too_deep, raising=False)
    fallback = compile_formula(formula)
    assert fallback.fallback and fallback.source == ""
    assert fallback.evaluate(state()) == interpret(formula, state())
    assert fallback.evaluate(state()).target_dedicated_nodes == 3


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "-" * 190 + "1;",
        "x = " + " + ".join(["1"] * 190) + ";",
        "x = " + "max(1, " * 150 + "2" + ")" * 150 + ";",
        "x = " + "1 ? " * 90 + "2" + " : 3" * 90 + ";",
    ],
)
def test_deep_formulas_agree(text: str) -> None:
    evaluate(text)


def test_generated_source_is_readable() -> None:
    formula, _ = check_formula("a = TimeInterval_Minute * 10; b = $CPUPercent.GetSamplePercent(a);")
    assert formula is not None
    source = compile_formula(formula).source
    assert source.startswith("def _evaluate(state):")
    assert ".percent(" in source and "_rt.method" not in source  # statically typed: no runtime dispatch


def test_sample_order_is_configurable() -> None:
    text = "a = $CPUPercent.GetSample(3); b = $CPUPercent.GetSample(TimeInterval_Minute * 2); l = val(a, 0);"
    st = state(CPUPercent=[1, 2, 3, 4, 5])
    assert evaluate(text, st).results == P + ";a=[3,4,5];b=[2,3,4,5];l=3"
    st.newest_first = True
    assert evaluate(text, st).results == P + ";a=[5,4,3];b=[5,4,3,2];l=5"


def test_double_op_vector_with_the_checkers_leniency() -> None:
    from batchspec.formula.typecheck import CheckOptions

    text = "v = $ActiveTasks.GetSample(3); a = 2 * v; b = 10 - v; c = 6 / v;"
    with pytest.raises(FormulaCheckError):
        compile_text(text)
    compiled = compile_text(text, options=CheckOptions(allow_double_op_doublevec=True))
    st = state(ActiveTasks=[1, 2, 3])
    r = compiled.evaluate(st)
    assert r.results == P + ";a=[2,4,6];b=[9,8,7];c=[6,3,2];v=[1,2,3]"
    assert interpret(compiled.formula, st) == r
    assert message(compiled.evaluate(state(ActiveTasks=[1, 0, 3]))) == "Line 1, Col 61: division by zero"
