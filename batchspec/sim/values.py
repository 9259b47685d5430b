"""Runtime values of the formula language and every operation on them, shared by both execution strategies.

Representation (chosen so that the compiled form can use plain Python values on its fast paths):

* double        -> ``float`` (never ``int``: number literals and pool counts are converted on the way in)
* doubleVec     -> ``list[float]`` (treated as immutable; operations always build new lists)
* string        -> ``str``
* timestamp     -> :class:`Timestamp`, integer ticks of 100 ns since 1970-01-01T00:00:00Z (the .NET
  resolution, so ``time("…T00:00:00.8800117Z")`` keeps all seven fractional digits)
* timeinterval  -> :class:`TimeInterval`, integer ticks of 100 ns
* the value of ``$NodeDeallocationOption`` -> :class:`DeallocationOption`

Operations raise :class:`OpFailure` with a message and no position; the caller (interpreter or compiled code)
knows the position and turns it into an :class:`EvalFailure`. Both strategies therefore report identical
messages.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from batchspec.formula import types as T
from batchspec.formula.builtins import LENIENT_OPERATIONS, OPERATIONS, UNARY_OPERATIONS

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MS = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# .NET DateTime range: 0001-01-01T00:00:00 .. 9999-12-31T23:59:59.9999999
MIN_TICKS = (datetime(1, 1, 1, tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1) * 10
MAX_TICKS = (
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1) * 10
    + TICKS_PER_SECOND
    - 1
)

# The error the service attests, and the local code batchspec uses for every other runtime failure (A21).
INSUFFICIENT_SAMPLE_DATA = "InsufficientSampleData"
INSUFFICIENT_SAMPLE_DATA_MESSAGE = "Autoscale evaluation failed due to insufficient sample data"
EVALUATION_ERROR = "FormulaEvaluationError"
EVALUATION_ERROR_MESSAGE = "Autoscale formula evaluation failed"


class OpFailure(Exception):
    """An operation failed; the message has no position (the caller adds it)."""

    def __init__(self, message: str, code: str = EVALUATION_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class EvalFailure(Exception):
    """A positioned evaluation failure: becomes ``EvalResult.error``."""

    def __init__(self, code: str, detail: str, line: int, col: int) -> None:
        super().__init__(f"Line {line}, Col {col}: {detail}")
        self.code = code
        self.detail = detail
        self.line = line
        self.col = col

    @property
    def message(self) -> str:
        return (
            INSUFFICIENT_SAMPLE_DATA_MESSAGE
            if self.code == INSUFFICIENT_SAMPLE_DATA
            else EVALUATION_ERROR_MESSAGE
        )

    @property
    def value(self) -> str:
        return f"Line {self.line}, Col {self.col}: {self.detail}"


class StopEvaluation(Exception):
    """``stop()`` was evaluated: end the run without an error (A27)."""


class Timestamp:
    __slots__ = ("ticks",)

    def __init__(self, ticks: int) -> None:
        if not MIN_TICKS <= ticks <= MAX_TICKS:
            raise OpFailure("timestamp out of range (years 1 to 9999)")
        self.ticks = ticks

    @staticmethod
    def from_datetime(dt: datetime) -> Timestamp:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return Timestamp((dt - _EPOCH) // timedelta(microseconds=1) * 10)

    def to_datetime(self) -> datetime:
        """UTC datetime (microsecond resolution: the last tick digit is dropped)."""
        return _EPOCH + timedelta(microseconds=self.ticks // 10)

    def member(self, name: str) -> float:
        dt = self.to_datetime()
        if name == "year":
            return float(dt.year)
        if name == "month":
            return float(dt.month)
        if name == "day":
            return float(dt.day)
        if name == "weekday":  # 1 = Monday .. 7 = Sunday (A28)
            return float(dt.isoweekday())
        if name == "hour":
            return float(dt.hour)
        if name == "minute":
            return float(dt.minute)
        if name == "second":
            return float(dt.second)
        raise OpFailure(f'a timestamp has no member "{name}"')

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.ticks == self.ticks

    def __hash__(self) -> int:
        return hash(("ts", self.ticks))

    def __repr__(self) -> str:
        return f"Timestamp({format_timestamp(self)})"


class TimeInterval:
    __slots__ = ("ticks",)

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks

    @staticmethod
    def from_timedelta(td: timedelta) -> TimeInterval:
        return TimeInterval(td // timedelta(microseconds=1) * 10)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TimeInterval) and other.ticks == self.ticks

    def __hash__(self) -> int:
        return hash(("ti", self.ticks))

    def __repr__(self) -> str:
        return f"TimeInterval({format_interval(self)})"


class DeallocationOption:
    """A bare keyword such as ``taskcompletion``: only ever the value of ``$NodeDeallocationOption``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeallocationOption) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("do", self.name))

    def __repr__(self) -> str:
        return self.name


Value = "float | list[float] | str | Timestamp | TimeInterval | DeallocationOption"


def runtime_type(value: object) -> T.Type:
    """The language type of a runtime value (the keys of builtins.OPERATIONS)."""
    return _RUNTIME_TYPES.get(type(value), T.NONE)


def type_name(value: object) -> str:
    """The language's name for a runtime value's type (used in messages)."""
    return _RUNTIME_TYPES.get(type(value), T.NONE).value


_RUNTIME_TYPES: dict[type, T.Type] = {
    float: T.DOUBLE,
    list: T.DOUBLE_VEC,
    str: T.STRING,
    Timestamp: T.TIMESTAMP,
    TimeInterval: T.TIMEINTERVAL,
    DeallocationOption: T.DEALLOCATION_OPTION,
}


# ---------------------------------------------------------------------------------------- printing


def format_number(x: float) -> str:
    """C ``%.6g`` (the C++ default stream format), which the service's ``96.6667`` matches (A20).

    Integers print without a point (``100``), large and small magnitudes in exponent form (``1.23457e+06``,
    ``1e-07``), negative zero as ``-0`` (what a C++ stream prints), and non-finite values as glibc prints them
    (``inf``, ``-inf``, ``nan``), although the evaluator never lets one reach the results (A30).
    """
    return f"{x:.6g}"  # Python's "g" is C's %g: same digits, exponent form, "-0", "inf", "nan"


def format_timestamp(ts: Timestamp) -> str:
    """ISO 8601 UTC with milliseconds, truncated (not rounded): ``2024-10-30T00:00:00.880Z``."""
    return f"{_iso_seconds(ts)}.{(ts.ticks // TICKS_PER_MS) % 1000:03d}Z"


def format_timestamp_7(ts: Timestamp) -> str:
    """ISO 8601 UTC with seven fractional digits, as the service prints ``AutoScaleRun.timestamp``."""
    return f"{_iso_seconds(ts)}.{ts.ticks % TICKS_PER_SECOND:07d}Z"


def _iso_seconds(ts: Timestamp) -> str:
    # not strftime: glibc prints year 1 as "1", not "0001"
    dt = _EPOCH + timedelta(microseconds=ts.ticks // 10)
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


def format_interval(iv: TimeInterval) -> str:
    """.NET ``TimeSpan`` constant format ``[-][d.]hh:mm:ss[.fffffff]`` (A20: batchspec's choice)."""
    ticks = iv.ticks
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    out = f"{sign}{days}." if days else sign
    out += f"{hour:02d}:{minute:02d}:{sec:02d}"
    if frac:
        out += f".{frac:07d}"
    return out


def format_value(value: object) -> str:
    t = type(value)
    if t is float:
        return f"{value:.6g}"
    if t is list:
        return "[" + ",".join([f"{x:.6g}" for x in value]) + "]"  # type: ignore[attr-defined]
    if t is Timestamp:
        return format_timestamp(value)  # type: ignore[arg-type]
    if t is TimeInterval:
        return format_interval(value)  # type: ignore[arg-type]
    if t is DeallocationOption:
        return value.name  # type: ignore[attr-defined]
    if t is str:
        return value  # type: ignore[return-value]
    raise TypeError(f"not a formula value: {value!r}")


# -------------------------------------------------------------------------------------- operations


def check_finite(x: float) -> float:
    if x - x != 0.0:  # inf - inf and nan - nan are nan
        raise OpFailure("arithmetic overflow: the result is not a finite number")
    return x


def _vec_len_check(a: list[float], b: list[float]) -> None:
    if len(a) != len(b):
        raise OpFailure(f"doubleVec operands have different lengths ({len(a)} and {len(b)})")


def _div(x: float, y: float) -> float:
    if y == 0.0:
        raise OpFailure("division by zero")
    return check_finite(x / y)


def _arith(op: str, x: float, y: float) -> float:
    if op == "+":
        return check_finite(x + y)
    if op == "-":
        return check_finite(x - y)
    if op == "*":
        return check_finite(x * y)
    return _div(x, y)


def _interval_scale(iv: TimeInterval, factor: float, op: str) -> TimeInterval:
    if op == "/":
        if factor == 0.0:
            raise OpFailure("division by zero")
        ticks = iv.ticks / factor
    else:
        ticks = iv.ticks * factor
    if ticks - ticks != 0.0 or abs(ticks) > 2**63:
        raise OpFailure("arithmetic overflow: the time interval is out of range")
    return TimeInterval(round_half_away(ticks, int))


def _shift(ts: Timestamp, ticks: int) -> Timestamp:
    return Timestamp(ts.ticks + ticks)


def _compare(op: str, a: object, b: object) -> float:
    if op == "<":
        r = a < b  # type: ignore[operator]
    elif op == "<=":
        r = a <= b  # type: ignore[operator]
    elif op == "==":
        r = a == b
    elif op == ">=":
        r = a >= b  # type: ignore[operator]
    elif op == ">":
        r = a > b  # type: ignore[operator]
    else:
        r = a != b
    return 1.0 if r else 0.0


ARITHMETIC_OPS = ("+", "-", "*", "/")
COMPARISON_OPS = ("<", "<=", "==", ">=", ">", "!=")


def binary(op: str, a: object, b: object) -> object:
    """``a op b`` for the combinations of builtins.OPERATIONS (reference §2.2); anything else is unsupported
    (A8).

    ``&&``/``||`` are handled by the callers, because they short-circuit (A34)."""
    ta, tb = type(a), type(b)
    key = (_RUNTIME_TYPES.get(ta), op, _RUNTIME_TYPES.get(tb))
    if key in LENIENT_OPERATIONS:
        # "double op doubleVec": only a checker with the A8 leniency lets it through; element-wise
        return [_arith(op, a, x) for x in b]  # type: ignore[arg-type, attr-defined]
    if key not in OPERATIONS or op in ("&&", "||"):
        raise OpFailure(f"unsupported operation: {type_name(a)} {op} {type_name(b)}")
    if op in COMPARISON_OPS:
        if ta is Timestamp or ta is TimeInterval:
            return _compare(op, a.ticks, b.ticks)  # type: ignore[attr-defined]
        return _compare(op, a, b)
    if ta is float:
        if tb is float:
            return _arith(op, a, b)  # type: ignore[arg-type]
        return _interval_scale(b, a, "*")  # type: ignore[arg-type]  # double * timeinterval
    if ta is list:
        if tb is float:
            return [_arith(op, x, b) for x in a]  # type: ignore[arg-type, attr-defined]
        _vec_len_check(a, b)  # type: ignore[arg-type]
        return [_arith(op, x, y) for x, y in zip(a, b, strict=True)]  # type: ignore[call-overload]
    if ta is TimeInterval:
        if tb is float:
            return _interval_scale(a, b, op)  # type: ignore[arg-type]
        if tb is TimeInterval:
            return TimeInterval(a.ticks + b.ticks if op == "+" else a.ticks - b.ticks)  # type: ignore[attr-defined]
        return _shift(b, a.ticks)  # type: ignore[arg-type, attr-defined]  # timeinterval + timestamp
    if tb is TimeInterval:
        return _shift(a, b.ticks)  # type: ignore[arg-type, attr-defined]  # timestamp + timeinterval
    return TimeInterval(a.ticks - b.ticks)  # type: ignore[attr-defined]  # timestamp - timestamp


def unary(op: str, a: object) -> object:
    if (op, _RUNTIME_TYPES.get(type(a))) not in UNARY_OPERATIONS:
        raise OpFailure(f"unsupported operation: {op}{type_name(a)}")
    if type(a) is TimeInterval:
        return TimeInterval(-a.ticks)  # type: ignore[attr-defined]
    if op == "-":
        return -a  # type: ignore[operator]
    return 1.0 if a == 0.0 else 0.0


def truth(value: object, what: str = "condition") -> bool:
    """A double used as a condition (ternary, ``&&``, ``||``, ``!``): true when nonzero."""
    if type(value) is float:
        return value != 0.0
    raise OpFailure(f"{what} must be a double, got {type_name(value)}")


def member(value: object, name: str) -> float:
    if type(value) is Timestamp:
        return value.member(name)  # type: ignore[attr-defined]
    raise OpFailure(f'".{name}" needs a timestamp, got {type_name(value)}')


# --------------------------------------------------------------------------------------- functions


def round_half_away(x: float, result: type = float):  # type: ignore[no-untyped-def]
    """C ``round``: halfway cases away from zero; keeps the sign of zero (``round(-0.4)`` is ``-0``)."""
    if not math.isfinite(x):  # C's round(±inf) is ±inf; math.floor would raise OverflowError
        if result is int:
            raise OpFailure(f"cannot round {format_number(x)} to a whole number")
        return x
    a = abs(x)
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f
    if result is int:
        return -int(r) if x < 0 else int(r)
    return math.copysign(float(r), x)


def whole_count(x: float) -> int:
    """A double used as a count or an index, truncated toward zero; ±inf saturates (to a value no list reaches)
    and NaN counts as 0, so an infinite argument is an empty or whole selection, never an OverflowError."""
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return 2**62 if x > 0 else -(2**62)
    return int(x)


def _ceil(x: float) -> float:
    if not math.isfinite(x):  # C's ceil(±inf) is ±inf
        return x
    return math.copysign(float(math.ceil(x)), x) if -1.0 < x <= 0.0 else float(math.ceil(x))


def _floor(x: float) -> float:
    if not math.isfinite(x):  # C's floor(±inf) is ±inf
        return x
    return math.copysign(0.0, x) if x == 0.0 else float(math.floor(x))


def flatten(name: str, args: list[object]) -> list[float]:
    """A doubleVecList: doubles and doubleVecs concatenated in argument order (reference §3.2)."""
    out: list[float] = []
    for a in args:
        t = type(a)
        if t is float:
            out.append(a)  # type: ignore[arg-type]
        elif t is list:
            out.extend(a)  # type: ignore[arg-type]
        else:
            raise OpFailure(f'"{name}" expects doubles or doubleVecs, got {type_name(a)}')
    return out


def _total(values: list[float]) -> float:
    # Plain left-to-right accumulation, as a C++ loop does (Python 3.12's sum() compensates, so avoid it).
    total = 0.0
    for v in values:
        total += v
    return total


def _nonempty(name: str, values: list[float]) -> list[float]:
    if not values:
        raise OpFailure(f'"{name}" of an empty list')
    return values


def _log(name: str, fn, x: float) -> float:  # type: ignore[no-untyped-def]
    if x <= 0.0:
        raise OpFailure(f'"{name}" needs values greater than 0, got {format_number(x)}')
    return fn(x)


_LOGS = {"lg": math.log2, "ln": math.log, "log": math.log10}
_ROUNDINGS = {"ceil": _ceil, "floor": _floor, "round": round_half_away}


def call_function(name: str, args: list[object], ctx: FunctionContext) -> object:
    """Run a built-in function (all but ``stop``, which the callers handle). Arity and overloads follow
    reference §3: a single double selects the scalar overload of lg/ln/log/ceil/floor/round."""
    if name in _LOGS or name in _ROUNDINGS:
        fn = _LOGS.get(name) or _ROUNDINGS[name]
        if len(args) == 1 and type(args[0]) is float:
            x = args[0]
            return _log(name, fn, x) if name in _LOGS else fn(x)  # type: ignore[arg-type]
        values = flatten(name, args)
        if name in _LOGS:
            return [_log(name, fn, x) for x in values]
        return [fn(x) for x in values]
    if name == "avg":
        values = _nonempty(name, flatten(name, args))
        return check_finite(_total(values) / len(values))
    if name == "max":
        return max(_nonempty(name, flatten(name, args)))
    if name == "min":
        return min(_nonempty(name, flatten(name, args)))
    if name == "range":
        values = _nonempty(name, flatten(name, args))
        return check_finite(max(values) - min(values))
    if name == "sum":
        return check_finite(_total(flatten(name, args)))
    if name == "len":
        return float(len(flatten(name, args)))
    if name == "norm":
        return check_finite(math.sqrt(_total([x * x for x in flatten(name, args)])))
    if name == "std":
        values = flatten(name, args)
        n = len(values)
        if n < 2:
            raise OpFailure(f'"std" needs at least 2 values, got {n}')
        mean = _total(values) / n
        return check_finite(math.sqrt(_total([(x - mean) * (x - mean) for x in values]) / (n - 1)))
    if name == "percentile":
        vec, p = _expect_vec_double(name, args)
        if not 0.0 <= p <= 100.0:
            raise OpFailure(f'"percentile" needs a percentage between 0 and 100, got {format_number(p)}')
        ordered = sorted(_nonempty(name, vec))
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))  # nearest rank (A31)
        return ordered[rank - 1]
    if name == "val":
        vec, i = _expect_vec_double(name, args)
        index = whole_count(i)  # truncated toward zero
        if ctx.strict_index:  # the strict mode of A32
            if index != i:
                raise OpFailure(f'"val" needs a whole-number index, got {format_number(i)}')
            if not 0 <= index < len(vec):
                raise OpFailure(
                    f'"val" index {format_number(i)} is outside the doubleVec, which has {len(vec)} '
                    f"value{'' if len(vec) == 1 else 's'}"
                )
        return vec[index] if 0 <= index < len(vec) else 0.0  # out of range gives 0 (A32)
    if name == "rand":
        return ctx.rand()
    if name == "time":
        if not args:
            return ctx.now
        text = args[0]
        if type(text) is not str:
            raise OpFailure(f'"time" expects a string, got {type_name(text)}')
        from batchspec.sim.timeparse import parse_time

        if text.strip() == "":  # time(string dateTime="") : the empty string is the default, "now"
            return ctx.now
        ticks = parse_time(text)
        if ticks is None:
            raise OpFailure(
                f'invalid time string "{text}"; expected RFC 1123 ("Mon, 06 Oct 2014 10:20:00 GMT") '
                'or W3C/ISO 8601 ("2014-10-06T10:20:00Z")'
            )
        return Timestamp(ticks)
    raise OpFailure(f'unknown function "{name}"')


def _expect_vec_double(name: str, args: list[object]) -> tuple[list[float], float]:
    if len(args) != 2 or type(args[0]) is not list or type(args[1]) is not float:
        got = ", ".join(type_name(a) for a in args)
        raise OpFailure(f'"{name}" expects (doubleVec, double), got ({got})')
    return args[0], args[1]  # type: ignore[return-value]


class FunctionContext:
    """What functions read from the evaluation: the instant, the seeded random generator, the val() mode."""

    __slots__ = ("_rng", "now", "seed", "strict_index")

    def __init__(self, now: Timestamp, seed: int | None, strict_index: bool = False) -> None:
        self.now = now
        self.seed = seed
        self.strict_index = strict_index
        self._rng = None

    def rand(self) -> float:
        if self._rng is None:
            import random

            self._rng = random.Random(self.seed)  # type: ignore[assignment]
        return self._rng.random()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------- sample data


def sample_percent(available: int, expected: int) -> float:
    """Percentage of the expected samples that are available, on the 0-100 scale (reference §4.1)."""
    if expected <= 0:
        return 0.0 if available == 0 else 100.0
    return min(100.0, available * 100.0 / expected)


def insufficient(metric: str, wanted: float, received: float) -> OpFailure:
    return OpFailure(
        f"Insufficient data from data set: {metric} wanted {format_number(wanted)}%, "
        f"received {format_number(received)}%",
        INSUFFICIENT_SAMPLE_DATA,
    )
