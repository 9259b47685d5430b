"""Pure simulation logic with Python controllers: hand-computed outcomes of the pool model.

End-to-end tests with real formulas are in test_formulas.py.
"""

from __future__ import annotations

import pytest

from batchspec.sim.scenario import Dist
from batchspec.sim.simulator import FixedController, Settings, metrics_read_by, percentile, simulate
from tests.simulate.conftest import PendingProportional, Scripted, scenario

FIXED = """
duration: 2h
pool:
  allocation_delay: {dedicated: 4m, low_priority: 6m}
  start_task: 1m
workload:
  - at: 0s
    tasks: 6
    duration: 10m
"""


def test_fixed_size_pool_hand_computed() -> None:
    # Two dedicated nodes enter the pool at 4m and are usable at 5m (1m start task); six 10-minute tasks run two at
    # a time: starts at 5m, 15m, 25m; the last ends at 35m.
    res = simulate(scenario(FIXED), FixedController(2, 0))
    s = res.summary
    assert s["tasks_submitted"] == 6
    assert s["tasks_completed"] == 6
    assert s["makespan_s"] == 35 * 60
    waits = sorted([300, 300, 900, 900, 1500, 1500])
    assert s["wait_p50_s"] == percentile(waits, 50) == 900
    assert s["wait_p95_s"] == 1500
    assert s["wait_max_s"] == 1500
    # billed from 4m to 2h, two nodes: 2 * 116 min
    assert s["dedicated_node_hours"] == pytest.approx(2 * 116 / 60, abs=1e-4)
    assert s["low_priority_node_hours"] == 0
    # idle: 1 min start task + 85 min after the last task, per node
    assert s["idle_node_hours"] == pytest.approx(2 * 86 / 60, abs=1e-4)
    assert s["cost"] == pytest.approx(2 * 116 / 60 * 0.096, abs=1e-4)
    assert s["evaluations"] == 9  # 0, 15m, ..., 2h at the default 15-minute interval
    assert s["peak_dedicated_nodes"] == 2
    assert s["slot_utilization"] == pytest.approx(60 / (2 * 115), abs=1e-3)


def test_timeline_counts_at_sample_times() -> None:
    res = simulate(scenario(FIXED), FixedController(2, 0))
    rows = {r["t_s"]: r for r in res.timeline.rows()}
    assert rows[0.0]["dedicated"] == 0
    assert rows[4 * 60]["dedicated"] == 2 and rows[4 * 60]["usable"] == 0  # starting
    assert rows[6 * 60]["running"] == 2 and rows[6 * 60]["active"] == 4 and rows[6 * 60]["usable"] == 2
    assert rows[6 * 60]["cpu_percent"] == 100.0
    assert rows[40 * 60]["succeeded"] == 6 and rows[40 * 60]["cpu_percent"] == 0.0
    assert rows[60]["cpu_percent"] is None  # no usable node yet: no CPU sample


SHRINK = """
duration: 2h
evaluation_interval: 15m
pool:
  allocation_delay: {dedicated: 4m}
  start_task: 1m
  task_retention: 10m
workload:
  - at: 0s
    tasks: 1
    duration: 60m
"""


def _shrink_controller(option: str) -> Scripted:
    # one node, then none at 15m, then one again from 30m
    return Scripted(lambda t: (0 if 15 * 60 <= t < 30 * 60 else 1, 0), option=option)


def test_shrink_with_requeue_restarts_the_running_task() -> None:
    res = simulate(scenario(SHRINK), _shrink_controller("requeue"))
    s = res.summary
    assert s["tasks_requeued"] == 1
    assert s["tasks_completed"] == 1
    # first node 4m-15m; second node in the pool at 34m, usable at 35m; the task restarts at 35m, ends at 95m
    assert s["makespan_s"] == 95 * 60
    assert s["wait_max_s"] == 300  # wait counts to the first start
    assert s["dedicated_node_hours"] == pytest.approx((11 + 86) / 60, abs=1e-4)


def test_shrink_with_taskcompletion_lets_the_task_finish() -> None:
    res = simulate(scenario(SHRINK), _shrink_controller("taskcompletion"))
    s = res.summary
    assert s["tasks_requeued"] == 0
    assert s["makespan_s"] == 65 * 60  # it never stopped
    # the leaving node stays until 65m (4m..65m); a new node joins at 34m (the leaving one is not counted as a member)
    assert s["dedicated_node_hours"] == pytest.approx((61 + 86) / 60, abs=1e-4)
    assert s["peak_dedicated_nodes"] == 2


def test_shrink_with_terminate_fails_the_task() -> None:
    s = simulate(scenario(SHRINK), _shrink_controller("terminate")).summary
    assert (s["tasks_completed"], s["tasks_failed"], s["tasks_terminated"]) == (0, 1, 1)
    assert s["makespan_s"] == 15 * 60


def test_shrink_with_retaineddata_waits_for_the_retention_time() -> None:
    s = simulate(scenario(SHRINK), _shrink_controller("retaineddata")).summary
    assert s["makespan_s"] == 65 * 60
    # removed 10 minutes (task_retention) after its last task: 4m..75m
    assert s["dedicated_node_hours"] == pytest.approx((71 + 86) / 60, abs=1e-4)


def test_evaluation_error_leaves_targets_unchanged() -> None:
    from batchspec.sim.state import EvalError, EvalResult

    calls = []

    class FailsSecond:
        def evaluate(self, state):  # type: ignore[no-untyped-def]
            calls.append(state.pool.target_dedicated_nodes)
            if len(calls) == 2:
                return EvalResult(
                    "",
                    state.pool.target_dedicated_nodes,
                    0,
                    "requeue",
                    error=EvalError("InsufficientSampleData", "Autoscale evaluation failed"),
                )
            return EvalResult("", 3 if len(calls) == 1 else 0, 0, "requeue")

    res = simulate(scenario(FIXED), FailsSecond())
    assert calls[:3] == [0, 3, 3]  # the failed second evaluation kept target 3
    assert res.summary["evaluation_errors"] == 1
    assert res.summary["first_error"]["t_s"] == 15 * 60
    rows = {r["t_s"]: r for r in res.timeline.rows()}
    assert rows[20 * 60]["target_dedicated"] == 3
    assert rows[31 * 60]["target_dedicated"] == 0


def test_metric_samples_become_visible_after_the_latency() -> None:
    sc = scenario("""
duration: 1h
evaluation_interval: 5m
workload:
  - {at: 0s, tasks: 3, duration: 2h}
""")
    ctl = Scripted(lambda t: (0, 0))
    simulate(sc, ctl)
    first, second = ctl.seen[0], ctl.seen[1]
    assert first.metrics["$PendingTasks"].values == []  # a new pool has no samples
    series = second.metrics["$ActiveTasks"]
    # at 5m: samples at 30s..4m are visible (the 4m30s and 5m ones are younger than the 60s latency)
    assert len(series.values) == 8
    assert series.values == [3] * 8
    assert (series.end - second.time).total_seconds() == -60


def test_missing_samples_are_none() -> None:
    sc = scenario("""
duration: 1h
evaluation_interval: 30m
metrics: {missing_rate: 0.5}
workload: [{at: 0s, tasks: 1, duration: 1m}]
""")
    ctl = Scripted(lambda t: (0, 0))
    simulate(sc, ctl)
    values = ctl.seen[1].metrics["$ActiveTasks"].values
    assert len(values) == 58
    assert 10 < values.count(None) < 48


def test_pack_fills_one_node_before_the_next() -> None:
    text = """
duration: 1h
pool: {task_slots_per_node: 4, task_scheduling: %s, allocation_delay: 1m}
workload: [{at: 5m, tasks: 4, duration: 30m}]
"""
    ctl_pack = Scripted(lambda t: (2, 0))
    res = simulate(scenario(text % "pack"), ctl_pack)
    assert res.summary["idle_node_hours"] == pytest.approx(
        59 / 60 + 29 / 60, abs=1e-3
    )  # one node never works
    res = simulate(scenario(text % "spread"), Scripted(lambda t: (2, 0)))
    assert res.summary["idle_node_hours"] == pytest.approx(2 * 29 / 60, abs=1e-3)  # both work from 5m to 35m


def test_multi_slot_tasks_wait_for_room() -> None:
    sc = scenario("""
duration: 1h
pool: {task_slots_per_node: 2, allocation_delay: 0s}
workload:
  - {at: 1s, tasks: 1, duration: 10m, slots: 1}
  - {at: 2s, tasks: 1, duration: 10m, slots: 2}
  - {at: 3s, tasks: 1, duration: 10m, slots: 1}
""")
    s = simulate(sc, FixedController(1, 0)).summary
    # slot task 1 runs at 1s; the 2-slot task cannot start; the later 1-slot task takes the free slot (no
    # head-of-line blocking); the 2-slot task starts when both are free at 10m3s
    assert s["wait_max_s"] == pytest.approx(600 + 3 - 2, abs=1e-6)
    assert s["makespan_s"] == pytest.approx(1203 - 1, abs=1e-6)


def test_tasks_needing_more_slots_than_a_node_has_are_rejected() -> None:
    sc = scenario("duration: 1h\nworkload: [{at: 0s, tasks: 1, duration: 1m, slots: 3}]")
    with pytest.raises(ValueError, match="3 slots"):
        simulate(sc, FixedController(1, 0), settings=Settings.resolve(sc, pool_task_slots=2))


def test_node_quota_caps_the_pool() -> None:
    sc = scenario("duration: 1h\npool: {max_dedicated: 3}\nworkload: [{at: 0s, tasks: 10, duration: 1h}]")
    res = simulate(sc, FixedController(8, 0))
    assert res.summary["peak_dedicated_nodes"] == 3
    assert max(res.timeline.target_dedicated) == 8  # the target stays as the formula set it


def test_preemption_requeues_tasks_and_counts_preempted_nodes() -> None:
    sc = scenario("""
duration: 6h
evaluation_interval: 5m
seed: 3
pool:
  allocation_delay: {low_priority: 5m}
  preemption_rate: 2/h
  preemption_recovery: 20m
workload: [{at: 0s, tasks: 20, duration: 20m}]
""")
    ctl = Scripted(lambda t: (0, 4))
    res = simulate(sc, ctl)
    s = res.summary
    assert s["preemptions"] > 0
    assert s["tasks_requeued"] > 0
    assert s["tasks_completed"] == 20  # every requeued task ran again to the end
    tl = res.timeline
    # a preempted node still counts in the low-priority total, and the pool never holds more than the target
    assert any(p > 0 for p in tl.preempted)
    assert all(lp >= p for lp, p in zip(tl.low_priority, tl.preempted, strict=False))
    assert all(lp <= 4 for lp in tl.low_priority)
    seen = [st.pool for st in ctl.seen if st.pool.preempted_node_count > 0]
    assert seen and all(p.current_low_priority_nodes >= p.preempted_node_count for p in seen)
    assert max(st.pool.usable_node_count for st in ctl.seen) <= 4


def test_same_seed_same_result_and_other_seed_differs() -> None:
    text = """
duration: 4h
seed: %d
pool: {preemption_rate: 0.5/h}
workload:
  - rate: 40/h
    duration: {lognormal: {median: 4m, sigma: 0.6}}
"""
    a = simulate(scenario(text % 7), PendingProportional(cap=5, low_priority=True))
    b = simulate(scenario(text % 7), PendingProportional(cap=5, low_priority=True))
    c = simulate(scenario(text % 8), PendingProportional(cap=5, low_priority=True))
    assert a.summary == b.summary
    assert a.timeline.rows() == b.timeline.rows()
    assert a.summary != c.summary


def test_initial_nodes_are_usable_at_once() -> None:
    sc = scenario(
        "duration: 30m\npool: {initial_nodes: {dedicated: 2}}\nworkload: [{at: 0s, tasks: 2, duration: 5m}]"
    )
    s = simulate(sc, FixedController(2, 0)).summary
    assert s["wait_max_s"] == 0
    assert s["dedicated_node_hours"] == pytest.approx(1.0, abs=1e-4)


def test_metrics_read_by_formula_text() -> None:
    text = "a = $PendingTasks.GetSample(1); b = $CurrentDedicated; c = $MemoryBytes.Count(); $TargetDedicatedNodes=1"
    assert metrics_read_by(text) == {"$PendingTasks", "$CurrentDedicatedNodes", "$MemoryBytes"}


def test_retired_metrics_have_no_samples() -> None:
    sc = scenario("duration: 1h\nevaluation_interval: 30m\nworkload: [{at: 0s, tasks: 1, duration: 1m}]")
    ctl = Scripted(lambda t: (0, 0))
    simulate(sc, ctl, metrics=frozenset({"$MemoryBytes", "$ActiveTasks"}))
    assert ctl.seen[-1].metrics["$MemoryBytes"].values == []
    assert set(ctl.seen[-1].metrics) == {"$MemoryBytes", "$ActiveTasks"}


def test_distribution_floor_and_kinds() -> None:
    import random

    rng = random.Random(1)
    assert Dist("normal", 10, 100, floor=1.0).sample(rng) >= 1.0
    values = [Dist("lognormal", 60, 0.5).sample(rng) for _ in range(2000)]
    assert 55 < sorted(values)[1000] < 65  # the median is the median
