"""Accuracy on real formulas (tests/corpus/formulas) and on the cases that motivate the rules (golden/cases).

Real formulas that work on the service must get no error-level finding; the expected findings of every file are
golden files (tests/lint/golden/{corpus,cases}/<name>.out), regenerated with ``pytest --update-golden`` and
reviewed as diffs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.lint import LintConfig, lint_formula

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus" / "formulas"
CASES = HERE / "golden" / "cases"
GOLDEN = HERE / "golden"
SEED = Path("/work/shared/examples/seed-pool.json")

REAL = sorted(CORPUS.glob("*.formula"))
MOTIVATING = sorted(CASES.glob("*.formula"))


def _lint(path: Path, shown: str) -> list[Diagnostic]:
    return lint_formula(path.read_bytes().decode("utf-8"), shown, LintConfig())


def _render(diagnostics: list[Diagnostic]) -> str:
    out = []
    for d in diagnostics:
        out.append(
            f"{d.span.path}:{d.span.start.line}:{d.span.start.col}: {d.severity.label}[{d.code} {d.name}] {d.message}"
        )
        if d.hint:
            out.append(f"    hint: {d.hint}")
    return "\n".join(out) + "\n" if out else ""


def _compare(golden: Path, actual: str, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    assert golden.is_file(), f"{golden} is missing; run pytest --update-golden and review it"
    assert actual == golden.read_text(encoding="utf-8"), f"{golden.name} differs; run pytest --update-golden"


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_formulas_have_no_error_and_match_golden(path: Path, update_golden: bool) -> None:
    diagnostics = _lint(path, f"corpus/{path.name}")
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    assert errors == [], _render(errors)
    golden = GOLDEN / "corpus" / f"{path.stem}.out"
    # other areas add corpus files too: a file without expected findings yet is still held to "no error"
    if golden.is_file() or update_golden:
        _compare(golden, _render(diagnostics), update_golden)


def test_corpus_goldens_cover_the_corpus() -> None:
    missing = [p.name for p in REAL if not (GOLDEN / "corpus" / f"{p.stem}.out").is_file()]
    assert len(missing) <= len(REAL) // 4, (
        f"expected findings missing for {missing}; run pytest --update-golden"
    )
    assert not [m for m in missing if m.startswith("lint-")]
    stale = [
        g.name for g in (GOLDEN / "corpus").glob("*.out") if not (CORPUS / f"{g.stem}.formula").is_file()
    ]
    assert stale == [], f"golden files without a corpus formula: {stale}"


@pytest.mark.parametrize("path", MOTIVATING, ids=[p.stem for p in MOTIVATING])
def test_motivating_cases_match_golden(path: Path, update_golden: bool) -> None:
    diagnostics = _lint(path, f"cases/{path.name}")
    assert diagnostics, "a motivating case must be reported"
    _compare(CASES / f"{path.stem}.out", _render(diagnostics), update_golden)


def _found(path: Path) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.start.line, d.span.start.col) for d in _lint(path, path.name)]


def test_done_when_shipyard_138() -> None:
    # the service said "Line 9, Col 43" (the "(" after GetSample); the finding spans "$PendingTasks.GetSample"
    found = [d for d in _lint(CASES / "shipyard-138.formula", "s.formula") if d.severity >= Severity.WARNING]
    assert [(d.code, d.span.start.line, d.span.start.col, d.span.end.col) for d in found] == [
        ("FM201", 9, 20, 43)
    ]
    assert "GetSamplePercent" in (found[0].hint or "")


def test_done_when_docs_cpu_sample_compares_with_0_7() -> None:
    found = _lint(CORPUS / "msdocs__write-a-formula.formula", "w.formula")
    scale = [d for d in found if d.code == "FM202"]
    assert len(scale) == 2 and all(d.hint and d.hint.startswith("did you mean") for d in scale)
    assert scale[0].hint == "did you mean 70?"


def test_done_when_uncapped_pending_tasks() -> None:
    found = _lint(CASES / "uncapped-pending-tasks.formula", "u.formula")
    assert [(d.code, d.name) for d in found] == [("FM205", "unbounded-target")]
    assert "min(" in (found[0].hint or "")


def test_done_when_seed_formula_reports_nothing_above_info(tmp_path: Path) -> None:
    if SEED.is_file():
        text = json.loads(SEED.read_text())["properties"]["scaleSettings"]["autoScale"]["formula"]
    else:  # the copy FRONTEND keeps in the corpus
        text = (CORPUS / "seed__seed-pool.formula").read_text()
    assert [d for d in lint_formula(text, "seed.formula") if d.severity > Severity.INFO] == []


@pytest.mark.parametrize("path", [*REAL, *MOTIVATING], ids=[p.stem for p in [*REAL, *MOTIVATING]])
def test_getsample_unguarded_agrees_with_the_evaluator_on_a_new_pool(path: Path) -> None:
    """On a new pool (no samples) the evaluator fails exactly where getsample-unguarded points (or earlier)."""
    from datetime import datetime, timezone

    from batchspec.sim import compile_text
    from batchspec.sim.state import EvalState, PoolState

    text = path.read_bytes().decode("utf-8")
    try:
        compiled = compile_text(text, path.name)
    except Exception:  # a formula the front end rejects is not evaluated (none in the corpus)
        pytest.fail(f"{path.name} does not compile")
    when = datetime(2023, 3, 13, 20, 35, tzinfo=timezone.utc)
    result = compiled.evaluate(EvalState(time=when, pool=PoolState(task_slots_per_node=4)))
    findings = [d for d in lint_formula(text, path.name) if d.code == "FM201"]
    if result.error is not None and result.error.code == "InsufficientSampleData":
        line, col = result.error.line, result.error.col
        assert any(
            d.span.start.line == line and d.span.start.col <= (col or 0) <= d.span.end.col for d in findings
        ), (result.error, [(d.span.start, d.span.end) for d in findings])
    elif result.error is None:
        # no failure on a new pool: every finding must be about a guard that is too weak or a too-young pool,
        # never about a read that the evaluator showed to be safe
        assert all('without a "GetSamplePercent" guard' not in d.message for d in findings), [
            d.message for d in findings
        ]


@pytest.mark.parametrize(
    "text",
    [
        "2024-10-30T00:00:00.880011Z",
        "Mon, 06 Oct 2014 10:20:00 GMT",
        "2024-10-30",
        "2024-10",
        "2024",
        "2024-10-30T10:00Z",
        "2024-10-30T10:00:00+02:00",
        "mon, 06 oct 2014 10:20:00 GMT",
        "Mon, 6 Oct 2014 10:20:00 UTC",
        " 2024-10-30T10:00:00Z ",
        "Tue, 06 Oct 2014 10:20:00 GMT",
        "2023-04-14T09:30:51.123456789Z",
        "2023-02-30T00:00:00Z",
        "2024-1-3",
        "2024-10-30 10:00:00Z",
        "2024-10-30T10:00:00.5+0200",
        "2024-13-01",
        "Mon, 06 Oct 2014 25:20:00 GMT",
        "yesterday",
        "",
    ],
)
def test_bad_time_literal_agrees_with_the_evaluator(text: str) -> None:
    """bad-time-literal reports an error exactly when the evaluator cannot parse the string."""
    from batchspec.lint.rules.formula.fm212_bad_time_literal import time_literal_problem
    from batchspec.sim.timeparse import parse_time

    problem = time_literal_problem(text)
    certain_error = problem is not None and problem[2]
    assert certain_error == (parse_time(text) is None), (text, problem)


def test_seed_short_guard_window_agrees_with_the_evaluator() -> None:
    """The seed guards 5 minutes of $PendingTasks but reads $RunningTasks 10 minutes back: a 6-minute-old pool
    passes the guard and fails the read. The evaluator shows it; the linter reports it (as information)."""
    from datetime import datetime, timedelta, timezone

    from batchspec.sim import compile_text
    from batchspec.sim.state import EvalState, MetricSeries, PoolState

    text = (CORPUS / "seed__seed-pool.formula").read_text()
    now = datetime(2024, 3, 13, 10, 0, tzinfo=timezone.utc)
    series = {
        m: MetricSeries(values=[1.0] * 10, end=now - timedelta(seconds=60))  # 6 minutes of pool life
        for m in ("$PendingTasks", "$ActiveTasks", "$RunningTasks")
    }
    result = compile_text(text, "seed").evaluate(EvalState(time=now, pool=PoolState(), metrics=series))
    assert result.error is not None and result.error.code == "InsufficientSampleData"
    found = [d for d in lint_formula(text, "seed") if d.code == "FM201"]
    assert [(d.severity, d.span.start.line, d.span.end.col) for d in found] == [
        (Severity.INFO, result.error.line, result.error.col)
    ]


_AGES_MINUTES = (0, 1.5, 2, 3, 4, 5, 6, 7, 9, 12, 16, 20, 31, 61, 200)


def _states(now):  # type: ignore[no-untyped-def]
    """Pools of many ages (samples since creation, the newest minute not yet available), some with gaps."""
    from datetime import timedelta

    from batchspec.sim.state import EvalState, MetricSeries, PoolState

    metrics = ("$PendingTasks", "$ActiveTasks", "$RunningTasks", "$CPUPercent", "$PreemptedNodeCount")
    for minutes in _AGES_MINUTES:
        n = max(0, int(minutes * 2) - 2)
        for gaps in (False, True):
            values = [None if gaps and i % 3 == 0 else float(i % 7) for i in range(n)]
            series = {m: MetricSeries(values=list(values), end=now - timedelta(seconds=60)) for m in metrics}
            nodes = 0 if gaps else 2  # an empty pool too: divisions by node counts
            pool = PoolState(
                current_dedicated_nodes=nodes, target_dedicated_nodes=nodes, task_slots_per_node=4
            )
            yield EvalState(time=now, pool=pool, metrics=series)


@pytest.mark.parametrize("path", [*REAL, *MOTIVATING], ids=[p.stem for p in [*REAL, *MOTIVATING]])
def test_every_insufficient_sample_failure_is_reported(path: Path) -> None:
    """Soundness against the evaluator: over pools of many ages (with and without sample gaps), every
    InsufficientSampleData failure is at a GetSample that getsample-unguarded reported (at some severity), and every
    aggregate of an empty list, division by zero and unparsable time string where the matching rule reported it."""
    from datetime import datetime, timezone

    from batchspec.sim import compile_text

    text = path.read_bytes().decode("utf-8")
    compiled = compile_text(text, path.name)
    diagnostics = lint_formula(text, path.name)
    now = datetime(2023, 3, 13, 20, 35, tzinfo=timezone.utc)
    for state in _states(now):
        result = compiled.evaluate(state)
        if result.error is None:
            continue
        message = result.error.values[0].value if result.error.values else ""
        line, col = result.error.line, result.error.col or 0
        if result.error.code == "InsufficientSampleData":
            code, at = "FM201", lambda d: d.span.start.col <= col <= d.span.end.col  # noqa: B023
        elif "of an empty list" in message:
            code, at = "FM223", lambda d: d.span.start.col <= col <= d.span.end.col  # noqa: B023
        elif "division by zero" in message:  # the evaluator points at "/", the linter at the divisor after it
            code, at = "FM215", lambda d: d.span.start.col > col  # noqa: B023
        elif "invalid time string" in message:  # the evaluator points at "(", the linter at the string
            code, at = "FM212", lambda d: d.span.start.col > col  # noqa: B023
        else:
            continue
        assert any(d.code == code and d.span.start.line == line and at(d) for d in diagnostics), (
            path.name,
            message,
        )


@pytest.mark.parametrize("path", [*REAL, *MOTIVATING], ids=[p.stem for p in [*REAL, *MOTIVATING]])
def test_a_target_that_follows_a_huge_queue_is_reported_unbounded(path: Path) -> None:
    """With 10^9 queued tasks (every sample available), a target the evaluator sets to 10^8 or more must have been
    reported by unbounded-target; a capped formula stays far below."""
    from datetime import datetime, timedelta, timezone

    from batchspec.sim import compile_text
    from batchspec.sim.state import EvalState, MetricSeries, PoolState

    text = path.read_bytes().decode("utf-8")
    now = datetime(2023, 3, 13, 22, 35, tzinfo=timezone.utc)
    metrics = ("$PendingTasks", "$ActiveTasks", "$RunningTasks", "$PreemptedNodeCount")
    series = {m: MetricSeries(values=[1e9] * 600, end=now - timedelta(seconds=30)) for m in metrics}
    series["$CPUPercent"] = MetricSeries(values=[100.0] * 600, end=now - timedelta(seconds=30))
    pool = PoolState(
        current_dedicated_nodes=100,
        target_dedicated_nodes=100,
        current_low_priority_nodes=100,
        target_low_priority_nodes=100,
    )
    result = compile_text(text, path.name).evaluate(EvalState(time=now, pool=pool, metrics=series))
    if result.error is not None:
        return  # the formula fails in this state (reported by other rules and tests)
    reported = {d.span.start.line for d in lint_formula(text, path.name) if d.code == "FM205"}
    for name, value in (
        ("$TargetDedicatedNodes", result.target_dedicated_nodes),
        ("$TargetLowPriorityNodes", result.target_low_priority_nodes),
    ):
        if value >= 10**8:
            assert reported, f"{path.name}: {name} reached {value} but unbounded-target is silent"
