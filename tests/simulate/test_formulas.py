"""End to end with real formulas (front end + compiled evaluator), checked against outcomes computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.cli.main import main
from batchspec.cli.simulate import controller_for, load_subject
from batchspec.sim import compile_text
from batchspec.sim.scenario import load_builtin
from batchspec.sim.simulator import FixedController, Settings, metrics_read_by, simulate
from tests.simulate.conftest import scenario

REPO = Path(__file__).resolve().parents[2]
SEED_POOL = REPO / "tests" / "corpus" / "pools" / "seed-pool.json"

# batch-shipyard's generated "pending_tasks" formula before the fix of Azure/batch-shipyard#138 (bias_last_sample,
# 10-minute look-back, 70 %, at most 4 dedicated nodes), rebuilt from convoy/autoscale.py with the guard removed from
# line 9 as the issue describes. The service reported "Line 9, Col 43: Insufficient data from data set:
# $PendingTasks wanted 70%, received 0%" for it on a new pool.
SHIPYARD_UNGUARDED = (
    ";\n".join(
        [
            "maxTasksPerNode = 1",
            "minTargetDedicated = 0",
            "minTargetLowPriority = 0",
            "maxTargetDedicated = 4",
            "maxTargetLowPriority = 0",
            "sli = TimeInterval_Second * 600.0",
            "samplepercent = $PendingTasks.GetSamplePercent(sli)",
            "lastsample = val($PendingTasks.GetSample(1), 0)",
            "samplevecavg = avg($PendingTasks.GetSample(sli))",
            "PendingTaskAvg = samplepercent < 70 ? max(0, lastsample) : (lastsample < samplevecavg ? "
            "avg(lastsample, samplevecavg) : max(lastsample, samplevecavg))",
            "reqVMs = PendingTaskAvg / maxTasksPerNode",
            "preemptcount = 0",
            "rebalance = 0 == 1",
            "divisor = (maxTargetDedicated == 0 || maxTargetLowPriority == 0) ? 1 : 2",
            "dedicatedVMs = max(minTargetDedicated, reqVMs / divisor)",
            "dedicatedVMs = min(maxTargetDedicated, (dedicatedVMs > 0 && dedicatedVMs < 1) ? 1 : dedicatedVMs)",
            "remainingVMs = reqVMs - dedicatedVMs",
            "redistVMs = rebalance ? min(preemptcount, remainingVMs) : 0",
            "dedicatedVMs = min(maxTargetDedicated, dedicatedVMs + redistVMs)",
            "lowPriVMs = min(maxTargetLowPriority, reqVMs - dedicatedVMs)",
            "$TargetDedicatedNodes = dedicatedVMs",
            "$TargetLowPriorityNodes = max(minTargetLowPriority, lowPriVMs)",
            "$NodeDeallocationOption = taskcompletion",
        ]
    )
    + ";"
)
# the fix (commit c9281b0): the window is read only when enough samples exist
SHIPYARD_GUARDED = SHIPYARD_UNGUARDED.replace(
    "samplevecavg = avg($PendingTasks.GetSample(sli))",
    "samplevecavg = samplepercent < 70 ? max(0, lastsample) : avg($PendingTasks.GetSample(sli))",
)


def _run_seed_pool(name: str, **overrides: object):  # type: ignore[no-untyped-def]
    subject = load_subject(str(SEED_POOL))
    sc = load_builtin(name)
    if overrides:
        from dataclasses import replace

        sc = replace(sc, **overrides)
    settings = Settings.resolve(
        sc,
        pool_interval_s=subject.interval_s,
        pool_task_slots=subject.task_slots,
        pool_scheduling=subject.scheduling,
    )
    assert subject.text is not None
    return simulate(sc, controller_for(subject), settings=settings, metrics=metrics_read_by(subject.text))


def test_seed_pool_burst_matches_the_hand_check() -> None:
    """The seed pool (PT5M, 2 slots, pack, at most one spot node) on the built-in burst, computed by hand:

    * t=0: no samples, samples=0 < 70, so the last-sample branch gives 0 -> target 0.
    * t=5m: the 5-minute guard sees 8 of 10 samples (80 %) but line 4 reads a 9-minute window of $RunningTasks,
      8 of 18 samples = 44.4 % < 70 % -> InsufficientSampleData at Line 4, Col 95; targets stay 0.
    * t=10m: windows complete, every sample 0 -> target 0. The 100 tasks arrive at 10m.
    * t=15m: $ActiveTasks over (13m, 14m] is 100 -> ActiveTask = 1 -> one spot node, in the pool at 21m (6m
      allocation), usable at 23m (2m start task).
    * Two 5-minute tasks at a time: pair k starts at 23m + 5k (k = 0..49); the last ends at 273m.
      makespan 263m; waits 13m + 5k: p50 (50th task, k=24) 133m, p95 (95th, k=47) 248m, max 258m.
    * t=285m is the first evaluation whose $RunningTasks window (275m, 284m] is all zero -> target 0; the idle node
      leaves at once (taskcompletion). Spot node-hours: 21m..285m = 4.4 h, of which idle 2m + 12m; cost 4.4 * 0.019.
    """
    res = _run_seed_pool("burst")
    s = res.summary
    assert s["tasks_submitted"] == s["tasks_completed"] == 100
    assert s["makespan_s"] == 263 * 60
    assert (s["wait_p50_s"], s["wait_p95_s"], s["wait_max_s"]) == (133 * 60, 248 * 60, 258 * 60)
    assert (s["peak_dedicated_nodes"], s["peak_low_priority_nodes"]) == (0, 1)
    assert s["dedicated_node_hours"] == 0
    assert s["low_priority_node_hours"] == pytest.approx(4.4, abs=1e-4)
    assert s["idle_node_hours"] == pytest.approx(14 / 60, abs=1e-4)
    assert s["cost"] == pytest.approx(4.4 * 0.019, abs=1e-4)
    assert s["evaluations"] == 73 and s["evaluation_errors"] == 1
    err = s["first_error"]
    assert (err["t_s"], err["code"]) == (300, "InsufficientSampleData")
    assert err["detail"] == (
        "Line 4, Col 95: Insufficient data from data set: $RunningTasks wanted 70%, received 44.4444%"
    )
    targets = {e.t_s: e.result.target_low_priority_nodes for e in res.evaluations if e.result.error is None}
    assert [targets[t * 60] for t in (0, 10, 15, 280, 285)] == [0, 0, 1, 1, 0]


@pytest.mark.parametrize("name", ["burst", "steady", "diurnal", "new-pool"])
def test_seed_formula_never_exceeds_one_spot_node(name: str) -> None:
    res = _run_seed_pool(name, duration_s=min(load_builtin(name).duration_s, 86400.0))
    tl = res.timeline
    assert max(tl.low_priority) == 1 and max(tl.dedicated) == 0
    assert max(tl.target_low_priority) <= 1 and max(tl.target_dedicated) == 0


def _shipyard(text: str):  # type: ignore[no-untyped-def]
    sc = load_builtin("new-pool")
    settings = Settings.resolve(sc, pool_interval_s=300)
    return simulate(
        sc, compile_text(text, "shipyard.formula"), settings=settings, metrics=metrics_read_by(text)
    )


def test_shipyard_unguarded_fails_on_a_new_pool_then_recovers() -> None:
    # t=0: no samples (0 %); t=5m: 8 of the 20 samples of the 10-minute window (40 %); t=10m: 18 of 20 (90 %)
    res = _shipyard(SHIPYARD_UNGUARDED)
    errors = [(e.t_s, e.result.error.values[0].value) for e in res.evaluations if e.result.error is not None]
    assert errors == [
        (0.0, "Line 9, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%"),
        (300.0, "Line 9, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 40%"),
    ]
    # the targets stayed 0 until the third evaluation, which asks for the 4 dedicated nodes at once
    first_ok = next(e for e in res.evaluations if e.result.error is None)
    assert first_ok.t_s == 600 and first_ok.result.target_dedicated_nodes == 4
    assert res.timeline.dedicated[res.timeline.t_s.index(600.0)] == 0
    assert max(res.timeline.dedicated) == 4  # capped at maxTargetDedicated

    fixed = _shipyard(SHIPYARD_GUARDED)
    assert fixed.summary["evaluation_errors"] == 0
    assert fixed.evaluations[1].result.target_dedicated_nodes == 4  # grows at 5m, one interval earlier
    assert fixed.summary["wait_p50_s"] < res.summary["wait_p50_s"]


def test_fixed_size_formula_equals_a_fixed_pool() -> None:
    sc = scenario("duration: 2h\npool: {start_task: 1m}\nworkload: [{at: 0s, tasks: 6, duration: 10m}]")
    by_formula = simulate(sc, compile_text("$TargetDedicatedNodes = 2;", "fixed.formula"))
    by_python = simulate(sc, FixedController(2, 0))
    assert by_formula.summary == by_python.summary
    assert by_formula.summary["makespan_s"] == 35 * 60
    assert by_formula.evaluations[0].result.results == (
        "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    )


def test_formula_reads_preempted_nodes() -> None:
    # E2 from the docs: replace each preempted spot node by a dedicated one
    text = (
        "maxNumberofVMs = 4;\n"
        "$TargetDedicatedNodes = min(maxNumberofVMs, max(0, $PreemptedNodeCount.GetSample(1)));\n"
        "$TargetLowPriorityNodes = min(maxNumberofVMs, maxNumberofVMs - $TargetDedicatedNodes);\n"
        "$NodeDeallocationOption = taskcompletion;"
    )
    sc = scenario("""
duration: 8h
evaluation_interval: 5m
seed: 5
pool: {preemption_rate: 1/h, preemption_recovery: 2h}
workload: [{rate: 20/h, duration: 10m}]
""")
    res = simulate(sc, compile_text(text, "e2.formula"), metrics=metrics_read_by(text))
    assert res.summary["preemptions"] > 0
    assert res.summary["peak_dedicated_nodes"] > 0  # it reacted to preemptions
    assert res.summary["evaluation_errors"] == 0


def test_cli_seed_pool_burst_table_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "burst.png"
    code = main(
        ["simulate", "formula", str(SEED_POOL), "--scenario", "burst", "--width", "72", "--plot", str(png)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "100 submitted, 100 completed, 0 failed, 0 unfinished at the end" in out
    assert "p50 2h13m, p95 4h8m, max 4h18m" in out
    assert "makespan     4h23m" in out
    assert (
        "response     tasks first queued at 10m; first usable node at 23m (13m later); at most 2 slots "
        "(1 usable node) for up to 100 queued tasks"
    ) in out
    assert "73 every 5m, 1 failed; first failure at 5m: InsufficientSampleData" in out
    assert "✗ failed evaluation (1 of 73)" in out
    assert png.stat().st_size > 10_000


def test_cli_compare_same_workload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "unguarded.formula"
    b = tmp_path / "guarded.formula"
    a.write_text(SHIPYARD_UNGUARDED, encoding="utf-8")
    b.write_text(SHIPYARD_GUARDED, encoding="utf-8")
    scen = tmp_path / "s.yaml"
    scen.write_text(
        "duration: 3h\nevaluation_interval: 5m\nworkload:\n  - {at: 0s, tasks: 40, duration: 10m}\n",
        encoding="utf-8",
    )
    code = main(
        [
            "simulate",
            "formula",
            str(a),
            "--compare",
            str(b),
            "-s",
            str(scen),
            "-f",
            "json",
            "--expect",
            "evaluation_errors==0",
            "--plot",
            str(tmp_path / "cmp.png"),
        ]
    )
    assert code == 1  # the unguarded formula fails the expectation
    captured = capsys.readouterr()
    import json

    data = json.loads(captured.out)
    names = [r["name"] for r in data["results"]]
    assert names == ["unguarded.formula", "guarded.formula"]
    assert [r["summary"]["tasks_submitted"] for r in data["results"]] == [40, 40]
    assert [r["summary"]["evaluation_errors"] for r in data["results"]] == [2, 0]
    assert 'expected evaluation_errors == 0 for "unguarded.formula", got 2' in captured.err
    assert 'guarded.formula", got' not in captured.err.replace('unguarded.formula", got', "")


def test_cli_formula_errors_exit_2_with_positions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.formula"
    bad.write_text("$TargetDedicatedNodes = $PendingTask.GetSample(1);\n", encoding="utf-8")
    assert main(["simulate", "formula", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad.as_posix()}:1:" in err or f"{bad}:1:" in err
    assert "Traceback" not in err


def test_example_scenario_runs(capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO / "examples" / "simulate"
    code = main(
        [
            "simulate",
            "formula",
            str(example / "pending-tasks.formula"),
            "--scenario",
            str(example / "scenario.yaml"),
            "-f",
            "json",
            "--expect",
            "evaluation_errors==0",
            "--expect",
            "tasks_unfinished<=20",
        ]
    )
    assert code == 0
    import json

    s = json.loads(capsys.readouterr().out)["summary"]
    assert s["tasks_submitted"] >= 200 + 40
    assert s["peak_dedicated_nodes"] == 1 and 1 < s["peak_low_priority_nodes"] <= 20


def test_seed_pool_burst_golden_timeline(update_golden: bool) -> None:
    """The whole timeline as CSV: any change in the model shows up here as a reviewable diff.

    Regenerate with ``pytest tests/simulate --update-golden`` after checking the change is intended.
    """
    import difflib

    from batchspec.sim.report import to_csv

    res = _run_seed_pool("burst")
    text = to_csv([res])
    golden = Path(__file__).parent / "golden" / "seed-pool-burst.timeline.csv"
    if update_golden:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "now", n=1)
    )
    assert not diff, diff[:3000]


def test_spec_file_gives_the_same_result_as_its_pool_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    spec = REPO / "examples" / "seed-pool" / "batchspec.yaml"
    assert main(["simulate", "formula", str(spec), "-s", "burst", "-f", "json"]) == 0
    from_spec = json.loads(capsys.readouterr().out)
    assert main(["simulate", "formula", str(SEED_POOL), "-s", "burst", "-f", "json"]) == 0
    from_json = json.loads(capsys.readouterr().out)
    assert from_spec["name"] == "seed-pool (batchspec.yaml)"
    assert from_spec["settings"] == from_json["settings"]
    assert from_spec["summary"] == from_json["summary"]


def test_time_based_formula_follows_the_scenario_clock() -> None:
    # E6 from the docs: 20 nodes on weekdays 08:00-18:00 UTC, else 10; the scenario starts on a Friday at 06:00
    text = (
        "$curTime = time();\n"
        "$workHours = $curTime.hour >= 8 && $curTime.hour < 18;\n"
        "$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;\n"
        "$isWorkingWeekdayHour = $workHours && $isWeekday;\n"
        "$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;\n"
        "$NodeDeallocationOption = taskcompletion;"
    )
    sc = scenario("""
duration: 2d
evaluation_interval: 30m
start: 2024-01-05T06:00:00Z
pool: {allocation_delay: 0s}
workload: [{at: 0s, tasks: 1, duration: 1m}]
""")
    res = simulate(sc, compile_text(text, "e6.formula"))
    by_hour = {e.time.strftime("%a %H:%M"): e.result.target_dedicated_nodes for e in res.evaluations}
    assert by_hour["Fri 07:30"] == 10 and by_hour["Fri 08:00"] == 20 and by_hour["Fri 17:30"] == 20
    assert by_hour["Fri 18:00"] == 10 and by_hour["Sat 12:00"] == 10
    assert res.evaluations[0].result.results.startswith(
        "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
        "$curTime=2024-01-05T06:00:00.000Z;"
    )
    assert res.summary["peak_dedicated_nodes"] == 20


def test_implicit_sample_percent_is_configurable() -> None:
    # with a 10 % default (what the REST reference sample shows), the unguarded Shipyard formula passes at 5m
    sc = load_builtin("new-pool")
    from dataclasses import replace

    sc = replace(sc, metrics=replace(sc.metrics, implicit_sample_percent=10.0))
    res = simulate(
        sc, compile_text(SHIPYARD_UNGUARDED, "s.formula"), settings=Settings.resolve(sc, pool_interval_s=300)
    )
    assert [e.t_s for e in res.evaluations if e.result.error is not None] == [0.0]


def test_expect_failure_points_at_the_formula_in_a_pool_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["simulate", "formula", str(SEED_POOL), "-f", "json", "--expect", "peak_low_priority_nodes>=2"])
        == 1
    )
    err = capsys.readouterr().err
    line = next(
        n
        for n, text in enumerate(SEED_POOL.read_text(encoding="utf-8").splitlines(), 1)
        if '"formula"' in text
    )
    col = (
        SEED_POOL.read_text(encoding="utf-8").splitlines()[line - 1].index('"formula": "')
        + len('"formula": "')
        + 1
    )
    assert f"seed-pool.json:{line}:{col}: error[SM001] expected peak_low_priority_nodes >= 2" in err
