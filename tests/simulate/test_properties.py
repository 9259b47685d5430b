"""Hypothesis properties of the pool model, with random scenarios and random target schedules."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from batchspec.sim.scenario import Burst, Dist, PoolSettings, Scenario, Stream
from batchspec.sim.simulator import (
    LEAVING,
    REMOVED,
    T_ACTIVE,
    T_FAILED,
    T_RUNNING,
    T_SUCCEEDED,
    Settings,
    Simulation,
)
from tests.simulate.conftest import result

OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")


class RandomTargets:
    """Seeded random targets and deallocation options at every evaluation."""

    def __init__(self, seed: int, max_nodes: int, fail_rate: float) -> None:
        self.rng = random.Random(seed)
        self.max_nodes = max_nodes
        self.fail_rate = fail_rate

    def evaluate(self, state):  # type: ignore[no-untyped-def]
        from batchspec.sim.state import EvalError, EvalResult

        if self.rng.random() < self.fail_rate:
            return EvalResult(
                "",
                state.pool.target_dedicated_nodes,
                state.pool.target_low_priority_nodes,
                state.pool.node_deallocation_option,
                error=EvalError("InsufficientSampleData", "x"),
            )
        return result(
            self.rng.randint(0, self.max_nodes), self.rng.randint(0, self.max_nodes), self.rng.choice(OPTIONS)
        )


@st.composite
def simulations(draw: st.DrawFn) -> tuple[Simulation, RandomTargets]:
    tsn = draw(st.integers(1, 4))
    items = []
    for _ in range(draw(st.integers(1, 3))):
        slots = draw(st.integers(1, tsn))
        dur = Dist("exponential", draw(st.floats(30, 3600)), floor=1.0)
        if draw(st.booleans()):
            items.append(
                Burst(
                    draw(st.floats(0, 7200)),
                    draw(st.integers(1, 60)),
                    dur,
                    draw(st.sampled_from([0.0, 600.0])),
                    slots,
                    draw(st.sampled_from([0.0, 0.2])),
                )
            )
        else:
            items.append(Stream(draw(st.floats(1 / 3600, 60 / 3600)), 0.0, None, dur, slots))
    pool = PoolSettings(
        task_slots_per_node=tsn,
        task_scheduling=draw(st.sampled_from(["pack", "spread"])),
        allocation_delay_dedicated=Dist("uniform", 0, draw(st.floats(0, 900))),
        allocation_delay_low_priority=Dist("exponential", draw(st.floats(1, 900))),
        start_task=Dist.fixed(draw(st.sampled_from([0, 60, 300]))),
        preemption_rate_per_s=draw(st.sampled_from([0.0, 0.5 / 3600, 4 / 3600])),
        preemption_recovery=Dist.fixed(draw(st.sampled_from([60, 1200]))),
        max_dedicated=draw(st.integers(0, 6)),
        max_low_priority=draw(st.integers(0, 6)),
        task_retention_s=draw(st.sampled_from([0.0, 600.0])),
        initial_dedicated=draw(st.integers(0, 2)),
    )
    seed = draw(st.integers(0, 10_000))
    sc = Scenario(
        name="prop",
        path="",
        duration_s=draw(st.sampled_from([3600.0, 4 * 3600.0])),
        evaluation_interval_s=draw(st.sampled_from([300.0, 900.0])),
        seed=seed,
        pool=pool,
        workload=tuple(items),
    )
    ctl = RandomTargets(seed, 6, draw(st.sampled_from([0.0, 0.3])))
    return Simulation(sc, Settings.resolve(sc), ctl), ctl


@settings(max_examples=60, deadline=None)
@given(simulations())
def test_every_task_ends_exactly_once_and_nodes_follow_targets(
    case: tuple[Simulation, RandomTargets],
) -> None:
    sim, _ = case
    leave_started: dict[int, float] = {}
    overstay: list[str] = []
    max_task = max(sim.workload.duration_s, default=0.0)
    original_set_state = sim._set_state
    original_evaluate = sim._evaluate
    ends: dict[int, int] = {}
    original_push = sim._push

    def set_state(node, state):  # type: ignore[no-untyped-def]
        if state == LEAVING:
            leave_started[node.id] = sim.now
        elif state == REMOVED and node.id in leave_started:
            allowed = max_task + (sim.pool.task_retention_s if node.leave_mode == "retaineddata" else 0.0)
            if sim.now - leave_started[node.id] > allowed + 1e-6:
                overstay.append(
                    f"node {node.id} left {sim.now - leave_started[node.id]:.0f}s after its shrink"
                )
        original_set_state(node, state)

    def evaluate(t):  # type: ignore[no-untyped-def]
        before = [len(sim.members[p]) + len(sim.leaving[p]) for p in (0, 1)]
        original_evaluate(t)
        for p in (0, 1):
            # right after an evaluation the pool's members (leaving nodes aside) never exceed the target
            assert len(sim.members[p]) <= sim.target[p]
            # growth never goes past the node quota
            assert len(sim.members[p]) + len(sim.leaving[p]) <= max(sim.quota[p], before[p])

    def push(t, kind, a, b):  # type: ignore[no-untyped-def]
        if kind == 0:
            ends[a] = ends.get(a, 0) + 1
        original_push(t, kind, a, b)

    sim._set_state = set_state  # type: ignore[method-assign]
    sim._evaluate = evaluate  # type: ignore[method-assign]
    sim._push = push  # type: ignore[method-assign]
    res = sim.run()
    s = res.summary
    states = sim.t_state[: s["tasks_submitted"]]
    # every submitted task is in exactly one state, and the counts agree with the summary
    assert states.count(T_SUCCEEDED) == s["tasks_completed"]
    assert states.count(T_FAILED) == s["tasks_failed"]
    assert states.count(T_ACTIVE) + states.count(T_RUNNING) == s["tasks_unfinished"]
    assert s["tasks_completed"] + s["tasks_failed"] + s["tasks_unfinished"] == s["tasks_submitted"]
    for tid in range(s["tasks_submitted"]):
        submit = sim.workload.submit_s[tid]
        if states[tid] in (T_SUCCEEDED, T_FAILED):
            assert sim.t_end[tid] >= submit
        if sim.t_first_start[tid] >= 0:
            assert sim.t_first_start[tid] >= submit
    assert not overstay, overstay
    # nodes never exceed quotas; counters never go negative
    tl = res.timeline
    assert all(d >= 0 for d in tl.dedicated) and all(
        0 <= p <= lp for p, lp in zip(tl.preempted, tl.low_priority, strict=False)
    )
    assert max(tl.busy_slots) <= sim.tsn * (max(tl.dedicated) + max(tl.low_priority))
    assert all(u >= 0 for u in tl.usable)
    assert (
        s["idle_node_hours"] <= s["dedicated_node_hours"] + s["low_priority_node_hours"] + 2e-4
    )  # each is rounded to 4 places
    assert sim.busy_slots == sum(n.busy for n in sim.nodes)
    assert all(n.busy == 0 for n in sim.nodes if n.state == REMOVED)


@settings(max_examples=20, deadline=None)
@given(simulations())
def test_same_seed_same_trace(case: tuple[Simulation, RandomTargets]) -> None:
    sim, ctl = case
    first = sim.run()
    again = Simulation(sim.sc, sim.settings, RandomTargets(sim.sc.seed, 6, ctl.fail_rate)).run()
    assert first.summary == again.summary
    assert first.timeline.rows() == again.timeline.rows()


@given(st.integers(0, 400 * 86400))
def test_duration_format_round_trips(seconds: int) -> None:
    from batchspec.sim.scenario import format_duration, parse_duration

    assert parse_duration(format_duration(seconds)) == seconds
