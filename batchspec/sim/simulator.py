"""An event-driven simulation of an Azure Batch pool driven by an autoscale formula.

The model follows the service's timing (formula-language.md §4, §6, §9):

* metric samples every ``period`` (30 s); sample *k* covers ``((k-1)·period, k·period]`` and is stamped at its end;
  it becomes visible to the formula ``latency`` (60 s) later; with ``missing_rate`` a whole sample is lost;
* the formula runs at pool creation (t = 0) and then every evaluation interval; an evaluation error leaves the
  targets and the deallocation option unchanged; fractional targets arrive truncated from the evaluator;
* a node appears in the pool after its allocation delay (dedicated and low-priority separately), runs the start
  task, then becomes usable; billing runs from appearance to removal and stops while a node is preempted;
* low-priority nodes are preempted at ``preemption_rate`` per node: their running tasks go back to the queue and the
  node stays in the pool as *preempted* (counted in ``$CurrentLowPriorityNodes`` and ``$PreemptedNodeCount``) until
  it is recovered after ``preemption_recovery`` or removed by a shrink;
* tasks take ``slots`` of a node's ``task_slots_per_node``; ``pack`` fills the fullest node that fits, ``spread`` the
  emptiest; the queue is first come, first served (a requeued task goes to the front);
* a shrink removes allocating, then preempted, then starting, then idle, then busy nodes, under the formula's
  ``$NodeDeallocationOption``: ``requeue`` (running tasks back to the queue, node gone at once), ``terminate``
  (running tasks fail), ``taskcompletion`` (the node leaves when its tasks finish), ``retaineddata`` (as
  taskcompletion, then it also waits for the task retention time after its last task);
* the node quota caps the nodes of each priority in the pool (leaving nodes included); the target stays as the
  formula set it.

Metrics as the service defines them: ``$ActiveTasks`` (queued), ``$RunningTasks``, ``$PendingTasks`` (their sum),
``$SucceededTasks``/``$FailedTasks`` (cumulative counts of finished tasks), ``$CPUPercent`` (busy slots over the slots
of usable nodes, averaged over the sample; missing while the pool has no usable node), the node counts. Retired
resource metrics have no samples.

Cost is O(events · log events): a heap of node and task events, arrival times pre-sorted, sampling O(1) from
counters; no loop ever walks all tasks or all seconds.
"""

from __future__ import annotations

import heapq
import math
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from batchspec.sim.scenario import Scenario
from batchspec.sim.state import EvalError, EvalResult, EvalState, MetricSeries, PoolState
from batchspec.sim.workloads import Workload, generate


class Controller(Protocol):
    """Anything that decides targets from an EvalState: a compiled formula, or a fixed-size pool.

    The ``values`` lists in ``state.metrics`` are shared between evaluations and grow afterwards (that keeps an
    evaluation O(1) in the history length): read them during ``evaluate``, copy them to keep them.
    """

    def evaluate(self, state: EvalState) -> EvalResult: ...


DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")

# Metrics the simulator records (canonical names). Everything else a formula reads is treated as never sampled.
SAMPLED_METRICS = (
    "$ActiveTasks",
    "$RunningTasks",
    "$PendingTasks",
    "$SucceededTasks",
    "$FailedTasks",
    "$CPUPercent",
    "$PreemptedNodeCount",
    "$SampleNodeCount",
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$UsableNodeCount",
)
RETIRED_METRICS = (
    "$WallClockSeconds",
    "$MemoryBytes",
    "$DiskBytes",
    "$DiskReadBytes",
    "$DiskWriteBytes",
    "$DiskReadOps",
    "$DiskWriteOps",
    "$NetworkInBytes",
    "$NetworkOutBytes",
)
_ALIASES = {"$CurrentDedicated": "$CurrentDedicatedNodes"}
_NAME = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def metrics_read_by(formula_text: str) -> frozenset[str]:
    """The sampled metrics a formula mentions (by name; comments included, which only costs a little)."""
    names = {_ALIASES.get(n, n) for n in _NAME.findall(formula_text)}
    return frozenset(n for n in names if n in SAMPLED_METRICS or n in RETIRED_METRICS)


@dataclass(frozen=True, slots=True)
class Settings:
    """The scenario merged with the pool file: every value the run uses."""

    duration_s: float
    evaluation_interval_s: float
    task_slots_per_node: int
    task_scheduling: str
    seed: int
    start: datetime

    @staticmethod
    def resolve(
        scenario: Scenario,
        *,
        pool_interval_s: float | None = None,
        pool_task_slots: int | None = None,
        pool_scheduling: str | None = None,
    ) -> Settings:
        """Scenario values win; then the pool file's; then the service defaults (15 min, 1 slot, spread)."""
        interval = scenario.evaluation_interval_s or pool_interval_s or 900.0
        slots = scenario.pool.task_slots_per_node or pool_task_slots or 1
        sched = (scenario.pool.task_scheduling or pool_scheduling or "spread").lower()
        return Settings(scenario.duration_s, interval, slots, sched, scenario.seed, scenario.start)


@dataclass
class Timeline:
    """One row per metric sample (every ``period``), plus a row at t = 0. True values (never missing)."""

    t_s: list[float] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    succeeded: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    target_dedicated: list[int] = field(default_factory=list)
    target_low_priority: list[int] = field(default_factory=list)
    dedicated: list[int] = field(default_factory=list)
    low_priority: list[int] = field(default_factory=list)
    preempted: list[int] = field(default_factory=list)
    usable: list[int] = field(default_factory=list)
    busy_slots: list[int] = field(default_factory=list)
    cpu_percent: list[float | None] = field(default_factory=list)

    COLUMNS = (
        "t_s",
        "active",
        "running",
        "succeeded",
        "failed",
        "target_dedicated",
        "target_low_priority",
        "dedicated",
        "low_priority",
        "preempted",
        "usable",
        "busy_slots",
        "cpu_percent",
    )

    def rows(self) -> list[dict[str, Any]]:
        cols = [getattr(self, c) for c in self.COLUMNS]
        return [dict(zip(self.COLUMNS, values, strict=False)) for values in zip(*cols, strict=False)]

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    t_s: float
    time: datetime
    result: EvalResult

    @property
    def error(self) -> EvalError | None:
        return self.result.error


@dataclass
class SimResult:
    name: str
    settings: Settings
    summary: dict[str, Any]
    timeline: Timeline
    evaluations: list[EvaluationRecord]


_METRIC_GETTERS: dict[str, Callable[[Any, float | None], float | None]] = {
    "$ActiveTasks": lambda s, cpu: s.n_active,
    "$RunningTasks": lambda s, cpu: s.n_running,
    "$PendingTasks": lambda s, cpu: s.n_active + s.n_running,
    "$SucceededTasks": lambda s, cpu: s.n_succeeded,
    "$FailedTasks": lambda s, cpu: s.n_failed,
    "$CPUPercent": lambda s, cpu: cpu,
    "$PreemptedNodeCount": lambda s, cpu: s.preempted,
    "$SampleNodeCount": lambda s, cpu: s.current[0] + s.current[1] - s.preempted,
    "$CurrentDedicatedNodes": lambda s, cpu: s.current[0],
    "$CurrentLowPriorityNodes": lambda s, cpu: s.current[1],
    "$UsableNodeCount": lambda s, cpu: s.usable,
}
assert set(_METRIC_GETTERS) == set(SAMPLED_METRICS)

# node states
ALLOCATING, STARTING, USABLE, LEAVING, PREEMPTED, REMOVED = range(6)
STATE_NAMES = ("allocating", "starting", "usable", "leaving", "preempted", "removed")
# task states
T_FUTURE, T_ACTIVE, T_RUNNING, T_SUCCEEDED, T_FAILED = range(5)
# event kinds; the number is also the tie-break order at equal times
EV_TASK_END, EV_NODE_IN_POOL, EV_NODE_READY, EV_PREEMPT, EV_RECOVER, EV_RETIRE = range(6)


class _Node:
    __slots__ = ("busy", "gen", "id", "last_task_end", "leave_mode", "life", "lp", "running", "state")

    def __init__(self, node_id: int, lp: int) -> None:
        self.id = node_id
        self.lp = lp  # 0 dedicated, 1 low priority
        self.state = ALLOCATING
        self.busy = 0
        self.running: dict[int, None] = {}
        self.gen = 0  # bumps on every state change: invalidates pending node events
        self.life = 0  # bumps when the VM goes away (preempted, removed): invalidates a pending preemption
        self.last_task_end = -1.0
        self.leave_mode = ""


ProgressFn = Callable[[float], None]


class Simulation:
    """One run. ``run()`` returns a SimResult; the object is not reusable."""

    def __init__(
        self,
        scenario: Scenario,
        settings: Settings,
        controller: Controller,
        *,
        workload: Workload | None = None,
        name: str = "",
        metrics: frozenset[str] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.sc = scenario
        self.settings = settings
        self.controller = controller
        self.autoscale = bool(
            getattr(controller, "autoscale", True)
        )  # False: a fixed-size pool, nothing to record
        self.name = name or scenario.name
        self.progress = progress
        seed = settings.seed
        self.workload = workload if workload is not None else generate(scenario, seed)
        tsn = settings.task_slots_per_node
        too_big = [s for s in set(self.workload.slots) if s > tsn]
        if too_big:
            raise ValueError(f"tasks need {max(too_big)} slots but a node has {tsn}")
        self.rng_nodes = random.Random(f"batchspec-nodes:{seed}")
        self.rng_preempt = random.Random(f"batchspec-preempt:{seed}")
        self.rng_samples = random.Random(f"batchspec-samples:{seed}")
        self.pool = scenario.pool
        self.tsn = tsn
        self.pack = settings.task_scheduling == "pack"
        self.metrics = (
            SAMPLED_METRICS if metrics is None else tuple(m for m in SAMPLED_METRICS if m in metrics)
        )
        self.retired = () if metrics is None else tuple(m for m in RETIRED_METRICS if m in metrics)

        n = len(self.workload)
        self.t_state = [T_FUTURE] * n
        self.t_gen = [0] * n
        self.t_first_start = [-1.0] * n
        self.t_end = [-1.0] * n
        self._task_node: list[_Node | None] = [None] * n
        self.queues: dict[int, deque[int]] = {}
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.nodes: list[_Node] = []
        self.members: tuple[dict[int, _Node], dict[int, _Node]] = ({}, {})  # not leaving, not removed
        self.leaving: tuple[dict[int, _Node], dict[int, _Node]] = ({}, {})
        self.free: list[dict[int, _Node]] = [{} for _ in range(tsn + 1)]  # usable nodes by free slots

        # counters
        self.n_active = self.n_running = self.n_succeeded = self.n_failed = 0
        self.alloc = [0, 0]
        self.current = [0, 0]  # in the pool: starting, usable, leaving (+ preempted for low priority)
        self.billed = [0, 0]
        self.billed_idle = 0
        self.preempted = 0
        self.usable = 0
        self.busy_slots = 0
        self.cpu_slots = 0  # slots of usable and leaving nodes
        self.peak = [0, 0]
        self.requeues = self.preemptions = self.terminated = 0
        # integrals (node-seconds, slot-seconds)
        self.now = 0.0
        self.acc_billed = [0.0, 0.0]
        self.acc_idle = 0.0
        self.acc_busy = 0.0
        self.acc_cpu_slots = 0.0
        self.last_sample_busy = 0.0
        self.last_sample_slots = 0.0

        self.target = [0, 0]
        self.option = "requeue"
        self.recorded: dict[str, list[float | None]] = {m: [] for m in self.metrics}
        self._getters = [(m, _METRIC_GETTERS[m]) for m in self.metrics]
        self.available: dict[str, list[float | None]] = {m: [] for m in self.metrics}
        self._rows: list[tuple[Any, ...]] = []
        self.evaluations: list[EvaluationRecord] = []
        self.quota = (self.pool.max_dedicated, self.pool.max_low_priority)

    # ------------------------------------------------------------------------------------------- events
    def _push(self, t: float, kind: int, a: int, b: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, kind, self.seq, a, b))

    def _advance(self, t: float) -> None:
        dt = t - self.now
        if dt > 0:
            self.acc_billed[0] += self.billed[0] * dt
            self.acc_billed[1] += self.billed[1] * dt
            self.acc_idle += self.billed_idle * dt
            self.acc_busy += self.busy_slots * dt
            self.acc_cpu_slots += self.cpu_slots * dt
            self.now = t

    # ------------------------------------------------------------------------------------------- nodes
    def _count(self, node: _Node, sign: int) -> None:
        s = node.state
        p = node.lp
        if s == ALLOCATING:
            self.alloc[p] += sign
        elif s == PREEMPTED:
            self.current[p] += sign
            self.preempted += sign
        elif s != REMOVED:
            self.current[p] += sign
            self.billed[p] += sign
            if node.busy == 0:
                self.billed_idle += sign
            if s != STARTING:
                self.cpu_slots += sign * self.tsn
            if s == USABLE:
                self.usable += sign
                bucket = self.free[self.tsn - node.busy]
                if sign > 0:
                    bucket[node.id] = node
                else:
                    del bucket[node.id]

    def _set_state(self, node: _Node, state: int) -> None:
        self._count(node, -1)
        node.state = state
        node.gen += 1
        self._count(node, +1)
        p = node.lp
        if self.current[p] > self.peak[p]:
            self.peak[p] = self.current[p]

    def _new_node(self, lp: int, now: float, *, ready: bool = False) -> _Node:
        node = _Node(len(self.nodes), lp)
        self.nodes.append(node)
        self.members[lp][node.id] = node
        self._count(node, +1)
        if ready:  # a node that exists when the simulation starts
            self._enter_pool(node, now, skip_start_task=True)
        else:
            dist = self.pool.allocation_delay_low_priority if lp else self.pool.allocation_delay_dedicated
            self._push(now + dist.sample(self.rng_nodes), EV_NODE_IN_POOL, node.id, node.gen)
        return node

    def _enter_pool(self, node: _Node, now: float, *, skip_start_task: bool = False) -> None:
        if skip_start_task:
            self._set_state(node, USABLE)
        else:
            self._set_state(node, STARTING)
            self._push(now + self.pool.start_task.sample(self.rng_nodes), EV_NODE_READY, node.id, node.gen)
        if node.lp and self.pool.preemption_rate_per_s > 0:
            node.life += 1
            self._push(
                now + self.rng_preempt.expovariate(self.pool.preemption_rate_per_s),
                EV_PREEMPT,
                node.id,
                node.life,
            )

    def _remove(self, node: _Node) -> None:
        self.members[node.lp].pop(node.id, None)
        self.leaving[node.lp].pop(node.id, None)
        self._set_state(node, REMOVED)

    def _release_tasks(self, node: _Node, now: float, *, fail: bool) -> None:
        """Stop every task on ``node``: back to the front of the queue (requeue, preemption) or failed."""
        for tid in reversed(list(node.running)):
            self._stop_task(node, tid, now, fail=fail)

    def _stop_task(self, node: _Node, tid: int, now: float, *, fail: bool) -> None:
        slots = self.workload.slots[tid]
        self._take_slots(node, tid, -slots)
        self.n_running -= 1
        self.t_gen[tid] += 1
        if fail:
            self.t_state[tid] = T_FAILED
            self.t_end[tid] = now
            self.n_failed += 1
            self.terminated += 1
        else:
            self.t_state[tid] = T_ACTIVE
            self.n_active += 1
            self.requeues += 1
            q = self.queues.get(slots)
            if q is None:
                q = self.queues[slots] = deque()
            q.appendleft(tid)

    def _take_slots(self, node: _Node, tid: int, delta: int) -> None:
        """Move ``delta`` slots (negative = release) on a node, keeping every counter in step."""
        usable = node.state == USABLE
        if usable:
            del self.free[self.tsn - node.busy][node.id]
        if node.busy == 0:
            self.billed_idle -= 1
        node.busy += delta
        self.busy_slots += delta
        if node.busy == 0:
            self.billed_idle += 1
        if delta > 0:
            node.running[tid] = None
        else:
            del node.running[tid]
        if usable:
            self.free[self.tsn - node.busy][node.id] = node

    # ------------------------------------------------------------------------------------------- scheduling
    def _dispatch(self, now: float) -> None:
        if not self.n_active or not self.usable or len(self.free[0]) == self.usable:
            return  # nothing queued, or every usable node is full
        free = self.free
        tsn = self.tsn
        queues = self.queues
        wl_dur = self.workload.duration_s
        while self.n_active:
            max_free = tsn
            while max_free > 0 and not free[max_free]:
                max_free -= 1
            if max_free == 0:
                return
            best_tid = -1
            best_slots = 0
            for slots, q in queues.items():
                if q and slots <= max_free and (best_tid < 0 or q[0] < best_tid):
                    best_tid, best_slots = q[0], slots
            if best_tid < 0:
                return
            queues[best_slots].popleft()
            if self.pack:
                k = best_slots
                while not free[k]:
                    k += 1
            else:
                k = max_free
            node = next(iter(free[k].values()))
            self._task_node[best_tid] = node
            self._take_slots(node, best_tid, best_slots)
            self.n_active -= 1
            self.n_running += 1
            self.t_state[best_tid] = T_RUNNING
            if self.t_first_start[best_tid] < 0:
                self.t_first_start[best_tid] = now
            self._push(now + wl_dur[best_tid], EV_TASK_END, best_tid, self.t_gen[best_tid])

    # ------------------------------------------------------------------------------------------- resize
    def _resize(self, now: float) -> None:
        for p in (0, 1):
            members = self.members[p]
            want = self.target[p]
            have = len(members)
            if have < want:
                room = self.quota[p] - have - len(self.leaving[p])
                for _ in range(max(0, min(want - have, room))):
                    self._new_node(p, now)
            elif have > want:
                self._shrink(p, have - want, now)

    def _shrink(self, p: int, count: int, now: float) -> None:
        order = {ALLOCATING: 0, PREEMPTED: 1, STARTING: 2, USABLE: 3}
        victims = sorted(self.members[p].values(), key=lambda n: (order[n.state], n.busy, -n.id))[:count]
        mode = self.option
        for node in victims:
            if node.state in (ALLOCATING, PREEMPTED, STARTING) or node.busy == 0:
                if (
                    node.state == USABLE
                    and mode == "retaineddata"
                    and node.last_task_end >= 0
                    and node.last_task_end + self.pool.task_retention_s > now
                ):
                    self._start_leaving(node, mode, now)
                else:
                    self._remove(node)
            elif mode in ("requeue", "terminate"):
                self._release_tasks(node, now, fail=mode == "terminate")
                self._remove(node)
            else:
                self._start_leaving(node, mode, now)

    def _start_leaving(self, node: _Node, mode: str, now: float) -> None:
        del self.members[node.lp][node.id]
        self.leaving[node.lp][node.id] = node
        node.leave_mode = mode
        self._set_state(node, LEAVING)
        if node.busy == 0:
            self._leave_when_clean(node, now)

    def _leave_when_clean(self, node: _Node, now: float) -> None:
        if node.leave_mode == "retaineddata" and node.last_task_end >= 0:
            until = node.last_task_end + self.pool.task_retention_s
            if until > now:
                self._push(until, EV_RETIRE, node.id, node.gen)
                return
        self._remove(node)

    # ------------------------------------------------------------------------------------------- sampling
    def _sample(self, t: float) -> None:
        d_slots = self.acc_cpu_slots - self.last_sample_slots
        cpu = 100.0 * (self.acc_busy - self.last_sample_busy) / d_slots if d_slots > 0 else None
        self.last_sample_slots = self.acc_cpu_slots
        self.last_sample_busy = self.acc_busy
        self._record_timeline(t, cpu)
        if not self.metrics:
            return
        lost = self.sc.metrics.missing_rate > 0 and self.rng_samples.random() < self.sc.metrics.missing_rate
        rec = self.recorded
        if lost:
            for m in self.metrics:
                rec[m].append(None)
            return
        for m, getter in self._getters:
            rec[m].append(getter(self, cpu))

    def _record_timeline(self, t: float, cpu: float | None) -> None:
        # one tuple per row (columns are built once at the end): 20,000 rows a week cost one append each
        self._rows.append(
            (
                t,
                self.n_active,
                self.n_running,
                self.n_succeeded,
                self.n_failed,
                self.target[0],
                self.target[1],
                self.current[0],
                self.current[1],
                self.preempted,
                self.usable,
                self.busy_slots,
                None if cpu is None else round(cpu, 3),
            )
        )

    def _timeline(self) -> Timeline:
        tl = Timeline()
        if self._rows:
            for name, column in zip(Timeline.COLUMNS, zip(*self._rows, strict=False), strict=False):
                setattr(tl, name, list(column))
        return tl

    # ------------------------------------------------------------------------------------------- evaluation
    def _state(self, t: float) -> EvalState:
        ms = self.sc.metrics
        when = self.settings.start + timedelta(seconds=t)
        n_avail = math.floor((t - ms.latency_s) / ms.period_s + 1e-9) if t >= ms.latency_s else 0
        series: dict[str, MetricSeries] = {}
        period = timedelta(seconds=ms.period_s)
        for m in self.metrics:
            avail = self.available[m]
            rec = self.recorded[m]
            n = min(n_avail, len(rec))
            if len(avail) < n:
                avail.extend(rec[len(avail) : n])
            end = self.settings.start + timedelta(seconds=n * ms.period_s) if n else when
            series[m] = MetricSeries(avail, end, period)
        for m in self.retired:
            series[m] = MetricSeries([], when, period)
        pool = PoolState(
            target_dedicated_nodes=self.target[0],
            target_low_priority_nodes=self.target[1],
            current_dedicated_nodes=self.current[0],
            current_low_priority_nodes=self.current[1],
            preempted_node_count=self.preempted,
            usable_node_count=self.usable,
            task_slots_per_node=self.tsn,
            node_deallocation_option=self.option,
        )
        return EvalState(
            time=when,
            pool=pool,
            metrics=series,
            default_sample_percent=ms.implicit_sample_percent,
            seed=(self.settings.seed * 1_000_003 + len(self.evaluations)) % (2**63),
        )

    def _evaluate(self, t: float) -> None:
        state = self._state(t)
        result = self.controller.evaluate(state)
        if self.autoscale:
            self.evaluations.append(EvaluationRecord(t, state.time, result))
        if result.error is not None:
            return  # as on the service: no change to the pool
        self.target = [
            max(0, int(result.target_dedicated_nodes)),
            max(0, int(result.target_low_priority_nodes)),
        ]
        option = result.node_deallocation_option.lower()
        self.option = option if option in DEALLOCATION_OPTIONS else "requeue"
        self._resize(t)

    # ------------------------------------------------------------------------------------------- main loop
    def run(self) -> SimResult:
        end = self.settings.duration_s
        period = self.sc.metrics.period_s
        interval = self.settings.evaluation_interval_s
        submit = self.workload.submit_s
        slots = self.workload.slots
        n_tasks = len(submit)
        heap = self.heap
        nodes = self.nodes
        inf = math.inf
        next_task = 0
        sample_k = 1
        next_sample = period
        eval_k = 0
        next_eval = 0.0
        report_every = max(end / 50, period)
        next_report = report_every

        # nodes of an existing pool (scenario "initial_nodes"): usable at once, targets match
        for p, count in ((0, self.pool.initial_dedicated), (1, self.pool.initial_low_priority)):
            for _ in range(count):
                self._new_node(p, 0.0, ready=True)
        self.target = [self.pool.initial_dedicated, self.pool.initial_low_priority]
        self._record_timeline(0.0, None)

        while True:
            t_heap = heap[0][0] if heap else inf
            t_sub = submit[next_task] if next_task < n_tasks else inf
            t = min(t_heap, t_sub, next_sample, next_eval)
            if t > end:
                break
            if t != self.now:
                # integrate node-seconds and slot-seconds up to t (inlined _advance: the hottest path)
                dt = t - self.now
                billed = self.billed
                acc = self.acc_billed
                acc[0] += billed[0] * dt
                acc[1] += billed[1] * dt
                self.acc_idle += self.billed_idle * dt
                self.acc_busy += self.busy_slots * dt
                self.acc_cpu_slots += self.cpu_slots * dt
                self.now = t
                if self.progress is not None and t >= next_report:
                    self.progress(t / end)
                    next_report = t + report_every
            if t_heap == t:
                _, kind, _, a, b = heapq.heappop(heap)
                if kind == EV_TASK_END:
                    if self.t_gen[a] != b:
                        continue
                    node = self._node_of_task(a)
                    self._take_slots(node, a, -slots[a])
                    self.n_running -= 1
                    self.t_end[a] = t
                    if self.workload.fails[a]:
                        self.t_state[a] = T_FAILED
                        self.n_failed += 1
                    else:
                        self.t_state[a] = T_SUCCEEDED
                        self.n_succeeded += 1
                    node.last_task_end = t
                    if node.state == LEAVING and node.busy == 0:
                        self._leave_when_clean(node, t)
                    self._dispatch(t)
                    continue
                node = nodes[a]
                if (node.life if kind == EV_PREEMPT else node.gen) != b or node.state == REMOVED:
                    continue
                if kind == EV_NODE_IN_POOL:
                    self._enter_pool(node, t)
                elif kind == EV_NODE_READY:
                    self._set_state(node, USABLE)
                    self._dispatch(t)
                elif kind == EV_PREEMPT:
                    if node.state not in (STARTING, USABLE, LEAVING):
                        continue
                    node.life += 1
                    self.preemptions += 1
                    self._release_tasks(node, t, fail=False)
                    if node.state == LEAVING:
                        self._remove(node)
                    else:
                        self._set_state(node, PREEMPTED)
                        self._push(
                            t + self.pool.preemption_recovery.sample(self.rng_preempt),
                            EV_RECOVER,
                            node.id,
                            node.gen,
                        )
                    self._dispatch(t)
                elif kind == EV_RECOVER:
                    self._enter_pool(node, t)
                elif kind == EV_RETIRE:
                    self._remove(node)
                continue
            if t_sub == t:
                while next_task < n_tasks and submit[next_task] == t:
                    tid = next_task
                    next_task += 1
                    self.t_state[tid] = T_ACTIVE
                    self.n_active += 1
                    q = self.queues.get(slots[tid])
                    if q is None:
                        q = self.queues[slots[tid]] = deque()
                    q.append(tid)
                self._dispatch(t)
                continue
            if next_sample == t:
                self._sample(t)
                sample_k += 1
                next_sample = sample_k * period
                continue
            self._evaluate(t)
            self._dispatch(t)
            eval_k += 1
            next_eval = eval_k * interval if self.autoscale else inf
        self._advance(end)
        if self.progress is not None:
            self.progress(1.0)
        return SimResult(
            self.name, self.settings, self._summary(next_task), self._timeline(), self.evaluations
        )

    def _node_of_task(self, tid: int) -> _Node:
        node = self._task_node[tid]
        assert node is not None, f"task {tid} ended without a node"
        return node

    # ------------------------------------------------------------------------------------------- summary
    def _summary(self, submitted: int) -> dict[str, Any]:
        end = self.settings.duration_s
        wl = self.workload
        waits = []
        last_end = -1.0
        first_submit = wl.submit_s[0] if submitted else 0.0
        unstarted = 0
        for tid in range(submitted):
            fs = self.t_first_start[tid]
            if fs >= 0:
                waits.append(fs - wl.submit_s[tid])
            else:
                unstarted += 1
                waits.append(end - wl.submit_s[tid])  # a lower bound: the task is still waiting
            e = self.t_end[tid]
            if e > last_end:
                last_end = e
        waits.sort()
        unfinished = self.n_active + self.n_running
        errors = [e for e in self.evaluations if e.result.error is not None]
        first_error = None
        if errors:
            err = errors[0].result.error
            assert err is not None
            detail = next((v.value for v in err.values if v.name == "Message"), "")
            first_error = {
                "t_s": errors[0].t_s,
                "time": _iso(errors[0].time),
                "code": err.code,
                "message": err.message,
                "detail": detail,
            }
        ded_h = self.acc_billed[0] / 3600.0
        lp_h = self.acc_billed[1] / 3600.0
        slot_seconds = self.acc_cpu_slots
        return {
            "tasks_submitted": submitted,
            "tasks_completed": self.n_succeeded,
            "tasks_failed": self.n_failed,
            "tasks_unfinished": unfinished,
            "tasks_never_started": unstarted,
            "makespan_s": _r(last_end - first_submit) if submitted and unfinished == 0 else None,
            "wait_p50_s": _r(percentile(waits, 50)) if waits else 0.0,
            "wait_p95_s": _r(percentile(waits, 95)) if waits else 0.0,
            "wait_max_s": _r(waits[-1]) if waits else 0.0,
            "wait_mean_s": _r(sum(waits) / len(waits)) if waits else 0.0,
            "peak_dedicated_nodes": self.peak[0],
            "peak_low_priority_nodes": self.peak[1],
            "dedicated_node_hours": _r(ded_h, 4),
            "low_priority_node_hours": _r(lp_h, 4),
            "idle_node_hours": _r(self.acc_idle / 3600.0, 4),
            "slot_utilization": _r(self.acc_busy / slot_seconds, 4) if slot_seconds > 0 else None,
            "evaluations": len(self.evaluations),
            "evaluation_errors": len(errors),
            "first_error": first_error,
            "preemptions": self.preemptions,
            "tasks_requeued": self.requeues,
            "tasks_terminated": self.terminated,
            "cost": _r(ded_h * self.pool.price_dedicated + lp_h * self.pool.price_low_priority, 4),
        }


def _r(x: float, digits: int = 1) -> float:
    return round(x, digits)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank on a sorted list (p on 0-100), the definition the formula language uses too."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def simulate(
    scenario: Scenario,
    controller: Controller,
    *,
    settings: Settings | None = None,
    workload: Workload | None = None,
    name: str = "",
    metrics: frozenset[str] | None = None,
    progress: ProgressFn | None = None,
) -> SimResult:
    """Run one simulation. ``metrics`` limits the sampled metrics to those the formula reads (faster)."""
    settings = settings or Settings.resolve(scenario)
    return Simulation(
        scenario, settings, controller, workload=workload, name=name, metrics=metrics, progress=progress
    ).run()


@dataclass(frozen=True)
class FixedController:
    """Always the same targets: a test double for a formula, evaluated like one."""

    dedicated: int
    low_priority: int = 0
    option: str = "requeue"

    def evaluate(self, state: EvalState) -> EvalResult:
        results = (
            f"$TargetDedicatedNodes={self.dedicated};$TargetLowPriorityNodes={self.low_priority};"
            f"$NodeDeallocationOption={self.option}"
        )
        return EvalResult(results, self.dedicated, self.low_priority, self.option)


@dataclass(frozen=True)
class FixedPool(FixedController):
    """A fixed-scale pool (no autoscale): sized once at creation; no evaluations are run or reported."""

    autoscale: bool = False
