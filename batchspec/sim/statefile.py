"""The state file of ``batchspec evaluate formula``: what the pool and its metrics look like at evaluation
time.

Every key is optional; ``EXAMPLE`` below shows them all (``batchspec evaluate formula --help`` prints it).

The state lists the samples that are *available* at ``time``; evaluation adds no latency of its own. Pure:
takes already-parsed data (the CLI reads the file with positions) and raises ``BatchspecError`` with
``file:line:col``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from batchspec.errors import BatchspecError
from batchspec.formula.builtins import SERVICE_VARIABLES
from batchspec.sim.state import EvalState, MetricSeries, PoolState
from batchspec.sim.timeparse import parse_time

Path = tuple[Any, ...]
Locate = Callable[[Path, bool], "tuple[int, int] | None"]  # (path, point at the key?) -> (line, col)

_TOP_KEYS = ("time", "seed", "defaultSamplePercent", "sampleOrder", "strictIndex", "pool", "metrics")
_SAMPLE_ORDERS = ("oldest-first", "newest-first")
_POOL_KEYS = {
    "targetDedicatedNodes": "target_dedicated_nodes",
    "targetLowPriorityNodes": "target_low_priority_nodes",
    "currentDedicatedNodes": "current_dedicated_nodes",
    "currentLowPriorityNodes": "current_low_priority_nodes",
    "preemptedNodeCount": "preempted_node_count",
    "usableNodeCount": "usable_node_count",
    "taskSlotsPerNode": "task_slots_per_node",
}
_SERIES_KEYS = ("period", "end", "values")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DURATION = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)
EXAMPLE = """\
time: 2016-10-13T19:18:47.805Z      # the evaluation instant (ISO 8601 or RFC 1123); default: now
seed: 7                             # seeds rand(); default: random
defaultSamplePercent: 70            # what a time-window GetSample without a percentage requires (A14)
sampleOrder: oldest-first           # or newest-first: the order of GetSample vectors (A15)
strictIndex: false                  # true: val(v, i) outside v (or fractional i) is an error (A32)
pool:                               # default 0 / 0 / 0 / 0 / 0 / 0, 1 task slot (or the pool file's)
  targetDedicatedNodes: 1
  targetLowPriorityNodes: 0
  currentDedicatedNodes: 1
  currentLowPriorityNodes: 0
  preemptedNodeCount: 0
  usableNodeCount: 1
  taskSlotsPerNode: 1
metrics:                            # the key with or without "$"
  ActiveTasks:
    period: PT30S                   # ISO 8601 duration, 30s / 1m, or seconds; default PT30S
    end: 2016-10-13T19:18:47.805Z   # time of the newest value; default: `time`
    values: [0, 0, null, 3]         # oldest first; null = a missing sample
  RunningTasks: [1, 1, 2]           # shorthand: the values alone
"""
MAX_SAMPLES = 1_000_000  # a week of 30-s samples is 20,160; this only stops runaway files


def _short_duration(text: str) -> float | None:
    # the simulator's reader: one duration syntax everywhere
    from batchspec.sim.scenario import parse_duration

    return parse_duration(text)


def metric_names() -> list[str]:
    """Service variables that sample methods can read (metrics and node counts), canonical names."""
    return [v.name for v in SERVICE_VARIABLES.values() if v.methods_allowed and v.alias_of is None]


class _Loader:
    def __init__(self, source: str, locate: Locate | None) -> None:
        self.source = source
        self.locate = locate

    def fail(self, path: Path, message: str, *, key: bool = False) -> BatchspecError:
        where = self.locate(path, key) if self.locate else None
        if where is not None:
            return BatchspecError(f"{self.source}:{where[0]}:{where[1]}: {message}")
        dotted = ".".join(str(p) for p in path) or "(document)"
        return BatchspecError(f"{self.source}: {dotted}: {message}")

    def unknown_key(
        self, path: Path, key: Any, known: list[str] | tuple[str, ...], what: str
    ) -> BatchspecError:
        close = difflib.get_close_matches(str(key), list(known), n=1)
        if not close:
            close = [k for k in known if k.lower() == str(key).lower()]
        hint = f'; did you mean "{close[0]}"?' if close else f"; expected one of {', '.join(known)}"
        return self.fail((*path, key), f'unknown {what} "{key}"{hint}', key=True)

    def mapping(self, path: Path, value: Any, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def instant(self, path: Path, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if not isinstance(value, str):
            raise self.fail(path, f"expected a time such as 2016-10-13T19:18:47.805Z, got {_kind(value)}")
        ticks = parse_time(value)
        if ticks is None:
            raise self.fail(
                path, f'"{value}" is not a time; expected ISO 8601 (2016-10-13T19:18:47.805Z) or RFC 1123'
            )
        return _EPOCH + timedelta(microseconds=ticks // 10)

    def integer(self, path: Path, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise self.fail(path, f"expected a whole number, got {_describe(value)}")
        if value < minimum:
            raise self.fail(path, f"expected a number of at least {minimum}, got {_describe(value)}")
        if value > 2_147_483_647:
            raise self.fail(path, f"{_describe(value)} is out of range (at most 2147483647)")
        return int(value)

    def boolean(self, path: Path, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_describe(value)}")
        return value

    def number(self, path: Path, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {_describe(value)}")
        if isinstance(value, int) and abs(value) > 1.7976931348623157e308:  # float() would raise OverflowError
            raise self.fail(path, f"a number with {len(str(abs(value)))} digits is out of range for a double")
        if not math.isfinite(value):
            raise self.fail(path, f"expected a finite number, got {value}")
        return float(value)

    def period(self, path: Path, value: Any) -> timedelta:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())) and any(m.groups()):
            seconds = sum(float(m[k] or 0) * f for k, f in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)))
        elif isinstance(value, str) and (short := _short_duration(value)) is not None:
            seconds = short  # 30s, 1m, 1h30m: the forms scenario files (and users) write
        else:
            raise self.fail(
                path, f"expected a duration such as PT30S, 30s or 1m (or seconds), got {_describe(value)}"
            )
        if not math.isfinite(seconds) or seconds <= 0 or seconds > 7 * 86400:
            raise self.fail(path, f"the sample period must be between 0 and 7 days, got {_describe(value)}")
        period = timedelta(seconds=seconds)
        if period < timedelta(microseconds=1):
            raise self.fail(path, f"the sample period {_describe(value)} is shorter than a microsecond")
        return period

    def series(self, path: Path, value: Any, now: datetime) -> MetricSeries:
        if isinstance(value, list):
            value = {"values": value}
            shorthand = True
        else:
            shorthand = False
        spec = self.mapping(path, value, "a metric")
        for key in spec:
            if key not in _SERIES_KEYS:
                raise self.unknown_key(path, key, _SERIES_KEYS, "metric key")
        values_path = path if shorthand else (*path, "values")
        raw = spec.get("values", [])
        if not isinstance(raw, list):
            raise self.fail(
                values_path, f"values must be a list of numbers (null for a missing sample), got {_kind(raw)}"
            )
        if len(raw) > MAX_SAMPLES:
            raise self.fail(values_path, f"{len(raw)} samples is more than the {MAX_SAMPLES} batchspec reads")
        samples: list[float | None] = []
        for i, item in enumerate(raw):
            samples.append(None if item is None else self.number((*values_path, i), item))
        period = self.period((*path, "period"), spec["period"]) if "period" in spec else timedelta(seconds=30)
        end = self.instant((*path, "end"), spec["end"]) if "end" in spec else now
        return MetricSeries(values=samples, end=end, period=period)


def load_state(
    data: Any,
    *,
    source: str,
    locate: Locate | None = None,
    time_override: datetime | None = None,
    default_time: datetime | None = None,
    default_task_slots: int | None = None,
) -> EvalState:
    """Build an ``EvalState`` from the parsed state file ``data`` (None = an empty file: all defaults).

    ``locate(path, key)`` gives the (line, col) of a JSON path for messages. ``time_override`` (``--time``)
    replaces ``time``; ``default_time`` is used when neither is given (default: now). ``default_task_slots``
    comes from the pool definition when the state does not say.
    """
    loader = _Loader(source, locate)
    if data is None:
        data = {}
    top = loader.mapping((), data, "the state")
    for key in top:
        if key not in _TOP_KEYS:
            raise loader.unknown_key((), key, _TOP_KEYS, "state key")
    if time_override is not None:
        now = time_override
    elif "time" in top:
        now = loader.instant(("time",), top["time"])
    else:
        now = default_time or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)

    pool = PoolState()
    if default_task_slots is not None:
        pool.task_slots_per_node = default_task_slots
    if "pool" in top and top["pool"] is not None:
        spec = loader.mapping(("pool",), top["pool"], "pool")
        for key, value in spec.items():
            attr = _POOL_KEYS.get(key)
            if attr is None:
                raise loader.unknown_key(("pool",), key, list(_POOL_KEYS), "pool key")
            minimum = 1 if key == "taskSlotsPerNode" else 0
            setattr(pool, attr, loader.integer(("pool", key), value, minimum))

    metrics: dict[str, MetricSeries] = {}
    if "metrics" in top and top["metrics"] is not None:
        spec = loader.mapping(("metrics",), top["metrics"], "metrics")
        known = metric_names()
        for key, value in spec.items():
            name = key if str(key).startswith("$") else f"${key}"
            variable = SERVICE_VARIABLES.get(name)
            if variable is None or not variable.methods_allowed:
                raise loader.unknown_key(("metrics",), key, [k[1:] for k in known], "metric")
            canonical = variable.canonical
            if canonical in metrics:
                raise loader.fail(("metrics", key), f'metric "{canonical}" is given twice', key=True)
            metrics[canonical] = loader.series(("metrics", key), value, now)

    seed = None
    if "seed" in top and top["seed"] is not None:
        seed = loader.integer(("seed",), top["seed"], -(2**31))
    percent = 70.0
    if "defaultSamplePercent" in top:
        percent = loader.number(("defaultSamplePercent",), top["defaultSamplePercent"])
        if not 0 <= percent <= 100:
            raise loader.fail(
                ("defaultSamplePercent",), f"expected a percentage from 0 to 100, got {_describe(percent)}"
            )
    order = top.get("sampleOrder", "oldest-first")
    if order not in _SAMPLE_ORDERS:
        raise loader.fail(("sampleOrder",), f"expected oldest-first or newest-first, got {_describe(order)}")
    return EvalState(
        time=now,
        pool=pool,
        metrics=metrics,
        seed=seed,
        default_sample_percent=percent,
        newest_first=order == "newest-first",
        strict_index=loader.boolean(("strictIndex",), top.get("strictIndex", False)),
    )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool) or value is None:
        return _kind(value)
    if isinstance(value, int) and len(str(abs(value))) > 15:
        return f"a number with {len(str(abs(value)))} digits"  # too long to show, and "g" would overflow
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return _kind(value)
