"""Concrete witness search: run a formula on many small, seeded, made-up pool states.

The range analysis is not relational: after ``remaining = req - d; d = d + min(p, remaining)`` it cannot see
that ``d`` stays at or above ``min(d + p, req)``. Before a rule reports something the intervals only *allow*
(a negative target), it asks this module for a concrete pool state that *shows* it, and stays silent without one.

The model is deliberately small: every metric holds one value repeated, a sample percentage is shared by the
metrics sampled together, node counts and targets are small integers, and a time-window ``GetSample`` fails (the
run is discarded) below its required percentage, as on the service. It is not the evaluator (``batchspec.sim``):
lint may not import it, and a witness only needs to be plausible, not exact.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.analysis import metric_group

_VALUES = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 16.0, 30.0, 100.0, 1000.0)
_COUNTS = (0, 1, 2, 3, 4, 8, 16, 50)
_PERCENTS = (0.0, 30.0, 60.0, 70.0, 90.0, 100.0, 100.0, 100.0)
_SLOTS = (1, 2, 4, 8)
_EPOCH_2024 = 1704067200.0


class _Abort(Exception):
    """The run fails (insufficient samples, division by zero, …): no witness from it."""


class _Stop(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Dur:
    seconds: float


@dataclass(frozen=True, slots=True)
class Time:
    epoch: float


@dataclass
class World:
    metrics: dict[str, float]
    percents: dict[str, float]
    state: dict[str, float]
    now: float
    created: float
    env: dict[str, object] = field(default_factory=dict)


_SAMPLED = tuple(sorted(name for name, v in b.SERVICE_VARIABLES.items() if v.sampled and v.alias_of is None))
_GROUPS = tuple(sorted({metric_group(name) for name in _SAMPLED}))


def _random_world(rng: random.Random) -> World:
    pick = rng.choice
    metrics = {name: pick(_VALUES) for name in _SAMPLED}
    metrics["$CPUPercent"] = pick((0.0, 10.0, 50.0, 70.0, 90.0, 100.0))
    percents = {group: pick(_PERCENTS) for group in _GROUPS}
    state = {
        "$TargetDedicatedNodes": float(rng.choice(_COUNTS)),
        "$TargetLowPriorityNodes": float(rng.choice(_COUNTS)),
        "$CurrentDedicatedNodes": float(rng.choice(_COUNTS)),
        "$CurrentLowPriorityNodes": float(rng.choice(_COUNTS)),
        "$UsableNodeCount": float(rng.choice(_COUNTS)),
        "$TaskSlotsPerNode": float(rng.choice(_SLOTS)),
    }
    now = _EPOCH_2024 + rng.randrange(0, 365 * 86400)
    created = now - rng.choice((0, 60, 300, 900, 3600, 86400))
    return World(metrics, percents, state, now, created)


def find_negative_target(formula: ast.Formula, target: str, trials: int = 120, seed: int = 0) -> float | None:
    """A negative final value of ``target`` (canonical name) reached in some made-up state, or None."""
    rng = random.Random(seed)
    for _ in range(trials):
        world = _random_world(rng)
        try:
            final = _run(formula, world)
        except _Abort:
            continue
        value = final.get(target)
        if isinstance(value, float) and value < 0:
            return value
    return None


def _run(formula: ast.Formula, w: World) -> dict[str, object]:
    assigned: dict[str, object] = {}
    alias_assigned: dict[str, object] = {}
    try:
        for st in formula.statements:
            if isinstance(st, ast.Assignment):
                value = _eval(st.value, w)
                name = st.target.name
                info = b.SERVICE_VARIABLES.get(name)
                if info is not None:
                    if info.alias_of is not None:
                        alias_assigned[info.canonical] = value
                    else:
                        assigned[info.canonical] = value
                    w.state[info.canonical] = value  # type: ignore[assignment]
                else:
                    w.env[name] = value
            else:
                _eval(st.expr, w)
    except _Stop:
        pass
    return {**alias_assigned, **assigned}


def _num(v: object) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, float):
        return v
    if isinstance(v, int):
        return float(v)
    raise _Abort


def _flat(args: list[object]) -> list[float]:
    out: list[float] = []
    for a in args:
        if isinstance(a, list):
            out.extend(a)
        else:
            out.append(_num(a))
    return out


def _eval(e: ast.Expr, w: World) -> object:
    if isinstance(e, ast.Number):
        return float(e.value)
    if isinstance(e, ast.Paren):
        return _eval(e.expr, w)
    if isinstance(e, ast.String):
        return e.value
    if isinstance(e, ast.Var):
        name = e.name
        info = b.SERVICE_VARIABLES.get(name)
        if info is not None:
            if info.canonical in w.state:
                return w.state[info.canonical]
            raise _Abort
        if name in b.TIME_INTERVALS:
            return Dur(b.TIME_INTERVALS[name])
        if name in b.DEALLOCATION_OPTIONS:
            return name
        if name in w.env:
            return w.env[name]
        raise _Abort
    if isinstance(e, ast.Unary):
        v = _eval(e.operand, w)
        if e.op == "!":
            return 1.0 if _num(v) == 0 else 0.0
        if isinstance(v, Dur):
            return Dur(-v.seconds)
        if isinstance(v, list):
            raise _Abort
        return -_num(v)
    if isinstance(e, ast.Binary):
        op = e.op
        if op in ("&&", "||"):
            left = _num(_eval(e.left, w)) != 0
            if op == "&&" and not left:
                return 0.0
            if op == "||" and left:
                return 1.0
            return 1.0 if _num(_eval(e.right, w)) != 0 else 0.0
        left_v = _eval(e.left, w)
        right_v = _eval(e.right, w)
        return _binary(op, left_v, right_v)
    if isinstance(e, ast.Ternary):
        return _eval(e.if_true if _num(_eval(e.condition, w)) != 0 else e.if_false, w)
    if isinstance(e, ast.Call):
        return _call(e, w)
    if isinstance(e, ast.Member):
        t = _eval(e.receiver, w)
        if not isinstance(t, Time):
            raise _Abort
        d = dt.datetime.fromtimestamp(t.epoch, tz=dt.timezone.utc)
        fields = {
            "year": d.year,
            "month": d.month,
            "day": d.day,
            "weekday": d.isoweekday(),
            "hour": d.hour,
            "minute": d.minute,
            "second": d.second,
        }
        if e.name not in fields:
            raise _Abort
        return float(fields[e.name])
    if isinstance(e, ast.MethodCall):
        return _method(e, w)
    raise _Abort


def _binary(op: str, a: object, c: object) -> object:
    if op in ("<", "<=", ">", ">=", "==", "!="):
        if isinstance(a, Dur) and isinstance(c, Dur):
            x, y = a.seconds, c.seconds
        elif isinstance(a, Time) and isinstance(c, Time):
            x, y = a.epoch, c.epoch
        else:
            x, y = _num(a), _num(c)
        return (
            1.0
            if {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op]
            else 0.0
        )
    if isinstance(a, Time) and isinstance(c, Dur) and op in "+-":
        return Time(a.epoch + c.seconds if op == "+" else a.epoch - c.seconds)
    if isinstance(a, Dur) and isinstance(c, Time) and op == "+":
        return Time(c.epoch + a.seconds)
    if isinstance(a, Time) and isinstance(c, Time) and op == "-":
        return Dur(a.epoch - c.epoch)
    if isinstance(a, Dur) and isinstance(c, Dur) and op in "+-":
        return Dur(a.seconds + c.seconds if op == "+" else a.seconds - c.seconds)
    if isinstance(a, Dur) and not isinstance(c, (Dur, Time, list)) and op in "*/":
        k = _num(c)
        if op == "/" and k == 0:
            raise _Abort
        return Dur(a.seconds * k if op == "*" else a.seconds / k)
    if isinstance(c, Dur) and not isinstance(a, (Dur, Time, list)) and op == "*":
        return Dur(_num(a) * c.seconds)
    if isinstance(a, list) or isinstance(c, list):
        xs = a if isinstance(a, list) else None
        ys = c if isinstance(c, list) else None
        if xs is not None and ys is not None:
            if len(xs) != len(ys):
                raise _Abort
            return [_arith(op, x, y) for x, y in zip(xs, ys, strict=True)]
        if xs is not None:
            k = _num(c)
            return [_arith(op, x, k) for x in xs]
        raise _Abort
    return _arith(op, _num(a), _num(c))


def _arith(op: str, x: float, y: float) -> float:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        raise _Abort
    return x / y


def _call(e: ast.Call, w: World) -> object:
    name = e.name
    if name == "stop":
        raise _Stop
    if name == "time":
        if not e.args:
            return Time(w.now)
        return Time(w.created)  # a literal time is taken as the pool's creation time
    if name == "rand":
        return 0.5
    args = [_eval(a, w) for a in e.args]
    if name in ("val", "percentile"):
        if len(args) != 2 or not isinstance(args[0], list):
            raise _Abort
        vec, k = args[0], _num(args[1])
        if name == "val":
            i = int(k)
            return vec[i] if 0 <= i < len(vec) else 0.0
        if not vec:
            raise _Abort
        ordered = sorted(vec)
        rank = max(0, min(len(ordered) - 1, math.ceil(k / 100 * len(ordered)) - 1))
        return ordered[rank]
    flat = _flat(args)
    if name in ("ceil", "floor", "round", "lg", "ln", "log"):
        fn = {
            "ceil": math.ceil,
            "floor": math.floor,
            "round": lambda x: math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5),
            "lg": math.log2,
            "ln": math.log,
            "log": math.log10,
        }[name]
        if name in ("lg", "ln", "log") and any(x <= 0 for x in flat):
            raise _Abort
        out = [float(fn(x)) for x in flat]
        if len(args) == 1 and not isinstance(args[0], list):
            return out[0]
        return out
    if name == "len":
        return float(len(flat))
    if name == "sum":
        return float(sum(flat))
    if name == "norm":
        return math.sqrt(sum(x * x for x in flat))
    if not flat:
        raise _Abort
    if name == "avg":
        return sum(flat) / len(flat)
    if name == "min":
        return min(flat)
    if name == "max":
        return max(flat)
    if name == "range":
        return max(flat) - min(flat)
    if name == "std":
        if len(flat) < 2:
            raise _Abort
        mean = sum(flat) / len(flat)
        return math.sqrt(sum((x - mean) ** 2 for x in flat) / (len(flat) - 1))
    raise _Abort


def _method(e: ast.MethodCall, w: World) -> object:
    receiver = e.receiver
    if not isinstance(receiver, ast.Var) or receiver.name not in b.SERVICE_VARIABLES:
        raise _Abort
    canonical = b.SERVICE_VARIABLES[receiver.name].canonical
    args = [_eval(a, w) for a in e.args]
    percent = w.percents.get(metric_group(canonical), 100.0)
    value = w.metrics.get(canonical, w.state.get(canonical, 0.0))
    if e.method == "GetSamplePercent":
        return percent
    if e.method == "Count":
        return 0.0 if percent == 0 else 10.0
    if e.method != "GetSample":
        raise _Abort
    if len(args) == 1 and not isinstance(args[0], (Dur, Time)):
        return [float(value)] if percent > 0 else []
    required = 70.0
    if len(args) >= 2 and not isinstance(args[1], (Dur, Time)):
        required = _num(args[1])
    if len(args) == 3:
        required = _num(args[2])
    if percent < required:
        raise _Abort  # InsufficientSampleData: the run fails, no witness
    return [float(value)] * 3 if percent > 0 else []
