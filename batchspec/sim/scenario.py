"""Simulation scenarios: a YAML file (or a built-in name) describing the pool model and the workload.

``parse_scenario(text, path, read_file)`` never raises on bad input: every problem becomes a positioned
``Diagnostic`` (codes SM1xx) and the scenario is ``None``. It reads no files itself; the caller passes
``read_file(relative_path) -> (display_path, text)`` for ``replay:`` CSV files, so the module stays pure.

Durations are ``30s``/``5m``/``2h``/``1d`` (compounds such as ``1h30m`` too), ISO 8601 (``PT5M``, ``P1D``) or a bare
number of seconds. Rates are ``30/h``, ``2/m``, ``0.5/s``, ``100/d``. See docs/simulate.md for every key.
"""

from __future__ import annotations

import difflib
import importlib.resources
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import yaml

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span

BUILTIN_SCENARIOS = ("burst", "steady", "diurnal", "new-pool")

MAX_SCENARIO_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000  # YAML values after alias expansion
MAX_DEPTH = 32
MAX_TASKS = 5_000_000  # expected tasks over the whole run; more would not fit in memory comfortably
MAX_DURATION_S = 366 * 86400.0
MAX_REPLAY_ROWS = 5_000_000

# Diagnostic codes of scenario problems (SM0xx are failed --expect checks, raised by the CLI).
SM_SYNTAX = ("SM101", "scenario-syntax")
SM_UNKNOWN_KEY = ("SM102", "scenario-unknown-key")
SM_INVALID = ("SM103", "scenario-invalid-value")
SM_MISSING = ("SM104", "scenario-missing-key")
SM_REPLAY = ("SM105", "replay-file-invalid")

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_RATE_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_COMPOUND = re.compile(r"(?:(\d+(?:\.\d+)?)(ms|min|s|m|h|d|w))")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*/\s*([a-z]+)\s*$")


def parse_duration(text: str) -> float | None:
    """Seconds, or None when ``text`` is not a duration. Accepts ``1h30m``, ``PT5M``, ``P1DT2H``, ``90``."""
    s = text.strip()
    if not s:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    m = _ISO.match(s.upper())
    if m and s.upper() not in ("P", "PT") and not s.upper().endswith("T"):
        parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
        if not parts:
            return None
        return (
            parts.get("w", 0) * 7 * 86400
            + parts.get("d", 0) * 86400
            + parts.get("h", 0) * 3600
            + parts.get("m", 0) * 60
            + parts.get("s", 0)
        )
    pos = 0
    total = 0.0
    low = s.lower().replace(" ", "")
    while pos < len(low):
        m2 = _COMPOUND.match(low, pos)
        if not m2:
            return None
        total += float(m2.group(1)) * _UNIT_SECONDS[m2.group(2)]
        pos = m2.end()
    return total


def format_duration(seconds: float) -> str:
    """``5400`` -> ``1h30m``; used in messages and the report."""
    if seconds != seconds or seconds in (math.inf, -math.inf):
        return str(seconds)
    neg = seconds < 0
    s = abs(seconds)
    if s < 60 and s != int(s):
        return ("-" if neg else "") + f"{s:.3g}s"
    s = round(s)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            out += f"{s // size}{unit}"
            s %= size
    return ("-" if neg else "") + (out or "0s")


def parse_rate(text: str) -> float | None:
    """Events per second from ``30/h``; None when malformed."""
    m = _RATE.match(text.lower())
    if not m or m.group(2) not in _RATE_UNITS:
        return None
    return float(m.group(1)) / _RATE_UNITS[m.group(2)]


# --------------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Dist:
    """A duration distribution in seconds: fixed, lognormal(median, sigma), exponential(mean), uniform(lo, hi),
    normal(mean, sd). Samples are clipped below at ``floor`` (1 s for task durations, 0 for delays)."""

    kind: str
    a: float
    b: float = 0.0
    floor: float = 0.0

    @staticmethod
    def fixed(seconds: float) -> Dist:
        return Dist("fixed", float(seconds))

    def sample(self, rng: random.Random) -> float:
        k = self.kind
        if k == "fixed":
            v = self.a
        elif k == "lognormal":
            v = self.a * math.exp(self.b * rng.gauss(0.0, 1.0))
        elif k == "exponential":
            v = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        elif k == "uniform":
            v = rng.uniform(self.a, self.b)
        else:  # normal
            v = rng.gauss(self.a, self.b)
        return v if v > self.floor else self.floor

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def describe(self) -> str:
        k = self.kind
        if k == "fixed":
            return format_duration(self.a)
        if k == "lognormal":
            return f"lognormal(median {format_duration(self.a)}, sigma {self.b:g})"
        if k == "exponential":
            return f"exponential(mean {format_duration(self.a)})"
        if k == "uniform":
            return f"uniform({format_duration(self.a)}..{format_duration(self.b)})"
        return f"normal(mean {format_duration(self.a)}, sd {format_duration(self.b)})"


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """Pool behaviour. ``None`` means "take it from the pool file, else the documented default"."""

    task_slots_per_node: int | None = None
    task_scheduling: str | None = None  # "pack" | "spread"
    allocation_delay_dedicated: Dist = Dist.fixed(240)
    allocation_delay_low_priority: Dist = Dist.fixed(360)
    start_task: Dist = Dist.fixed(0)
    preemption_rate_per_s: float = 0.0  # per low-priority node
    preemption_recovery: Dist = Dist.fixed(600)
    max_dedicated: int = 100
    max_low_priority: int = 100
    price_dedicated: float = 0.096
    price_low_priority: float = 0.019
    task_retention_s: float = 7 * 86400.0  # the service's default task retention; matters for retaineddata
    initial_dedicated: int = 0
    initial_low_priority: int = 0


@dataclass(frozen=True, slots=True)
class MetricSettings:
    period_s: float = 30.0
    latency_s: float = 60.0
    missing_rate: float = 0.0
    # the percentage a time-window GetSample without one requires (reference A14: SHIP's "wanted 70%")
    implicit_sample_percent: float = 70.0


@dataclass(frozen=True, slots=True)
class Burst:
    at_s: float
    tasks: int
    duration: Dist
    over_s: float = 0.0  # submissions spread evenly over this window (0 = all at once)
    slots: int = 1
    failure_rate: float = 0.0
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Stream:
    """Poisson arrivals at a constant rate between ``from_s`` and ``until_s``."""

    rate_per_s: float
    from_s: float
    until_s: float | None
    duration: Dist
    slots: int = 1
    failure_rate: float = 0.0
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Diurnal:
    """Poisson arrivals whose rate follows a daily cosine between ``trough`` and ``peak`` (at ``peak_at``)."""

    peak_per_s: float
    trough_per_s: float
    peak_at_s: float  # seconds after midnight UTC
    from_s: float
    until_s: float | None
    duration: Dist
    weekend_factor: float = 1.0  # rate multiplier on Saturday and Sunday
    slots: int = 1
    failure_rate: float = 0.0
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    path: str
    submit_s: tuple[float, ...]
    duration_s: tuple[float, ...]
    slots: tuple[int, ...]
    failure_rate: float = 0.0
    span: Span | None = None


WorkloadItem = Burst | Stream | Diurnal | Replay

DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday, midnight UTC


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    path: str
    duration_s: float
    evaluation_interval_s: float | None = None  # None = the pool file's, else 15 minutes
    seed: int = 1
    start: datetime = DEFAULT_START
    pool: PoolSettings = field(default_factory=PoolSettings)
    metrics: MetricSettings = field(default_factory=MetricSettings)
    workload: tuple[WorkloadItem, ...] = ()
    description: str = ""
    spans: dict[str, Span] = field(default_factory=dict, compare=False)  # key path -> span, for later checks

    def with_seed(self, seed: int) -> Scenario:
        return replace(self, seed=seed)


# ------------------------------------------------------------------------------------------------ the reader


class _Reader:
    def __init__(self, path: str, read_file: Callable[[str], tuple[str, str]] | None) -> None:
        self.path = path
        self.read_file = read_file
        self.diags: list[Diagnostic] = []
        self.spans: dict[str, Span] = {}

    # ---- positions and reporting
    def span(self, node: yaml.Node) -> Span:
        s, e = node.start_mark, node.end_mark
        return Span(self.path, Pos(s.line + 1, s.column + 1), Pos(e.line + 1, e.column + 1))

    def report(
        self, kind: tuple[str, str], node: yaml.Node | Span, message: str, hint: str | None = None
    ) -> None:
        span = node if isinstance(node, Span) else self.span(node)
        self.diags.append(
            Diagnostic(
                code=kind[0], name=kind[1], severity=Severity.ERROR, message=message, span=span, hint=hint
            )
        )

    # ---- structure
    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.report(SM_INVALID, node, f'"{where}" must be a mapping, got {_kind(node)}')
            return None
        out: dict[str, yaml.Node] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                self.report(SM_INVALID, knode, f'keys in "{where}" must be plain names')
                continue
            key = str(knode.value)
            if key in out:
                self.report(SM_INVALID, knode, f'duplicate key "{key}" in "{where}"')
                continue
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f'did you mean "{close[0]}"?'
                    if close
                    else "expected one of " + ", ".join(sorted(allowed))
                )
                self.report(SM_UNKNOWN_KEY, knode, f'unknown key "{key}" in "{where}"', hint)
                continue
            out[key] = vnode
            self.spans[f"{where}.{key}" if where != "scenario" else key] = self.span(vnode)
        return out

    def scalar(self, node: yaml.Node, where: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.report(SM_INVALID, node, f'"{where}" must be a single value, got {_kind(node)}')
            return None
        return str(node.value)

    def duration(
        self, node: yaml.Node, where: str, *, minimum: float = 0.0, positive: bool = False
    ) -> float | None:
        text = self.scalar(node, where)
        if text is None:
            return None
        value = parse_duration(text)
        if value is None:
            self.report(
                SM_INVALID,
                node,
                f'"{where}" is not a duration: "{text}"',
                "write 30s, 5m, 2h, 1d, 1h30m, an ISO 8601 duration such as PT5M, or a number of seconds",
            )
            return None
        if (positive and value <= 0) or value < minimum:
            need = f"at least {format_duration(minimum)}" if minimum else "greater than zero"
            self.report(SM_INVALID, node, f'"{where}" must be {need}, got "{text}"')
            return None
        if value > MAX_DURATION_S:
            self.report(SM_INVALID, node, f'"{where}" is longer than the limit of 366 days, got "{text}"')
            return None
        return value

    def rate(self, node: yaml.Node, where: str) -> float | None:
        text = self.scalar(node, where)
        if text is None:
            return None
        value = parse_rate(text)
        if value is None:
            self.report(
                SM_INVALID,
                node,
                f'"{where}" is not a rate: "{text}"',
                "write a count per unit, such as 30/h, 2/m, 0.5/s or 100/d",
            )
            return None
        return value

    def number(
        self,
        node: yaml.Node,
        where: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        integer: bool = False,
    ) -> float | None:
        text = self.scalar(node, where)
        if text is None:
            return None
        try:
            value = float(text) if not integer else float(int(text))
        except ValueError:
            kind = "a whole number" if integer else "a number"
            self.report(SM_INVALID, node, f'"{where}" must be {kind}, got "{text}"')
            return None
        if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = " and ".join(
                b
                for b in ((f">= {lo:g}" if lo is not None else ""), (f"<= {hi:g}" if hi is not None else ""))
                if b
            )
            self.report(SM_INVALID, node, f'"{where}" must be {bounds}, got "{text}"')
            return None
        return value

    def integer(self, node: yaml.Node, where: str, *, lo: int = 0, hi: int = 10**9) -> int | None:
        v = self.number(node, where, lo=lo, hi=hi, integer=True)
        return None if v is None else int(v)

    def dist(self, node: yaml.Node, where: str, *, floor: float = 0.0) -> Dist | None:
        if isinstance(node, yaml.ScalarNode):
            v = self.duration(node, where)
            return None if v is None else Dist("fixed", max(v, floor), floor=floor)
        kinds = ("fixed", "lognormal", "exponential", "uniform", "normal")
        m = self.mapping(node, where, kinds)
        if m is None:
            return None
        if len(m) != 1:
            self.report(SM_INVALID, node, f'"{where}" needs exactly one of {", ".join(kinds)}')
            return None
        ((kind, body),) = m.items()
        sub = f"{where}.{kind}"
        if kind == "fixed":
            v = self.duration(body, sub)
            return None if v is None else Dist("fixed", max(v, floor), floor=floor)
        params = {
            "lognormal": ("median", "sigma"),
            "exponential": ("mean",),
            "uniform": ("min", "max"),
            "normal": ("mean", "sd"),
        }[kind]
        pm = self.mapping(body, sub, params)
        if pm is None:
            return None
        missing = [p for p in params if p not in pm]
        if missing:
            self.report(SM_MISSING, body, f'"{sub}" needs {" and ".join(missing)}')
            return None
        if kind == "lognormal":
            med = self.duration(pm["median"], f"{sub}.median", positive=True)
            sig = self.number(pm["sigma"], f"{sub}.sigma", lo=0, hi=5)
            return None if med is None or sig is None else Dist("lognormal", med, sig, floor)
        if kind == "exponential":
            mean = self.duration(pm["mean"], f"{sub}.mean", positive=True)
            return None if mean is None else Dist("exponential", mean, 0.0, floor)
        a = self.duration(pm[params[0]], f"{sub}.{params[0]}")
        b = self.duration(pm[params[1]], f"{sub}.{params[1]}")
        if a is None or b is None:
            return None
        if kind == "uniform" and b < a:
            self.report(SM_INVALID, body, f'"{sub}.max" must not be less than "{sub}.min"')
            return None
        return Dist(kind, a, b, floor)

    def per_priority(
        self, node: yaml.Node, where: str, convert: Callable[[yaml.Node, str], Any]
    ) -> tuple[Any, Any]:
        """``{dedicated: X, low_priority: Y}`` or a single X for both."""
        if isinstance(node, yaml.MappingNode) and any(
            isinstance(k, yaml.ScalarNode) and k.value in ("dedicated", "low_priority", "spot")
            for k, _ in node.value
        ):
            m = self.mapping(node, where, ("dedicated", "low_priority", "spot"))
            if m is None:
                return None, None
            ded = convert(m["dedicated"], f"{where}.dedicated") if "dedicated" in m else ...
            lp_node = m.get("low_priority", m.get("spot"))
            lp = convert(lp_node, f"{where}.low_priority") if lp_node is not None else ...
            return ded, lp
        v = convert(node, where)
        return v, v


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f'"{node.value}"'


def _check_size(node: yaml.Node, budget: list[int], depth: int = 0, seen: set[int] | None = None) -> bool:
    """Count values after alias expansion; False when the document is too big or too deep (anchor bombs)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        return False
    if isinstance(node, yaml.MappingNode):
        return all(
            _check_size(k, budget, depth + 1) and _check_size(v, budget, depth + 1) for k, v in node.value
        )
    if isinstance(node, yaml.SequenceNode):
        return all(_check_size(v, budget, depth + 1) for v in node.value)
    return True


_TOP_KEYS = (
    "name",
    "description",
    "duration",
    "evaluation_interval",
    "seed",
    "start",
    "pool",
    "metrics",
    "workload",
)
_POOL_KEYS = (
    "task_slots_per_node",
    "task_scheduling",
    "allocation_delay",
    "start_task",
    "preemption_rate",
    "preemption_recovery",
    "max_dedicated",
    "max_low_priority",
    "price_per_hour",
    "task_retention",
    "initial_nodes",
)
_METRIC_KEYS = ("period", "latency", "missing_rate", "implicit_sample_percent")
_COMMON_ITEM_KEYS = ("duration", "slots", "failure_rate", "name")
_ITEM_KEYS = {
    "at": ("at", "tasks", "over", *_COMMON_ITEM_KEYS),
    "rate": ("rate", "from", "until", *_COMMON_ITEM_KEYS),
    "diurnal": ("diurnal", "from", "until", *_COMMON_ITEM_KEYS),
    "replay": ("replay", "failure_rate", "name"),
}
_DIURNAL_KEYS = ("peak", "trough", "peak_at", "weekend_factor")


def _deep_point(text: str, limit: int = 100) -> tuple[int, int]:
    """Line and column where flow collections first nest ``limit`` levels deep (1, 1 if they never do)."""
    depth, line, col = 0, 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "[{":
            depth += 1
            if depth >= limit:
                return line, col
        elif ch in "]}":
            depth = max(0, depth - 1)
    return 1, 1


def parse_scenario(
    text: str, path: str = "", read_file: Callable[[str], tuple[str, str]] | None = None, *, name: str = ""
) -> tuple[Scenario | None, list[Diagnostic]]:
    """Parse and validate a scenario document. Never raises on bad input."""
    r = _Reader(path, read_file)
    if len(text.encode("utf-8", "replace")) > MAX_SCENARIO_BYTES:
        r.report(
            SM_SYNTAX,
            Span.point(path, 1, 1),
            "scenario file is larger than 2 MiB",
            "put long task lists in a replay CSV file",
        )
        return None, r.diags
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = (exc.problem or str(exc)).strip()
        r.report(SM_SYNTAX, Span.point(path, line, col), f"scenario is not valid YAML: {msg}")
        return None, r.diags
    except yaml.YAMLError as exc:  # pragma: no cover - compose errors are all marked in practice
        r.report(SM_SYNTAX, Span.point(path, 1, 1), f"scenario is not valid YAML: {exc}")
        return None, r.diags
    except RecursionError:  # PyYAML composes recursively: thousands of nested [ or { exhaust the stack
        line, col = _deep_point(text)
        r.report(SM_SYNTAX, Span.point(path, line, col), "scenario is too deeply nested")
        return None, r.diags
    if root is None:
        r.report(
            SM_MISSING,
            Span.point(path, 1, 1),
            'scenario is empty; it needs at least "duration" and "workload"',
        )
        return None, r.diags
    if not _check_size(root, [MAX_NODES]):
        r.report(
            SM_SYNTAX, r.span(root), "scenario is too large or too deeply nested after expanding aliases"
        )
        return None, r.diags
    top = r.mapping(root, "scenario", _TOP_KEYS)
    if top is None:
        return None, r.diags

    kwargs: dict[str, Any] = {}
    duration = None
    if "duration" in top:
        duration = r.duration(top["duration"], "duration", positive=True)
    else:
        r.report(
            SM_MISSING, Span.point(path, 1, 1), 'scenario has no "duration"', 'add for example "duration: 8h"'
        )
    if "evaluation_interval" in top:
        iv = r.duration(top["evaluation_interval"], "evaluation_interval")
        if iv is not None and not (300 <= iv <= 168 * 3600):
            r.report(
                SM_INVALID,
                top["evaluation_interval"],
                f'"evaluation_interval" must be between 5m and 168h (the service rejects other values), '
                f"got {format_duration(iv)}",
            )
        elif iv is not None:
            kwargs["evaluation_interval_s"] = iv
    if "seed" in top:
        seed = r.integer(top["seed"], "seed", lo=0, hi=2**63 - 1)
        if seed is not None:
            kwargs["seed"] = seed
    if "start" in top:
        st = r.scalar(top["start"], "start")
        if st is not None:
            try:
                when = datetime.fromisoformat(st.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                when = None
            if when is None:
                r.report(
                    SM_INVALID,
                    top["start"],
                    f'"start" is not an ISO 8601 timestamp: "{st}"',
                    "write for example 2024-01-01T08:00:00Z",
                )
            else:
                kwargs["start"] = (
                    when.replace(tzinfo=timezone.utc)
                    if when.tzinfo is None
                    else when.astimezone(timezone.utc)
                )
    for key in ("name", "description"):
        if key in top:
            v = r.scalar(top[key], key)
            if v is not None:
                kwargs[key] = v
    if "pool" in top:
        pool = _parse_pool(r, top["pool"])
        if pool is not None:
            kwargs["pool"] = pool
    if "metrics" in top:
        metrics = _parse_metrics(r, top["metrics"])
        if metrics is not None:
            kwargs["metrics"] = metrics
    items: list[WorkloadItem] = []
    if "workload" not in top:
        r.report(
            SM_MISSING,
            Span.point(path, 1, 1),
            'scenario has no "workload"',
            'add a list of items such as "- {at: 10m, tasks: 100, duration: 5m}"',
        )
    elif not isinstance(top["workload"], yaml.SequenceNode):
        r.report(SM_INVALID, top["workload"], f'"workload" must be a list, got {_kind(top["workload"])}')
    else:
        for i, item in enumerate(top["workload"].value):
            parsed = _parse_item(r, item, f"workload[{i}]")
            if parsed is not None:
                items.append(parsed)
    if r.diags or duration is None:
        return None, r.diags
    scenario = Scenario(
        name=kwargs.pop("name", name or path),
        path=path,
        duration_s=duration,
        workload=tuple(items),
        spans=r.spans,
        **kwargs,
    )
    _check_sizes(r, scenario)
    return (None, r.diags) if r.diags else (scenario, [])


MAX_SAMPLES = 2_000_000  # timeline rows and sample history (at 30 s: 694 days)


def _check_sizes(r: _Reader, sc: Scenario) -> None:
    samples = sc.duration_s / sc.metrics.period_s
    if samples > MAX_SAMPLES:
        r.report(
            SM_INVALID,
            r.spans.get("metrics.period", r.spans.get("duration", Span.point(sc.path, 1, 1))),
            f"{format_duration(sc.duration_s)} at one sample every {format_duration(sc.metrics.period_s)} is "
            f"{samples:,.0f} samples; the limit is {MAX_SAMPLES:,}",
            "use a longer metrics period or a shorter duration",
        )
    expected = 0.0
    for item in sc.workload:
        if isinstance(item, Burst):
            expected += item.tasks
        elif isinstance(item, Stream):
            expected += item.rate_per_s * max(
                0.0, min(item.until_s or sc.duration_s, sc.duration_s) - item.from_s
            )
        elif isinstance(item, Diurnal):
            expected += item.peak_per_s * max(
                0.0, min(item.until_s or sc.duration_s, sc.duration_s) - item.from_s
            )
        else:
            expected += len(item.submit_s)
    if expected > MAX_TASKS:
        r.report(
            SM_INVALID,
            r.spans.get("workload", Span.point(sc.path, 1, 1)),
            f"workload would submit about {expected:,.0f} tasks; the limit is {MAX_TASKS:,}",
        )


def _parse_pool(r: _Reader, node: yaml.Node) -> PoolSettings | None:
    m = r.mapping(node, "pool", _POOL_KEYS)
    if m is None:
        return None
    kw: dict[str, Any] = {}
    if "task_slots_per_node" in m:
        kw["task_slots_per_node"] = r.integer(
            m["task_slots_per_node"], "pool.task_slots_per_node", lo=1, hi=256
        )
    if "task_scheduling" in m:
        v = r.scalar(m["task_scheduling"], "pool.task_scheduling")
        if v is not None and v.lower() not in ("pack", "spread"):
            r.report(
                SM_INVALID, m["task_scheduling"], f'"pool.task_scheduling" must be pack or spread, got "{v}"'
            )
        elif v is not None:
            kw["task_scheduling"] = v.lower()
    if "allocation_delay" in m:
        ded, lp = r.per_priority(m["allocation_delay"], "pool.allocation_delay", lambda n, w: r.dist(n, w))
        if ded is not ...:
            kw["allocation_delay_dedicated"] = ded
        if lp is not ...:
            kw["allocation_delay_low_priority"] = lp
    if "start_task" in m:
        kw["start_task"] = r.dist(m["start_task"], "pool.start_task")
    if "preemption_rate" in m:
        kw["preemption_rate_per_s"] = r.rate(m["preemption_rate"], "pool.preemption_rate")
    if "preemption_recovery" in m:
        kw["preemption_recovery"] = r.dist(m["preemption_recovery"], "pool.preemption_recovery")
    for key in ("max_dedicated", "max_low_priority"):
        if key in m:
            kw[key] = r.integer(m[key], f"pool.{key}", lo=0, hi=100_000)
    if "price_per_hour" in m:
        ded, lp = r.per_priority(
            m["price_per_hour"], "pool.price_per_hour", lambda n, w: r.number(n, w, lo=0, hi=1e6)
        )
        if ded is not ...:
            kw["price_dedicated"] = ded
        if lp is not ...:
            kw["price_low_priority"] = lp
    if "task_retention" in m:
        kw["task_retention_s"] = r.duration(m["task_retention"], "pool.task_retention")
    if "initial_nodes" in m:
        ded, lp = r.per_priority(
            m["initial_nodes"], "pool.initial_nodes", lambda n, w: r.integer(n, w, lo=0, hi=100_000)
        )
        if ded is not ...:
            kw["initial_dedicated"] = ded
        if lp is not ...:
            kw["initial_low_priority"] = lp
    if any(v is None for v in kw.values()):
        return None
    return PoolSettings(**kw)


def _parse_metrics(r: _Reader, node: yaml.Node) -> MetricSettings | None:
    m = r.mapping(node, "metrics", _METRIC_KEYS)
    if m is None:
        return None
    kw: dict[str, Any] = {}
    if "period" in m:
        kw["period_s"] = r.duration(m["period"], "metrics.period", minimum=1)
    if "latency" in m:
        kw["latency_s"] = r.duration(m["latency"], "metrics.latency")
    if "missing_rate" in m:
        kw["missing_rate"] = r.number(m["missing_rate"], "metrics.missing_rate", lo=0, hi=1)
    if "implicit_sample_percent" in m:
        kw["implicit_sample_percent"] = r.number(
            m["implicit_sample_percent"], "metrics.implicit_sample_percent", lo=0, hi=100
        )
    if any(v is None for v in kw.values()):
        return None
    return MetricSettings(**kw)


def _parse_item(r: _Reader, node: yaml.Node, where: str) -> WorkloadItem | None:
    if not isinstance(node, yaml.MappingNode):
        r.report(SM_INVALID, node, f'"{where}" must be a mapping, got {_kind(node)}')
        return None
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    kinds = [k for k in ("at", "rate", "diurnal", "replay") if k in keys]
    if len(kinds) != 1:
        msg = (
            f'"{where}" needs exactly one of "at" (a burst), "rate" (a Poisson stream), "diurnal" or "replay"'
            + (f", got {', '.join(kinds)}" if kinds else "")
        )
        r.report(SM_INVALID if kinds else SM_MISSING, node, msg)
        return None
    kind = kinds[0]
    m = r.mapping(node, where, _ITEM_KEYS[kind])
    if m is None:
        return None
    span = r.span(node)
    ok = len(r.diags)
    failure = r.number(m["failure_rate"], f"{where}.failure_rate", lo=0, hi=1) if "failure_rate" in m else 0.0
    if kind == "replay":
        return _parse_replay(r, m["replay"], where, failure, span)
    slots = r.integer(m["slots"], f"{where}.slots", lo=1, hi=256) if "slots" in m else 1
    dur: Dist | None = None
    if "duration" in m:
        dur = r.dist(m["duration"], f"{where}.duration", floor=1.0)
    else:
        r.report(SM_MISSING, node, f'"{where}" has no task "duration"', 'add for example "duration: 5m"')
    if kind == "at":
        at = r.duration(m["at"], f"{where}.at")
        if "tasks" not in m:
            r.report(SM_MISSING, node, f'"{where}" has no "tasks" count')
            return None
        tasks = r.integer(m["tasks"], f"{where}.tasks", lo=1, hi=MAX_TASKS)
        over = r.duration(m["over"], f"{where}.over") if "over" in m else 0.0
        if len(r.diags) > ok or None in (at, tasks, over, dur, slots, failure):
            return None
        return Burst(at, tasks, dur, over, slots, failure, span)  # type: ignore[arg-type]
    start = r.duration(m["from"], f"{where}.from") if "from" in m else 0.0
    until = r.duration(m["until"], f"{where}.until") if "until" in m else None
    if start is not None and until is not None and until <= start:
        r.report(SM_INVALID, m["until"], f'"{where}.until" must be later than "{where}.from"')
    if kind == "rate":
        rate = r.rate(m["rate"], f"{where}.rate")
        if len(r.diags) > ok or None in (rate, start, dur, slots, failure):
            return None
        return Stream(rate, start, until, dur, slots, failure, span)  # type: ignore[arg-type]
    dm = r.mapping(m["diurnal"], f"{where}.diurnal", _DIURNAL_KEYS)
    if dm is None:
        return None
    for req in ("peak", "trough"):
        if req not in dm:
            r.report(SM_MISSING, m["diurnal"], f'"{where}.diurnal" needs "{req}" (a rate such as 120/h)')
    peak = r.rate(dm["peak"], f"{where}.diurnal.peak") if "peak" in dm else None
    trough = r.rate(dm["trough"], f"{where}.diurnal.trough") if "trough" in dm else None
    peak_at = 14 * 3600.0
    if "peak_at" in dm:
        text = r.scalar(dm["peak_at"], f"{where}.diurnal.peak_at")
        mm = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
        if not mm or int(mm.group(1)) > 23 or int(mm.group(2)) > 59:
            # YAML 1.1 reads 14:00 as the sexagesimal integer 840; accept that form too.
            if text is not None and text.isdigit() and int(text) < 24 * 60:
                peak_at = int(text) * 60.0
            else:
                r.report(
                    SM_INVALID,
                    dm["peak_at"],
                    f'"{where}.diurnal.peak_at" must be a time of day such as "14:00" (UTC), got "{text}"',
                )
        else:
            peak_at = int(mm.group(1)) * 3600.0 + int(mm.group(2)) * 60.0
    weekend = (
        r.number(dm["weekend_factor"], f"{where}.diurnal.weekend_factor", lo=0, hi=100)
        if "weekend_factor" in dm
        else 1.0
    )
    if peak is not None and trough is not None and trough > peak:
        r.report(SM_INVALID, dm["trough"], f'"{where}.diurnal.trough" must not exceed "peak"')
    if len(r.diags) > ok or None in (peak, trough, weekend, start, dur, slots, failure):
        return None
    return Diurnal(peak, trough, peak_at, start, until, dur, weekend, slots, failure, span)  # type: ignore[arg-type]


def _parse_replay(
    r: _Reader, node: yaml.Node, where: str, failure: float | None, span: Span
) -> Replay | None:
    """CSV rows ``submit_time,duration[,slots]``; an optional header row; ``#`` comments.

    ``submit_time`` is seconds or a duration after the scenario start, or an ISO timestamp; timestamps (all rows
    alike) are rebased so that the earliest one is the scenario start.
    """
    rel = r.scalar(node, f"{where}.replay")
    if rel is None or failure is None:
        return None
    if r.read_file is None:
        r.report(SM_REPLAY, node, f'"{where}.replay" cannot be read here (no file access)')
        return None
    try:
        display, text = r.read_file(rel)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        r.report(SM_REPLAY, node, f'cannot read replay file "{rel}": {reason}')
        return None
    submits: list[float] = []
    absolute: list[bool] = []
    durations: list[float] = []
    slots: list[int] = []
    errors = 0
    first_row = True
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in raw.split(",")]
        if first_row:
            first_row = False
            if cells[0].lower() in ("submit_time", "submit", "time"):
                continue  # header
        if len(cells) not in (2, 3):
            r.report(
                SM_REPLAY,
                Span(display, Pos(lineno, 1), Pos(lineno, len(raw) + 1)),
                f"replay row has {len(cells)} fields; expected submit_time,duration[,slots]",
            )
            errors += 1
        else:
            offset = 0
            ok = True
            values: list[float] = []
            is_abs = False
            for i, cell in enumerate(cells):
                found = raw.find(cell, offset) if cell else offset
                cspan = Span(display, Pos(lineno, found + 1), Pos(lineno, found + 1 + len(cell)))
                offset = found + len(cell) + 1
                v: float | None
                if i == 0:
                    v, is_abs = _replay_time(cell)
                    what = "submit_time (seconds, a duration such as 5m, or an ISO timestamp)"
                elif i == 1:
                    v = parse_duration(cell)
                    v = v if v is not None and v > 0 else None
                    what = "duration (seconds or a duration such as 5m)"
                else:
                    v = float(cell) if cell.isdigit() and 1 <= int(cell) <= 256 else None
                    what = "slots (a whole number from 1 to 256)"
                if v is None:
                    r.report(SM_REPLAY, cspan, f'invalid {what}: "{cell}"')
                    errors += 1
                    ok = False
                else:
                    values.append(v)
            if ok:
                submits.append(values[0])
                absolute.append(is_abs)
                durations.append(max(1.0, values[1]))
                slots.append(int(values[2]) if len(values) == 3 else 1)
        if errors >= 20:
            r.report(
                SM_REPLAY, Span.point(display, lineno, 1), "too many errors in replay file; stopped reading"
            )
            return None
        if len(submits) > MAX_REPLAY_ROWS:
            r.report(
                SM_REPLAY,
                Span.point(display, lineno, 1),
                f"replay file has more than {MAX_REPLAY_ROWS:,} rows",
            )
            return None
    if errors:
        return None
    if not submits:
        r.report(SM_REPLAY, node, f'replay file "{rel}" has no tasks')
        return None
    if any(absolute):
        if not all(absolute):
            r.report(
                SM_REPLAY,
                node,
                f'replay file "{rel}" mixes timestamps and relative submit times',
                "use one form for every row",
            )
            return None
        base = min(submits)
        submits = [s - base for s in submits]
    return Replay(display, tuple(submits), tuple(durations), tuple(slots), failure, span)


def _replay_time(cell: str) -> tuple[float | None, bool]:
    """(seconds, is_absolute): a relative time in seconds, or a POSIX timestamp for ISO 8601 input."""
    v = parse_duration(cell)
    if v is not None:
        return v, False
    try:
        when = datetime.fromisoformat(cell.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None, False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp(), True


def builtin_scenario_text(name: str) -> str:
    """The YAML text of a built-in scenario (package data under batchspec/sim/scenarios/)."""
    return (importlib.resources.files("batchspec.sim") / "scenarios" / f"{name}.yaml").read_text(
        encoding="utf-8"
    )


def load_builtin(name: str) -> Scenario:
    text = builtin_scenario_text(name)
    scenario, diags = parse_scenario(text, f"<builtin:{name}>", name=name)
    if scenario is None:  # pragma: no cover - guarded by tests of every built-in
        raise RuntimeError(f"built-in scenario {name} is invalid: {diags}")
    return scenario
