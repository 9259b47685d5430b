"""Generate guarded, capped, commented autoscale formulas for common scenarios (pure: text in, text out).

Like Batch Shipyard's autoscale scenarios and Nextflow's default formula, but every generated formula follows the
rules batchspec lints for: windowed ``GetSample`` calls only behind a ``GetSamplePercent`` guard (a new pool has no
samples), targets capped with ``min`` and floored with ``max``, node counts rounded up with ``ceil`` (the service
truncates fractions), and an explicit ``$NodeDeallocationOption``.

Scenarios:

* ``pending-tasks``: nodes for the queued + running tasks (``$PendingTasks``), ``slots`` tasks per node.
* ``active-tasks``: nodes for the queued tasks only (``$ActiveTasks``); with ``taskcompletion`` busy nodes stay
  until their tasks finish.
* ``schedule``: ``peak`` nodes on the chosen days and hours (with a UTC offset), ``off-peak`` nodes otherwise.
* ``drain-to-zero``: nodes while there is work; zero once the queue has been empty for the whole look-back.
* ``dedicated-spot``: up to ``max-dedicated`` dedicated nodes as a base, the rest of the demand on Spot nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCENARIOS = ("pending-tasks", "active-tasks", "schedule", "drain-to-zero", "dedicated-spot")
DEALLOCATION = ("taskcompletion", "requeue", "terminate", "retaineddata")
NODE_TYPES = ("dedicated", "spot")
_TARGET = {"dedicated": "$TargetDedicatedNodes", "spot": "$TargetLowPriorityNodes"}
_OTHER = {"dedicated": "$TargetLowPriorityNodes", "spot": "$TargetDedicatedNodes"}
NEWEST_MISSING_SECONDS = 30  # one sample period; matches lookback-too-short's always-missing default
_DAY_NAMES = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class GenerateError(ValueError):
    """Parameters that do not make a sensible formula; the message names the parameter."""


@dataclass(frozen=True)
class Params:
    max_nodes: int = 10
    min_nodes: int = 0
    node_type: str = "dedicated"  # which target the task scenarios scale
    slots_per_node: int | None = None  # None: read the pool's $TaskSlotsPerNode
    lookback_minutes: float = 10.0
    sample_percent: float = 70.0
    deallocation: str = "taskcompletion"
    # schedule
    peak_nodes: int = 10
    offpeak_nodes: int = 0
    days: str = "1-5"  # ISO weekdays, 1 = Monday … 7 = Sunday: "1-5", "6,7"
    hours: str = "8-18"  # [start, end) in 24-hour clock; "20-6" wraps past midnight
    utc_offset: float = 0.0  # hours added to UTC for the local clock (e.g. -6 for MDT)
    # dedicated-spot
    min_dedicated: int = 0
    max_dedicated: int = 2
    max_spot: int = 20


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def parse_days(text: str) -> list[int]:
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"([1-7])(?:-([1-7]))?", part)
        if not m:
            raise GenerateError(
                f'days "{text}": use ISO weekdays 1 (Monday) to 7 (Sunday), e.g. "1-5" or "6,7"'
            )
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo:
            raise GenerateError(f'days "{text}": a range goes from low to high, e.g. "1-5"')
        days.update(range(lo, hi + 1))
    if not days:
        raise GenerateError("days: choose at least one day")
    return sorted(days)


def parse_hours(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", text)
    if not m:
        raise GenerateError(f'hours "{text}": use START-END in 24-hour clock, e.g. "8-18" (8:00 to 18:00)')
    start, end = int(m.group(1)), int(m.group(2))
    if start > 23 or end > 24 or start == end:
        raise GenerateError(f'hours "{text}": START is 0-23, END is 1-24 and they differ')
    return start, end


def _validate(scenario: str, p: Params) -> None:
    if scenario not in SCENARIOS:
        raise GenerateError(f'unknown scenario "{scenario}"; expected one of {", ".join(SCENARIOS)}')
    if p.node_type not in NODE_TYPES:
        raise GenerateError(f'node type "{p.node_type}"; expected dedicated or spot')
    if p.deallocation not in DEALLOCATION:
        raise GenerateError(f'deallocation "{p.deallocation}"; expected one of {", ".join(DEALLOCATION)}')
    checks = [
        ("max-nodes", p.max_nodes, 1),
        ("min-nodes", p.min_nodes, 0),
        ("peak-nodes", p.peak_nodes, 0),
        ("off-peak-nodes", p.offpeak_nodes, 0),
        ("min-dedicated", p.min_dedicated, 0),
        ("max-dedicated", p.max_dedicated, 0),
        ("max-spot", p.max_spot, 0),
    ]
    for name, value, low in checks:
        if not isinstance(value, int) or value < low or value > 100_000:
            raise GenerateError(f"{name} must be a whole number from {low} to 100000, not {value}")
    if p.min_nodes > p.max_nodes:
        raise GenerateError(f"min-nodes ({p.min_nodes}) is larger than max-nodes ({p.max_nodes})")
    if p.min_dedicated > p.max_dedicated:
        raise GenerateError(
            f"min-dedicated ({p.min_dedicated}) is larger than max-dedicated ({p.max_dedicated})"
        )
    if scenario == "dedicated-spot" and p.max_dedicated + p.max_spot == 0:
        raise GenerateError("max-dedicated and max-spot are both 0: the pool could never run anything")
    if p.slots_per_node is not None and not (1 <= p.slots_per_node <= 256):
        raise GenerateError(f"slots-per-node must be 1 to 256, not {p.slots_per_node}")
    if not (2 <= p.lookback_minutes <= 24 * 60):
        raise GenerateError(
            f"lookback-minutes must be 2 to 1440, not {_num(p.lookback_minutes)}: samples take about a minute "
            "to arrive, so shorter windows are usually empty"
        )
    if not (1 <= p.sample_percent <= 100):
        raise GenerateError(f"sample-percent must be 1 to 100, not {_num(p.sample_percent)}")
    # the newest ~30 s of samples are never available yet, so a window ending now is never complete
    reachable = (p.lookback_minutes * 60 - NEWEST_MISSING_SECONDS) / (p.lookback_minutes * 60) * 100
    if p.sample_percent > reachable:
        raise GenerateError(
            f"sample-percent {_num(p.sample_percent)} can never be met with a {_num(p.lookback_minutes)}-minute "
            f"look-back: the newest {NEWEST_MISSING_SECONDS} seconds of samples are never available yet, so at most "
            f"{reachable:.1f}% exist; lower it or look back further"
        )
    if not (-14 <= p.utc_offset <= 14):
        raise GenerateError(f"utc-offset must be -14 to 14 hours, not {_num(p.utc_offset)}")


def _header(scenario: str, summary: list[str]) -> list[str]:
    lines = [
        f"// Generated by batchspec (scenario {scenario}). Edit the settings below; batchspec validate checks it."
    ]
    lines += [f"// {s}" for s in summary]
    return lines


def _guarded_tasks(metric: str, var: str, p: Params) -> list[str]:
    pct = _num(p.sample_percent)
    return [
        "// A new pool has no samples, and a windowed GetSample fails the whole evaluation while fewer than",
        f"// {pct}% of them exist: use the latest sample until then, afterwards the larger of the latest sample and",
        "// the average over the look-back window.",
        f"$samplePercent = {metric}.GetSamplePercent(lookback);",
        f"{var} = $samplePercent < {pct} ? max(0, {metric}.GetSample(1)) : "
        f"max({metric}.GetSample(1), avg({metric}.GetSample(lookback, {pct})));",
    ]


def _slots(p: Params) -> tuple[list[str], str]:
    if p.slots_per_node is None:
        return [], "$TaskSlotsPerNode"
    return [f"slotsPerNode = {p.slots_per_node};   // tasks that run at once on one node"], "slotsPerNode"


def _settings(p: Params, *, nodes: bool = True) -> list[str]:
    out = []
    if nodes:
        out.append(f"minNodes = {p.min_nodes};")
        out.append(f"maxNodes = {p.max_nodes};   // the cap: never more nodes than this")
    out.append(f"lookback = TimeInterval_Minute * {_num(p.lookback_minutes)};")
    return out


def _tasks_formula(scenario: str, p: Params) -> list[str]:
    metric = "$PendingTasks" if scenario == "pending-tasks" else "$ActiveTasks"
    what = "queued and running tasks" if scenario == "pending-tasks" else "queued tasks"
    target, other = _TARGET[p.node_type], _OTHER[p.node_type]
    slot_lines, slots = _slots(p)
    lines = _header(
        scenario,
        [
            f"Scales {p.node_type} nodes on the {what} ({metric}), between {p.min_nodes} and {p.max_nodes} nodes.",
        ],
    )
    lines += _settings(p) + slot_lines
    lines += _guarded_tasks(metric, "$tasks", p)
    lines += [
        "// Round up: the service truncates fractional targets (2.5 nodes would become 2).",
        f"$nodes = ceil($tasks / {slots});",
        f"{target} = max(minNodes, min(maxNodes, $nodes));",
        f"{other} = 0;",
    ]
    if scenario == "active-tasks":
        lines.append(
            "// taskcompletion keeps a node until its running tasks finish, although they no longer count."
        )
    lines.append(f"$NodeDeallocationOption = {p.deallocation};")
    return lines


def _schedule_formula(p: Params) -> list[str]:
    days = parse_days(p.days)
    start, end = parse_hours(p.hours)
    target, other = _TARGET[p.node_type], _OTHER[p.node_type]
    if p.utc_offset:
        sign = "-" if p.utc_offset < 0 else ""
        clock = f"$now = time() + ({sign}{_num(abs(p.utc_offset))} * TimeInterval_Hour);"
        zone = f"UTC{'+' if p.utc_offset > 0 else '-'}{_num(abs(p.utc_offset))}"
    else:
        clock = "$now = time();"
        zone = "UTC"
    day_names = ", ".join(
        _DAY_NAMES[lo] if lo == hi else f"{_DAY_NAMES[lo]} to {_DAY_NAMES[hi]}" for lo, hi in _runs(days)
    )
    lines = _header(
        "schedule",
        [
            f"{p.peak_nodes} {p.node_type} nodes on {day_names} from {start}:00 to {end}:00 ({zone}), "
            f"{p.offpeak_nodes} otherwise.",
        ],
    )
    lines += [f"peakNodes = {p.peak_nodes};", f"offPeakNodes = {p.offpeak_nodes};", clock]
    conditions = []
    if len(days) < 7:
        runs = _runs(days)
        parts = []
        # The docs say 1 = Monday but never show Sunday; .NET (the service) numbers Sunday 0. Written so that
        # Sunday counts the same as 0 or 7: a lower bound of 1 keeps a 0 out, a set with 7 lets a 0 in.
        for lo, hi in runs:
            if lo == hi:
                parts.append(f"$now.weekday == {lo}")
            else:
                low = [f"$now.weekday >= {lo}"]
                high = [] if hi == 7 else [f"$now.weekday <= {hi}"]
                parts.append(" && ".join(low + high))
        if 7 in days:
            parts.append("$now.weekday == 0")
        lines.append("// weekday: 1 = Monday … 6 = Saturday; Sunday is 7 (ISO) or 0 (.NET), both are handled")
        lines.append(
            "$isPeakDay = "
            + " || ".join(f"({x})" if len(parts) > 1 and "&&" in x else x for x in parts)
            + ";"
        )
        conditions.append("$isPeakDay")
    if not (start == 0 and end == 24):
        if start < end:
            low = [] if start == 0 else [f"$now.hour >= {start}"]
            high = [] if end == 24 else [f"$now.hour < {end}"]
            expr = " && ".join(low + high)
        else:  # wraps past midnight
            expr = f"$now.hour >= {start} || $now.hour < {end}"
        lines.append(f"$isPeakHour = {expr};")
        conditions.append("$isPeakHour")
    if conditions:
        lines.append(f"{target} = {' && '.join(conditions)} ? peakNodes : offPeakNodes;")
    else:
        lines.append(f"{target} = peakNodes;   // every day, all day")
    lines += [f"{other} = 0;", f"$NodeDeallocationOption = {p.deallocation};"]
    return lines


def _runs(days: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for d in days:
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _drain_formula(p: Params) -> list[str]:
    target, other = _TARGET[p.node_type], _OTHER[p.node_type]
    slot_lines, slots = _slots(p)
    pct = _num(p.sample_percent)
    lines = _header(
        "drain-to-zero",
        [
            f"Up to {p.max_nodes} {p.node_type} nodes while tasks are queued or running; zero once no task has been",
            f"pending for the whole look-back window ({_num(p.lookback_minutes)} minutes).",
        ],
    )
    lines += [f"maxNodes = {p.max_nodes};   // the cap: never more nodes than this"]
    lines += [f"lookback = TimeInterval_Minute * {_num(p.lookback_minutes)};"] + slot_lines
    lines += [
        "// Until enough samples exist (a windowed GetSample fails the evaluation without them), trust the latest",
        "// sample; afterwards take the busiest moment of the window, so a short lull does not drain the pool.",
        "$samplePercent = $PendingTasks.GetSamplePercent(lookback);",
        f"$recent = $samplePercent < {pct} ? max(0, $PendingTasks.GetSample(1)) : "
        f"max($PendingTasks.GetSample(lookback, {pct}));",
        f"$nodes = ceil($recent / {slots});",
        f"{target} = $recent > 0 ? max(1, min(maxNodes, $nodes)) : 0;",
        f"{other} = 0;",
        f"$NodeDeallocationOption = {p.deallocation};",
    ]
    return lines


def _dedicated_spot_formula(p: Params) -> list[str]:
    slot_lines, slots = _slots(p)
    lines = _header(
        "dedicated-spot",
        [
            f"Pending tasks run on {p.min_dedicated} to {p.max_dedicated} dedicated nodes first; the rest of the",
            f"demand goes to Spot (low-priority) nodes, at most {p.max_spot}.",
        ],
    )
    lines += [
        f"minDedicated = {p.min_dedicated};",
        f"maxDedicated = {p.max_dedicated};",
        f"maxSpot = {p.max_spot};",
        f"lookback = TimeInterval_Minute * {_num(p.lookback_minutes)};",
    ] + slot_lines
    lines += _guarded_tasks("$PendingTasks", "$tasks", p)
    lines += [
        "// Round up: the service truncates fractional targets (2.5 nodes would become 2).",
        f"$nodes = ceil($tasks / {slots});",
        "$TargetDedicatedNodes = max(minDedicated, min(maxDedicated, $nodes));",
        "$TargetLowPriorityNodes = max(0, min(maxSpot, $nodes - $TargetDedicatedNodes));",
        f"$NodeDeallocationOption = {p.deallocation};",
    ]
    return lines


def generate_formula(scenario: str, params: Params | None = None) -> str:
    """The formula text for a scenario; raises ``GenerateError`` for parameters that make no sense."""
    p = params or Params()
    _validate(scenario, p)
    if scenario in ("pending-tasks", "active-tasks"):
        lines = _tasks_formula(scenario, p)
    elif scenario == "schedule":
        lines = _schedule_formula(p)
    elif scenario == "drain-to-zero":
        lines = _drain_formula(p)
    else:
        lines = _dedicated_spot_formula(p)
    return "\n".join(lines) + "\n"
