"""THE table of what the autoscale formula language predefines (reference §2–§5, §8).

The type checker, the evaluator, the linter, the Hypothesis strategies and ``docs/formula-reference.md`` all read
these tables; nothing else lists names. Sources are the keys of the reference's §0 (D15…DL, GT, TES, …).

* ``SERVICE_VARIABLES``: every ``$``-variable the service defines, keyed by name (aliases included, each pointing
  at its canonical name with ``alias_of``).
* ``FUNCTIONS``: every function with its overloads. A ``doubleVecList`` parameter (``Param.is_list``) takes zero or
  more arguments, each a double or a doubleVec, flattened in argument order. For ``lg/ln/log/ceil/floor/round`` the
  scalar overload is listed first: one double argument selects it, anything else selects the list overload (§3.2).
* ``METHODS``: the sample methods callable on metric variables (``$CPUPercent.GetSample(…)``).
* ``TIME_INTERVALS``: the ``TimeInterval_*`` constants and their length in seconds (A17: a year is 365 days).
* ``DEALLOCATION_OPTIONS``: the bare keywords allowed as the value of ``$NodeDeallocationOption``.
* ``TIMESTAMP_FIELDS``: the members of a timestamp (``time().weekday``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from batchspec.formula.types import (
    DEALLOCATION_OPTION,
    DOUBLE,
    DOUBLE_VEC,
    NONE,
    STRING,
    TIMEINTERVAL,
    TIMESTAMP,
    Type,
)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    types: frozenset[Type]
    is_list: bool = False  # a doubleVecList: zero or more arguments, each a double or a doubleVec

    @staticmethod
    def of(name: str, *types: Type) -> Param:
        return Param(name, frozenset(types))

    @staticmethod
    def vec_list(name: str = "values") -> Param:
        return Param(name, frozenset({DOUBLE, DOUBLE_VEC}), is_list=True)

    def display(self) -> str:
        if self.is_list:
            return f"doubleVecList {self.name}"
        from batchspec.formula.types import describe_types

        return f"{describe_types(self.types).replace(' or ', '|').replace(', ', '|')} {self.name}"


@dataclass(frozen=True, slots=True)
class Signature:
    params: tuple[Param, ...]
    returns: Type
    summary: str = ""

    def arity(self) -> tuple[int, int | None]:
        """(minimum, maximum) argument count; maximum None = unbounded (a doubleVecList)."""
        if any(p.is_list for p in self.params):
            return (len([p for p in self.params if not p.is_list]), None)
        return (len(self.params), len(self.params))

    def display(self, name: str) -> str:
        return (
            f"{self.returns.value if self.returns is not NONE else 'void'} {name}("
            + ", ".join(p.display() for p in self.params)
            + ")"
        )


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    signatures: tuple[Signature, ...]
    summary: str
    source: str  # evidence key of the reference (§0)
    since: str = "2015"  # documentation revision that introduced it
    legacy: bool = True  # part of the 16 functions of the 2015–2020 docs (False for ceil/floor/round)


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    signatures: tuple[Signature, ...]
    summary: str
    source: str


@dataclass(frozen=True, slots=True)
class ServiceVariable:
    name: str  # with the "$"
    type: Type  # the type of the value when read directly (sampled metrics: the type of one sample)
    writable: bool
    sampled: bool  # a metric: must be read through a sample method (A11)
    methods_allowed: bool  # sample methods may be called on it (A11, A12)
    summary: str
    source: str
    alias_of: str | None = None  # canonical name when this is an alias
    deprecated: bool = False  # an undocumented legacy name still accepted (A18)
    retired_since: _dt.date | None = None  # stopped receiving samples (DL: resource metrics, 2024-03-31)
    introduced: str = "2015"

    @property
    def canonical(self) -> str:
        return self.alias_of or self.name

    @property
    def access(self) -> str:
        return "read-write" if self.writable else "read-only"


# ---------------------------------------------------------------------------------------------------------------
# Service-defined variables (§5)

_RETIRED = _dt.date(2024, 3, 31)


def _metric(name: str, summary: str, *, retired: bool = False, introduced: str = "2015") -> ServiceVariable:
    return ServiceVariable(
        name=name,
        type=DOUBLE,
        writable=False,
        sampled=True,
        methods_allowed=True,
        summary=summary,
        source="D15–DL" if introduced == "2015" else f"{introduced}–DL",
        retired_since=_RETIRED if retired else None,
        introduced=introduced,
    )


def _count(
    name: str, summary: str, *, introduced: str, alias_of: str | None = None, deprecated: bool = False
):
    return ServiceVariable(
        name=name,
        type=DOUBLE,
        writable=False,
        sampled=False,
        methods_allowed=True,
        summary=summary,
        source="D17–DL" if alias_of is None else "D15/D16",
        alias_of=alias_of,
        deprecated=deprecated,
        introduced=introduced,
    )


_VARIABLES: tuple[ServiceVariable, ...] = (
    # read-write (§5.1)
    ServiceVariable(
        name="$TargetDedicatedNodes",
        type=DOUBLE,
        writable=True,
        sampled=False,
        methods_allowed=False,
        summary="target number of dedicated nodes; reads give the pool's current target until assigned",
        source="D17–DL",
        introduced="2017",
    ),
    ServiceVariable(
        name="$TargetLowPriorityNodes",
        type=DOUBLE,
        writable=True,
        sampled=False,
        methods_allowed=False,
        summary="target number of low-priority (Spot) nodes",
        source="D17–DL",
        introduced="2017",
    ),
    ServiceVariable(
        name="$NodeDeallocationOption",
        type=DEALLOCATION_OPTION,
        writable=True,
        sampled=False,
        methods_allowed=False,
        summary="what happens to running tasks when nodes are removed: requeue (default), terminate, "
        "taskcompletion or retaineddata",
        source="D15–DL",
    ),
    ServiceVariable(
        name="$TargetDedicated",
        type=DOUBLE,
        writable=True,
        sampled=False,
        methods_allowed=False,
        summary="alias of $TargetDedicatedNodes (the 2015–2016 name); the full name wins when both are assigned",
        source="D15, D19+",
        alias_of="$TargetDedicatedNodes",
    ),
    ServiceVariable(
        name="$TargetLowPriority",
        type=DOUBLE,
        writable=True,
        sampled=False,
        methods_allowed=False,
        summary="alias of $TargetLowPriorityNodes; the full name wins when both are assigned",
        source="D19+",
        alias_of="$TargetLowPriorityNodes",
        introduced="2019",
    ),
    # read-only metrics (§5.2), read through sample methods (§5.3, A11)
    _metric("$CPUPercent", "average CPU usage percentage"),
    _metric("$WallClockSeconds", "number of seconds consumed", retired=True),
    _metric("$MemoryBytes", "average number of megabytes used", retired=True),
    _metric("$DiskBytes", "average number of gigabytes used on the local disks", retired=True),
    _metric("$DiskReadBytes", "number of bytes read", retired=True),
    _metric("$DiskWriteBytes", "number of bytes written", retired=True),
    _metric("$DiskReadOps", "count of read disk operations performed", retired=True),
    _metric("$DiskWriteOps", "count of write disk operations performed", retired=True),
    _metric("$NetworkInBytes", "number of inbound bytes", retired=True),
    _metric("$NetworkOutBytes", "number of outbound bytes", retired=True),
    _metric("$SampleNodeCount", "count of compute nodes", retired=True),
    _metric("$ActiveTasks", "tasks ready to run but not yet running (dependencies satisfied)"),
    _metric("$RunningTasks", "tasks in the running state"),
    _metric("$PendingTasks", "the sum of $ActiveTasks and $RunningTasks", introduced="2017"),
    _metric("$SucceededTasks", "tasks that finished successfully"),
    _metric("$FailedTasks", "tasks that failed"),
    _metric("$PreemptedNodeCount", "number of nodes in the preempted state", introduced="2017"),
    # read-only counts, usable directly as doubles (A11)
    _count("$CurrentDedicatedNodes", "current number of dedicated nodes", introduced="2017"),
    _count(
        "$CurrentLowPriorityNodes",
        "current number of low-priority nodes, preempted ones included",
        introduced="2017",
    ),
    _count("$TaskSlotsPerNode", "task slots usable for concurrent tasks on one node", introduced="2020"),
    _count("$UsableNodeCount", "number of usable compute nodes", introduced="DL"),
    _count(
        "$CurrentDedicated",
        "legacy name of $CurrentDedicatedNodes (2015–2016 docs); accepted, deprecated",
        introduced="2015",
        alias_of="$CurrentDedicatedNodes",
        deprecated=True,
    ),
)

SERVICE_VARIABLES: dict[str, ServiceVariable] = {v.name: v for v in _VARIABLES}

# the writable targets that must receive a double
TARGET_VARIABLES: frozenset[str] = frozenset(
    v.name for v in _VARIABLES if v.writable and v.canonical != "$NodeDeallocationOption"
)

# ---------------------------------------------------------------------------------------------------------------
# Functions (§3)

_LIST = (Param.vec_list(),)
_D = Param.of("x", DOUBLE)


def _aggregate(name: str, summary: str) -> Function:
    return Function(name, (Signature(_LIST, DOUBLE, summary),), summary, "D15–DL")


def _elementwise(name: str, scalar: str, vector: str, *, legacy: bool, source: str) -> Function:
    return Function(
        name,
        (Signature((_D,), DOUBLE, scalar), Signature(_LIST, DOUBLE_VEC, vector)),
        scalar,
        source,
        since="2015" if legacy else "2022",
        legacy=legacy,
    )


_FUNCTIONS: tuple[Function, ...] = (
    _aggregate("avg", "mean of all values in the flattened list"),
    _elementwise(
        "ceil",
        "smallest integer value not less than the argument",
        "component-wise ceil",
        legacy=False,
        source="DL",
    ),
    _elementwise(
        "floor",
        "largest integer value not greater than the argument",
        "component-wise floor",
        legacy=False,
        source="DL",
    ),
    _aggregate("len", "length of the vector built from the list"),
    _elementwise("lg", "log base 2", "component-wise log base 2", legacy=True, source="D15–DL"),
    _elementwise("ln", "natural logarithm", "component-wise natural logarithm", legacy=True, source="D15–DL"),
    _elementwise("log", "log base 10", "component-wise log base 10", legacy=True, source="D15–DL"),
    _aggregate("max", "maximum value of the flattened list"),
    _aggregate("min", "minimum value of the flattened list"),
    _aggregate("norm", "two-norm (Euclidean length) of the vector built from the list"),
    Function(
        "percentile",
        (
            Signature(
                (Param.of("v", DOUBLE_VEC), Param.of("p", DOUBLE)),
                DOUBLE,
                "the p-th percentile element of v (p on 0–100, nearest rank; A31)",
            ),
        ),
        "the percentile element of the vector v",
        "D15–DL",
    ),
    Function("rand", (Signature((), DOUBLE, "random value between 0.0 and 1.0"),), "random value", "D15–DL"),
    _aggregate("range", "difference between the largest and the smallest value"),
    _elementwise(
        "round",
        "nearest integer value, halfway cases away from zero",
        "component-wise round",
        legacy=False,
        source="DL",
    ),
    _aggregate("std", "sample standard deviation (n − 1 divisor) of the flattened list"),
    Function(
        "stop",
        (Signature((), NONE, "stops evaluating the formula"),),
        "stops evaluating the formula",
        "D15–DL",
    ),
    _aggregate("sum", "sum of all components of the flattened list"),
    Function(
        "time",
        (
            Signature((), TIMESTAMP, "the evaluation instant (UTC)"),
            Signature(
                (Param.of("dateTime", STRING),), TIMESTAMP, "the instant written in RFC 1123 or W3C-DTF"
            ),
        ),
        "the current time, or the instant given as a string",
        "D15–DL",
    ),
    Function(
        "val",
        (
            Signature(
                (Param.of("v", DOUBLE_VEC), Param.of("i", DOUBLE)),
                DOUBLE,
                "element i of v, zero-based (out of range gives 0; A32)",
            ),
        ),
        "element at a zero-based index",
        "D15–DL",
    ),
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}

# ---------------------------------------------------------------------------------------------------------------
# Sample methods (§4)

_TIME = frozenset({TIMESTAMP, TIMEINTERVAL})


def _t(name: str) -> Param:
    return Param(name, _TIME)


_PCT = Param.of("samplePercent", DOUBLE)

_METHODS: tuple[Method, ...] = (
    Method(
        "GetSample",
        (
            Signature((Param.of("count", DOUBLE),), DOUBLE_VEC, "the count most recent samples"),
            Signature((_t("startTime"),), DOUBLE_VEC, "the samples from startTime to now"),
            Signature(
                (_t("startTime"), _PCT),
                DOUBLE_VEC,
                "the samples from startTime to now; fails when fewer than samplePercent % are available",
            ),
            Signature((_t("startTime"), _t("endTime")), DOUBLE_VEC, "the samples between two times"),
            Signature(
                (_t("startTime"), _t("endTime"), _PCT),
                DOUBLE_VEC,
                "the samples between two times; fails when fewer than samplePercent % are available",
            ),
        ),
        "samples of the metric: a count, or a time window (look-backs from now)",
        "D15–DL",
    ),
    Method(
        "GetSamplePercent",
        (
            Signature(
                (_t("startTime"),), DOUBLE, "percentage (0–100) of samples available from startTime to now"
            ),
            Signature(
                (_t("startTime"), _t("endTime")), DOUBLE, "percentage of samples available in the window"
            ),
        ),
        "percentage of samples available in a window; a double on the 0–100 scale (observed, A13)",
        "D15–DL, GT",
    ),
    Method(
        "GetSamplePeriod",
        (Signature((), TIMEINTERVAL, "the period of the samples"),),
        "period of the samples in the history",
        "D15–DL",
    ),
    Method(
        "Count",
        (Signature((), DOUBLE, "number of samples"),),
        "total number of samples in the history",
        "D15–DL",
    ),
    Method(
        "HistoryBeginTime",
        (Signature((), TIMESTAMP, "timestamp of the oldest sample"),),
        "timestamp of the oldest available sample",
        "D15–DL",
    ),
)

METHODS: dict[str, Method] = {m.name: m for m in _METHODS}

# ---------------------------------------------------------------------------------------------------------------
# Constants and keywords

TIME_INTERVALS: dict[str, float] = {
    "TimeInterval_Zero": 0.0,
    "TimeInterval_100ns": 1e-7,
    "TimeInterval_Microsecond": 1e-6,
    "TimeInterval_Millisecond": 1e-3,
    "TimeInterval_Second": 1.0,
    "TimeInterval_Minute": 60.0,
    "TimeInterval_Hour": 3600.0,
    "TimeInterval_Day": 86400.0,
    "TimeInterval_Week": 7 * 86400.0,
    "TimeInterval_Year": 365 * 86400.0,  # A17: no leap-year logic
}

# the same lengths as exact integer counts of 100-ns ticks (the .NET TimeSpan unit), for exact arithmetic
TIME_INTERVAL_TICKS: dict[str, int] = {
    "TimeInterval_Zero": 0,
    "TimeInterval_100ns": 1,
    "TimeInterval_Microsecond": 10,
    "TimeInterval_Millisecond": 10_000,
    "TimeInterval_Second": 10_000_000,
    "TimeInterval_Minute": 600_000_000,
    "TimeInterval_Hour": 36_000_000_000,
    "TimeInterval_Day": 864_000_000_000,
    "TimeInterval_Week": 7 * 864_000_000_000,
    "TimeInterval_Year": 365 * 864_000_000_000,
}

DEALLOCATION_OPTIONS: tuple[str, ...] = ("requeue", "retaineddata", "taskcompletion", "terminate")
DEFAULT_DEALLOCATION_OPTION = "requeue"
DEALLOCATION_OPTION_SUMMARIES: dict[str, str] = {
    "requeue": "terminate running tasks at once and put them back in the queue (the default)",
    "terminate": "terminate running tasks and remove them from the queue",
    "taskcompletion": "wait for running tasks to finish before removing the node",
    "retaineddata": "wait until all task-retained data on the node has been cleaned up",
}

TIMESTAMP_FIELDS: dict[str, str] = {
    "year": "the year",
    "month": "the month, 1–12",
    "day": "the day of the month, 1–31",
    "weekday": "the day of the week, 1 = Monday … 7 = Sunday (A28)",
    "hour": "the hour, 0–23",
    "minute": "the minute, 0–59",
    "second": "the second, 0–59",
}

# service limits (§1.1, A1)
MAX_FORMULA_CHARS = 8192
MAX_STATEMENTS = 100


def service_name_case_insensitive(name: str) -> str | None:
    """The service variable that ``name`` matches when case is ignored (A25), if it is not an exact match."""
    if name in SERVICE_VARIABLES:
        return None
    low = name.lower()
    for known in SERVICE_VARIABLES:
        if known.lower() == low:
            return known
    return None


# ---------------------------------------------------------------------------------------------------------------
# Operations table (§2.2, exact). Anything not listed is an "unsupported operation" (A8).


def _ops() -> dict[tuple[Type, str, Type], Type]:
    table: dict[tuple[Type, str, Type], Type] = {}
    for op in "+-*/":
        table[(DOUBLE, op, DOUBLE)] = DOUBLE
        table[(DOUBLE_VEC, op, DOUBLE)] = DOUBLE_VEC
        table[(DOUBLE_VEC, op, DOUBLE_VEC)] = DOUBLE_VEC
    table[(DOUBLE, "*", TIMEINTERVAL)] = TIMEINTERVAL
    for op in "*/":
        table[(TIMEINTERVAL, op, DOUBLE)] = TIMEINTERVAL
    for op in "+-":
        table[(TIMEINTERVAL, op, TIMEINTERVAL)] = TIMEINTERVAL
    table[(TIMEINTERVAL, "+", TIMESTAMP)] = TIMESTAMP
    table[(TIMESTAMP, "+", TIMEINTERVAL)] = TIMESTAMP
    table[(TIMESTAMP, "-", TIMESTAMP)] = TIMEINTERVAL
    for op in ("<", "<=", "==", ">=", ">", "!="):
        for t in (DOUBLE, STRING, TIMESTAMP, TIMEINTERVAL):
            table[(t, op, t)] = DOUBLE
    for op in ("&&", "||"):
        table[(DOUBLE, op, DOUBLE)] = DOUBLE
    return table


OPERATIONS: dict[tuple[Type, str, Type], Type] = _ops()

# the configurable leniency of A8: "double op doubleVec" evaluated like "doubleVec op double" (off by default)
LENIENT_OPERATIONS: dict[tuple[Type, str, Type], Type] = {
    (DOUBLE, op, DOUBLE_VEC): DOUBLE_VEC for op in "+-*/"
}

UNARY_OPERATIONS: dict[tuple[str, Type], Type] = {
    ("-", DOUBLE): DOUBLE,
    ("!", DOUBLE): DOUBLE,
    ("-", TIMEINTERVAL): TIMEINTERVAL,
}

COMPARISON_OPERATORS = ("<", "<=", "==", ">=", ">", "!=")
LOGICAL_OPERATORS = ("&&", "||")
