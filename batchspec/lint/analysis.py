"""One abstract interpretation of a formula, shared by every formula rule.

The formula runs top to bottom once per evaluation, so a single forward pass over the statements suffices. Each
expression gets an abstract value ``V``: its kind (double, doubleVec, time interval, timestamp…), an interval of
possible values (for a doubleVec: of its elements; for a time interval: seconds) and a few facts the rules need:

* where the value may have become fractional (a division), whether it is a 0–100 percentage, which metric's
  ``GetSamplePercent`` it is, whether it is the pool's age (``time() - time("…")``), whether it depends on a
  constant the author chose (a "knob": ``maxNodes = 25``), and what makes it unbounded.

Inputs: task metrics are ``[0, ∞)``; ``$CPUPercent`` and ``GetSamplePercent`` are ``[0, 100]``; ``$TaskSlotsPerNode``
is ``[1, 256]``; the pool's own size (current node counts, and the targets read before they are assigned) is
``[0, C]`` for a large C. A target whose final upper bound exceeds C can outgrow any size: it is unbounded even
when no input is (``$TargetDedicatedNodes = $CurrentDedicatedNodes + 1``). ``max(0, $TargetDedicatedNodes / 2)``
stays below C, so halving the current target is bounded.

Paths: the ternary and ``&&``/``||`` are lazy (reference §4.4, A34), so every expression is evaluated with the set
of facts that hold on the path reaching it (``GetSamplePercent(M) >= 70``, ``pool age >= 10 min``). Conditions also
narrow the intervals of variables inside their branches (``x > 20 ? 20 : x`` is at most 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Span
from batchspec.formula import ast
from batchspec.formula import builtins as b

INF = math.inf
# the "any pool size" bound used for the pool's own node counts; see the module docstring
POOL_SIZE = 1e9

TASK_METRICS = frozenset(
    {"$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks", "$FailedTasks"}
)
# metrics that report a percentage (0–100)
PERCENT_METRICS = frozenset({"$CPUPercent"})
# the pool's own size: reads are [0, POOL_SIZE] ("state")
STATE_VARIABLES = frozenset(
    {
        "$TargetDedicatedNodes",
        "$TargetLowPriorityNodes",
        "$CurrentDedicatedNodes",
        "$CurrentLowPriorityNodes",
        "$UsableNodeCount",
    }
)
TIMESTAMP_DOMAINS: dict[str, frozenset[int]] = {
    "weekday": frozenset(range(1, 8)),
    "hour": frozenset(range(0, 24)),
    "minute": frozenset(range(0, 60)),
    "second": frozenset(range(0, 60)),
    "month": frozenset(range(1, 13)),
    "day": frozenset(range(1, 32)),
}
TIMESTAMP_RANGE_TEXT: dict[str, str] = {
    "weekday": "1 (Monday) to 7 (Sunday)",
    "hour": "0 to 23",
    "minute": "0 to 59",
    "second": "0 to 59",
    "month": "1 to 12",
    "day": "1 to 31",
}

NUM, VEC, DUR, TIME, STR, OPT, NONE, ANY = "num", "vec", "dur", "time", "str", "opt", "none", "any"
_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
# functions that fail on an empty list (reference A30: batchspec's evaluator raises; the service is undocumented)
_NEEDS_ELEMENTS = frozenset(("avg", "min", "max", "range", "std", "percentile"))
_BOOLEAN_OPS = frozenset(("<", "<=", ">", ">=", "==", "!=", "&&", "||"))


def metric_group(name: str) -> str:
    """Metrics sampled together: a guard on one task metric shows that task samples exist for all of them."""
    canonical = b.SERVICE_VARIABLES[name].canonical if name in b.SERVICE_VARIABLES else name
    return "tasks" if canonical in TASK_METRICS else canonical


# ---------------------------------------------------------------------------------------------------------------
# facts that hold on a path


@dataclass(frozen=True, slots=True)
class PercentFact:
    group: str  # metric_group of the metric whose GetSamplePercent was tested
    metric: str
    threshold: float  # GetSamplePercent(...) >= threshold on this path
    span: Span  # the guard condition
    window: tuple[float, float] | None = None  # the (near, far) look-back the guard measured, when known


@dataclass(frozen=True, slots=True)
class AgeFact:
    seconds: float  # the pool is at least this old on this path
    span: Span


Fact = PercentFact | AgeFact
Facts = tuple[Fact, ...]


# ---------------------------------------------------------------------------------------------------------------
# abstract values


class V:
    __slots__ = (
        "age",
        "cond",
        "frac",
        "hi",
        "integral",
        "kind",
        "knob",
        "known",
        "lit",
        "lo",
        "may_empty",
        "pct_of",
        "pct_scale",
        "pct_window",
        "percent",
        "src",
        "state",
    )

    def __init__(
        self,
        kind: str = ANY,
        lo: float = -INF,
        hi: float = INF,
        *,
        known: bool = False,
        lit: bool = False,
        knob: bool = False,
        percent: bool = False,
        pct_of: str | None = None,
        frac: Span | None = None,
        age: bool = False,
        state: bool = False,
        src: str | None = None,
        cond: tuple[Facts, Facts] | None = None,
        integral: bool = False,
        pct_scale: float = 1.0,
        pct_window: tuple[float, float] | None = None,
        may_empty: bool = False,
    ) -> None:
        self.may_empty = may_empty  # a doubleVec that can have no element (GetSample(count) on a new pool)
        self.pct_window = pct_window  # the (near, far) look-back of that GetSamplePercent, when known
        self.pct_scale = pct_scale  # the value is pct_scale × GetSamplePercent(pct_of)
        self.kind = kind
        self.lo = lo
        self.hi = hi
        self.known = known
        self.lit = lit  # computed from literals only
        self.knob = knob  # depends on a variable that holds an author-chosen constant
        self.percent = percent
        self.pct_of = pct_of
        self.frac = frac
        self.age = age
        self.state = state  # derived from the pool's own size only (current nodes / targets)
        self.src = src  # the input that makes hi infinite
        self.cond = cond  # (facts when nonzero, facts when zero) for values that are conditions
        self.integral = integral

    @property
    def const(self) -> float | None:
        return self.lo if self.known and self.lo == self.hi else None

    @property
    def is_number(self) -> bool:
        return self.kind in (NUM, VEC)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"V({self.kind}, [{self.lo}, {self.hi}], known={self.known}, knob={self.knob}, lit={self.lit})"


UNKNOWN = V()


def join(a: V, b_: V) -> V:
    if a.kind == b_.kind:
        kind = a.kind
    elif {a.kind, b_.kind} <= {NUM, VEC}:
        kind = VEC
    else:
        kind = ANY
    known = a.known and b_.known
    return V(
        kind,
        min(a.lo, b_.lo) if known else -INF,
        max(a.hi, b_.hi) if known else INF,
        known=known,
        lit=a.lit and b_.lit,
        knob=a.knob or b_.knob,
        percent=(a.percent or a.lit) and (b_.percent or b_.lit) and (a.percent or b_.percent),
        pct_of=a.pct_of if a.pct_of == b_.pct_of else None,
        pct_window=a.pct_window if a.pct_window == b_.pct_window else None,
        may_empty=a.may_empty or b_.may_empty,
        frac=a.frac or b_.frac,
        age=a.age and b_.age,
        state=a.state and b_.state,
        src=a.src or b_.src,
        integral=a.integral and b_.integral,
    )


def _mul(x: float, y: float) -> float:
    if x == 0 or y == 0:
        return 0.0
    return x * y


def _div(x: float, y: float) -> float:
    if x == 0:
        return 0.0
    return x / y


# ---------------------------------------------------------------------------------------------------------------
# what the rules read


@dataclass(slots=True)
class SampleUse:
    """One sample method call on a metric."""

    node: ast.MethodCall
    metric: str  # as written
    canonical: str
    method: str
    count: float | None = None  # GetSample(count)
    window: tuple[float, float] | None = None  # (near, far) look-back in seconds, when known
    is_window: bool = False  # a time-window call (even when its bounds are not known)
    percent: float | None = None  # explicit samplePercent argument, when known
    percent_node: ast.Expr | None = None
    percent_unknown: bool = False  # a samplePercent argument whose value is not known
    facts: Facts = ()


@dataclass(slots=True)
class Comparison:
    node: ast.Binary
    left: V
    right: V
    in_condition: bool


@dataclass(slots=True)
class Division:
    node: ast.Binary
    left: V
    right: V


@dataclass(slots=True)
class TargetAssignment:
    statement: ast.Assignment
    canonical: str
    value: V


@dataclass(slots=True)
class Analysis:
    formula: ast.Formula
    samples: list[SampleUse] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    # maximal boolean expressions and ternary conditions, with the env they were evaluated in
    conditions: list[tuple[ast.Expr, bool]] = field(default_factory=list)  # (expr, is_ternary_condition)
    divisions: list[Division] = field(default_factory=list)
    targets: list[TargetAssignment] = field(default_factory=list)
    time_strings: list[ast.String] = field(default_factory=list)
    calls: list[tuple[ast.Call, tuple[V, ...]]] = field(default_factory=list)
    values: dict[int, V] = field(default_factory=dict)  # id(node) -> value, for condition-like nodes
    var_reads: dict[str, list[ast.Var]] = field(default_factory=dict)
    var_writes: dict[str, list[ast.Assignment]] = field(default_factory=dict)
    all_vars: list[ast.Var] = field(default_factory=list)  # every variable read (method receivers included)
    ternaries: list[ast.Ternary] = field(default_factory=list)
    empty_aggregates: list[ast.Call] = field(
        default_factory=list
    )  # avg/min/max/… of samples that can be empty
    # comparisons and &&/||/! expressions that are not an operand of &&/||/! (the conditions as written)
    bool_roots: list[ast.Expr] = field(default_factory=list)

    def value_of(self, node: ast.Expr) -> V:
        return self.values.get(id(node), UNKNOWN)

    def final_targets(self) -> dict[str, TargetAssignment]:
        """The assignment whose value each target ends with: the last one, and the full name wins over an alias."""
        out: dict[str, TargetAssignment] = {}
        for t in self.targets:
            name = t.statement.target.name
            previous = out.get(t.canonical)
            if previous is not None and name != t.canonical and previous.statement.target.name == t.canonical:
                continue  # an alias never overrides the full name (reference §5.1)
            out[t.canonical] = t
        return out


# ---------------------------------------------------------------------------------------------------------------
# the interpreter


class _Interpreter:
    def __init__(self, formula: ast.Formula) -> None:
        self.a = Analysis(formula)
        self.env: dict[str, V] = {}
        self.assigned_targets: set[str] = set()
        self._parent_logic = False  # set just before evaluating an operand of &&, || or !
        self._dispatch = {
            ast.Binary: self.binary,
            ast.Ternary: self.ternary,
            ast.Call: self.call,
            ast.MethodCall: self.method,
            ast.Unary: self.unary,
            ast.Member: self.member,
        }

    # -- statements
    def run(self) -> Analysis:
        for statement in self.a.formula.statements:
            if isinstance(statement, ast.Assignment):
                self.assign(statement)
            else:
                self.eval(statement.expr, ())
        return self.a

    def assign(self, st: ast.Assignment) -> None:
        value = self.eval(st.value, ())
        name = st.target.name
        self.a.var_writes.setdefault(name, []).append(st)
        info = b.SERVICE_VARIABLES.get(name)
        if info is not None:
            canonical = info.canonical
            if canonical in b.TARGET_VARIABLES:
                self.a.targets.append(TargetAssignment(st, canonical, value))
                self.assigned_targets.add(canonical)
                # a later read sees the assigned value (reference §5.1)
                self.env[canonical] = value
            return
        stored = _copy(value)
        if value.lit:
            stored.knob = True
            stored.lit = False
        self.env[name] = stored

    # -- expressions
    def eval(self, e: ast.Expr, facts: Facts) -> V:
        t = type(e)
        if t is ast.Number:
            self._parent_logic = False
            v = float(e.value)  # type: ignore[union-attr]
            return V(NUM, v, v, known=True, lit=True, integral=v.is_integer())
        if t is ast.Var:
            self._parent_logic = False
            return self.var(e, facts)  # type: ignore[arg-type]
        if t is ast.Paren:  # keeps the parent flag: "(a) && b"
            v = self.eval(e.expr, facts)  # type: ignore[union-attr]
            self._remember(e, v)
            return v
        handler = self._dispatch.get(t)
        if handler is None:
            self._parent_logic = False
            if t is ast.String:
                return V(STR)
            return UNKNOWN
        return handler(e, facts)

    def member(self, e: ast.Member, facts: Facts) -> V:
        self._parent_logic = False
        self.eval(e.receiver, facts)
        dom = TIMESTAMP_DOMAINS.get(e.name)
        if dom is not None:
            return V(NUM, min(dom), max(dom), known=True, integral=True)
        return V(NUM, -INF, INF, known=True, integral=True) if e.name == "year" else UNKNOWN

    def _remember(self, e: ast.Expr, v: V) -> None:
        self.a.values[id(e)] = v

    def var(self, e: ast.Var, facts: Facts) -> V:
        name = e.name
        self.a.all_vars.append(e)
        info = b.SERVICE_VARIABLES.get(name)
        if info is not None:
            canonical = info.canonical
            if canonical in self.env:
                return self.env[canonical]
            default = _service_default(canonical)
            if default is not None:
                return default
            if info.sampled:
                return V(ANY)  # a metric used as a number: the type checker reports it
            return UNKNOWN
        if name in b.TIME_INTERVALS:
            s = b.TIME_INTERVALS[name]
            return V(DUR, s, s, known=True, lit=True)
        if name in b.DEALLOCATION_OPTIONS:
            return V(OPT)
        self.a.var_reads.setdefault(name, []).append(e)
        found = self.env.get(name)
        return found if found is not None else UNKNOWN

    def unary(self, e: ast.Unary, facts: Facts) -> V:
        if e.op == "!" and not self._parent_logic:
            self.a.bool_roots.append(e)
        self._parent_logic = e.op == "!"
        v = self.eval(e.operand, facts)
        if e.op == "!":
            if v.known and v.kind == NUM:
                if v.lo > 0 or v.hi < 0:
                    out = V(NUM, 0, 0, known=True, lit=v.lit, knob=v.knob)
                elif v.lo == v.hi == 0:
                    out = V(NUM, 1, 1, known=True, lit=v.lit, knob=v.knob)
                else:
                    out = V(NUM, 0, 1, known=True, lit=v.lit, knob=v.knob)
            else:
                out = V(NUM, 0, 1, known=True, knob=v.knob)
            if v.cond is not None:
                out.cond = (v.cond[1], v.cond[0])
            self._remember(e, out)
            return out
        out = _copy(v)
        out.lo, out.hi = -v.hi, -v.lo
        out.src = v.src if v.lo == -INF else None
        out.percent = False
        out.pct_of = None
        out.state = False
        out.age = False
        out.cond = None
        return out

    def binary(self, e: ast.Binary, facts: Facts) -> V:
        op = e.op
        if op in _BOOLEAN_OPS and not self._parent_logic:
            self.a.bool_roots.append(e)
        self._parent_logic = False
        if op == "&&" or op == "||":
            self._parent_logic = True
            left = self.eval(e.left, facts)
            lt, lf = _cond_facts(left)
            # the right operand runs only when the left is true (&&) or false (||): A34
            self._parent_logic = True
            right = self.eval(e.right, facts + (lt if op == "&&" else lf))
            rt, rf = _cond_facts(right)
            out = V(NUM, 0, 1, known=True, lit=left.lit and right.lit, knob=left.knob or right.knob)
            lv, rv = _truth_value(left), _truth_value(right)
            if op == "&&":
                decided = False if (lv is False or rv is False) else True if (lv and rv) else None
            else:
                decided = (
                    True if (lv is True or rv is True) else False if (lv is False and rv is False) else None
                )
            if decided is not None:
                out.lo = out.hi = 1.0 if decided else 0.0
            out.cond = (lt + rt, ()) if op == "&&" else ((), lf + rf)
            self._remember(e, out)
            return out
        left = self.eval(e.left, facts)
        right = self.eval(e.right, facts)
        if op in _COMPARISONS:
            out = V(NUM, 0, 1, known=True, lit=left.lit and right.lit, knob=left.knob or right.knob)
            decided = _decide(op, left, right)
            if decided is not None:
                out.lo = out.hi = 1.0 if decided else 0.0
            out.cond = _comparison_facts(e, op, left, right)
            self.a.comparisons.append(Comparison(e, left, right, False))
            self._remember(e, out)
            return out
        return self.arith(e, op, left, right)

    def arith(self, e: ast.Binary, op: str, left: V, right: V) -> V:
        lk, rk = left.kind, right.kind
        lit = left.lit and right.lit
        knob = left.knob or right.knob
        # kinds (reference §2.2)
        if lk in (NUM, VEC) and rk in (NUM, VEC):
            kind = VEC if VEC in (lk, rk) else NUM
        elif (
            (lk == DUR and rk == DUR and op in "+-")
            or (lk == DUR and rk == NUM and op in "*/")
            or (lk == NUM and rk == DUR and op == "*")
        ):
            kind = DUR
        elif (lk == TIME and rk == DUR and op in "+-") or (lk == DUR and rk == TIME and op == "+"):
            kind = TIME
        elif lk == TIME and rk == TIME and op == "-":
            out = V(DUR, knob=knob)
            # time() - time("…"): the pool's age when the string is its creation time (Nextflow, TES, docs E9)
            if isinstance(ast.unparen(e.left), ast.Call) and isinstance(ast.unparen(e.right), ast.Call):
                lcall, rcall = ast.unparen(e.left), ast.unparen(e.right)
                if lcall.name == "time" and not lcall.args and rcall.name == "time" and rcall.args:  # type: ignore[union-attr]
                    out.age = True
            return out
        else:
            return V(ANY, knob=knob)
        if not (left.known and right.known):
            out = V(kind, knob=knob)
            if op == "/":
                self.a.divisions.append(Division(e, left, right))
            return out
        a, b_, c, d = left.lo, left.hi, right.lo, right.hi
        src = None
        frac = left.frac or right.frac
        integral = left.integral and right.integral
        state = False
        if op == "+":
            lo, hi = a + c, b_ + d
            src = left.src if b_ == INF else right.src if d == INF else None
            state = (left.state and right.lit) or (right.state and left.lit) or (left.state and right.state)
            nudge = right.const if left.frac else left.const if right.frac else None
            if nudge is not None and 0.5 <= nudge < 1:
                frac = None  # x / n + 0.99, truncated by the service: a deliberate round-up
        elif op == "-":
            lo, hi = a - d, b_ - c
            src = left.src if b_ == INF else right.src if c == -INF else None
            state = left.state and right.lit
        elif op == "*":
            products = (_mul(a, c), _mul(a, d), _mul(b_, c), _mul(b_, d))
            lo, hi = min(products), max(products)
            src = left.src if b_ == INF or a == -INF else right.src if d == INF or c == -INF else None
            factor = right.const if left.state else left.const if right.state else None
            if factor is not None and 0 <= factor <= 1:
                state = True  # shrinking the current size: truncation rounds down, as intended
            elif _is_ceiling_idiom(e, self):
                pass
            else:
                for side in (left, right):
                    k = side.const
                    if k is not None and not float(k).is_integer() and kind in (NUM, VEC):
                        frac = frac or e.span
                        integral = False
        else:  # "/"
            self.a.divisions.append(Division(e, left, right))
            if c <= 0 <= d:
                if a == b_ == 0:
                    lo = hi = 0.0
                else:
                    lo, hi = -INF, INF
                    src = left.src or right.src
            else:
                quotients = (_div(a, c), _div(a, d), _div(b_, c), _div(b_, d))
                lo, hi = min(quotients), max(quotients)
                src = left.src if b_ == INF or a == -INF else None
            divisor = right.const
            integral = False
            if kind in (NUM, VEC) and divisor != 1:
                if left.state and divisor is not None and divisor >= 1:
                    state = True  # halving the current target (docs E7): rounding down is the intent
                    integral = False
                elif not _is_ceiling_idiom(e, self):
                    frac = frac or e.span
        out = V(
            kind, lo, hi, known=True, lit=lit, knob=knob, frac=frac, src=src, state=state, integral=integral
        )
        if kind == VEC:
            out.may_empty = left.may_empty or right.may_empty
        if kind == DUR:
            out.frac = None
        # percentages of metrics sampled together are equal: p1 + p2 is 2 × p, and a guard on it divides by 2
        if (
            op == "+"
            and left.pct_of
            and right.pct_of
            and metric_group(left.pct_of) == metric_group(right.pct_of)
        ):
            out.pct_of, out.pct_scale, out.percent = left.pct_of, left.pct_scale + right.pct_scale, False
            out.pct_window = left.pct_window if left.pct_window == right.pct_window else None
        elif op in "*/" and (left.pct_of or right.pct_of):
            pv, k = (left, right.const) if left.pct_of else (right, left.const)
            if k is not None and k > 0 and not (op == "/" and pv is right):
                out.pct_of = pv.pct_of
                out.pct_window = pv.pct_window
                out.pct_scale = pv.pct_scale * k if op == "*" else pv.pct_scale / k
                out.percent = out.pct_scale == 1.0
        return out

    def ternary(self, e: ast.Ternary, facts: Facts) -> V:
        self._parent_logic = False
        self.a.ternaries.append(e)
        cond = self.eval(e.condition, facts)
        self.a.conditions.append((e.condition, True))
        self._remember(e.condition, cond)
        ct, cf = _cond_facts(cond)
        saved = self.env
        decided = None
        if cond.known and cond.kind == NUM:
            if cond.lo > 0 or cond.hi < 0:
                decided = True
            elif cond.lo == cond.hi == 0:
                decided = False
        if _may_narrow(e.condition):
            self.env = _narrow(saved, e.condition, True, self)
            t = self.eval(e.if_true, facts + ct if ct else facts)
            self.env = _narrow(saved, e.condition, False, self)
        else:
            t = self.eval(e.if_true, facts + ct if ct else facts)
        f = self.eval(e.if_false, facts + cf if cf else facts)
        self.env = saved
        if decided is True:
            return t
        if decided is False:
            return f
        return join(t, f)

    def call(self, e: ast.Call, facts: Facts) -> V:
        self._parent_logic = False
        args = tuple([self.eval(a, facts) for a in e.args])
        self.a.calls.append((e, args))
        name = e.name
        if name == "time":
            if len(e.args) == 1 and isinstance(e.args[0], ast.String):
                self.a.time_strings.append(e.args[0])
            return V(TIME)
        if name == "rand":
            return V(NUM, 0, 1, known=True)
        if name == "stop":
            return V(NONE)
        if not args:
            return V(NUM, 0, 0, known=True) if name in ("len", "sum", "norm") else UNKNOWN
        knob = False
        lit = known = all_pct_ok = all_state_ok = integral_all = True
        any_pct = any_state = False
        frac = src_inf = None
        los: list[float] = []
        his: list[float] = []
        for a in args:
            knob = knob or a.knob
            lit = lit and a.lit
            if not a.known or (a.kind != NUM and a.kind != VEC):
                known = False
            if a.percent:
                any_pct = True
            elif not (a.lit or a.knob):
                all_pct_ok = False
            if a.state:
                any_state = True
            elif not a.lit:
                all_state_ok = False
            integral_all = integral_all and a.integral
            if frac is None:
                frac = a.frac
            if src_inf is None and a.hi == INF and a.src:
                src_inf = a.src
            los.append(a.lo)
            his.append(a.hi)
        if name in _NEEDS_ELEMENTS:
            listed = args[:1] if name == "percentile" else args
            if all(a.kind == VEC and a.may_empty for a in listed):
                self.a.empty_aggregates.append(e)
        if not known:
            return V(NUM if name not in ("ceil", "floor", "round", "lg", "ln", "log") else ANY, knob=knob)
        pct = any_pct and all_pct_ok
        if name in ("min", "max", "avg", "percentile", "val"):
            if name == "min":
                lo, hi = min(los), min(his)
                src = None if hi < INF else src_inf
            elif name == "max":
                lo, hi = max(los), max(his)
                src = src_inf
            elif name in ("percentile", "val"):
                lo, hi = args[0].lo, args[0].hi
                if name == "val":
                    lo, hi = min(lo, 0.0), max(hi, 0.0)  # out of range gives 0 (A32)
                src = args[0].src
                pct = args[0].percent
            else:
                lo, hi = min(los), max(his)
                src = src_inf
            state = all_state_ok and any_state
            integral = integral_all and name != "avg"
            return V(
                NUM,
                lo,
                hi,
                known=True,
                lit=lit,
                knob=knob,
                percent=pct,
                frac=frac,
                src=src,
                state=state,
                integral=integral,
            )
        if name in ("ceil", "floor", "round"):
            kind = NUM if len(args) == 1 and args[0].kind == NUM else VEC
            fn = math.floor if name == "floor" else math.ceil if name == "ceil" else _round_away
            lo = fn(los[0]) if len(args) == 1 and math.isfinite(los[0]) else min(los)
            hi = fn(his[0]) if len(args) == 1 and math.isfinite(his[0]) else max(his)
            return V(
                kind,
                lo,
                hi,
                known=True,
                lit=lit,
                knob=knob,
                percent=pct,
                src=args[0].src,
                integral=True,
                state=args[0].state,
            )
        if name in ("lg", "ln", "log"):
            kind = NUM if len(args) == 1 and args[0].kind == NUM else VEC
            fn = math.log2 if name == "lg" else math.log if name == "ln" else math.log10
            lo = fn(min(los)) if min(los) > 0 else -INF
            hi = (
                fn(max(his))
                if max(his) > 0 and math.isfinite(max(his))
                else (INF if max(his) == INF else -INF)
            )
            return V(kind, lo, hi, known=True, lit=lit, knob=knob)
        if name == "len":
            if all(a.kind == NUM for a in args):
                return V(NUM, len(args), len(args), known=True, lit=lit, knob=knob, integral=True)
            return V(NUM, 0, INF, known=True, knob=knob, integral=True)
        if name == "sum":
            if all(a.kind == NUM for a in args):
                return V(
                    NUM,
                    sum(los),
                    sum(his),
                    known=True,
                    lit=lit,
                    knob=knob,
                    src=next((a.src for a in args if a.hi == INF), None),
                )
            lo = -INF if min(los) < 0 else 0.0
            hi = INF if max(his) > 0 else 0.0
            return V(NUM, lo, hi, known=True, knob=knob, src=next((a.src for a in args if a.src), None))
        if name == "range":
            return V(NUM, 0, max(his) - min(los), known=True, knob=knob)
        if name in ("std", "norm"):
            return V(NUM, 0, INF, known=True, knob=knob, src=next((a.src for a in args if a.src), None))
        return UNKNOWN

    def method(self, e: ast.MethodCall, facts: Facts) -> V:
        self._parent_logic = False
        args = tuple([self.eval(a, facts) for a in e.args])
        receiver = e.receiver
        metric = receiver.name if isinstance(receiver, ast.Var) else None
        if metric is None or metric not in b.SERVICE_VARIABLES:
            if isinstance(receiver, ast.Var):
                self.a.all_vars.append(receiver)  # read too: $pendingtasks.GetSample(1) is a case typo (FM211)
            else:
                self.eval(receiver, facts)
            return UNKNOWN
        self.a.all_vars.append(receiver)  # type: ignore[arg-type]
        canonical = b.SERVICE_VARIABLES[metric].canonical
        use = SampleUse(e, metric, canonical, e.method, facts=facts)
        method = e.method
        if method in ("GetSample", "GetSamplePercent"):
            _classify_sample_args(use, e.args, args)
            self.a.samples.append(use)
        elif method == "Count":
            self.a.samples.append(use)
            # "$M.Count() ? … : …": in the true branch the metric has samples (ga4gh-tes uses it that way)
            has_samples = (PercentFact(metric_group(metric), metric, 1e-9, e.span),)
            return V(NUM, 0, INF, known=True, src=f"{metric}.Count()", integral=True, cond=(has_samples, ()))
        else:
            self.a.samples.append(use)
            return (
                V(DUR)
                if method == "GetSamplePeriod"
                else V(TIME)
                if method == "HistoryBeginTime"
                else UNKNOWN
            )
        if method == "GetSamplePercent":
            return V(NUM, 0, 100, known=True, percent=True, pct_of=metric, pct_window=use.window)
        empty = _may_be_empty(use, facts)
        percent = canonical in PERCENT_METRICS
        if percent:
            return V(VEC, 0, 100, known=True, percent=True, may_empty=empty)
        if canonical in STATE_VARIABLES:
            return V(VEC, 0, POOL_SIZE, known=True, state=True, integral=True, may_empty=empty)
        return V(VEC, 0, INF, known=True, src=metric, integral=canonical in TASK_METRICS, may_empty=empty)


def _may_be_empty(use: SampleUse, facts: Facts) -> bool:
    """Whether a GetSample result can have no element: a count read, or a window read that requires 0%, with no
    condition on the path showing that the metric has samples (a new pool has none: reference A32, §4.1)."""
    if use.count is not None or (use.is_window and use.percent is not None and use.percent <= 0):
        pass
    else:
        return False  # a window read that requires samples fails instead (getsample-unguarded)
    group = metric_group(use.metric)
    return not any(isinstance(f, PercentFact) and f.group == group and f.threshold > 0 for f in facts)


def _truth_value(v: V) -> bool | None:
    if not v.known or v.kind != NUM:
        return None
    if v.lo > 0 or v.hi < 0:
        return True
    if v.lo == v.hi == 0:
        return False
    return None


def _round_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _copy(v: V) -> V:
    out = V.__new__(V)
    out.kind, out.lo, out.hi, out.known, out.lit, out.knob = v.kind, v.lo, v.hi, v.known, v.lit, v.knob
    out.percent, out.pct_of, out.frac, out.age, out.state = v.percent, v.pct_of, v.frac, v.age, v.state
    out.src, out.cond, out.integral, out.pct_scale = v.src, v.cond, v.integral, v.pct_scale
    out.pct_window = v.pct_window
    out.may_empty = v.may_empty
    return out


def _classify_sample_args(use: SampleUse, nodes: tuple[ast.Expr, ...], args: tuple[V, ...]) -> None:
    """Resolve the GetSample/GetSamplePercent overload by argument kinds (reference §4.3)."""
    if not args:
        return
    first = args[0]
    if use.method == "GetSample" and len(args) == 1 and first.kind == NUM:
        use.count = first.const
        return
    use.is_window = first.kind in (DUR, TIME, ANY)
    bounds: list[V] = [first]
    if len(args) >= 2:
        second = args[1]
        if use.method == "GetSample" and second.kind == NUM:
            use.percent = second.const
            use.percent_node = nodes[1]
            use.percent_unknown = second.const is None
        else:
            bounds.append(second)
    if len(args) >= 3:
        use.percent = args[2].const
        use.percent_node = nodes[2]
        use.percent_unknown = args[2].const is None
    if all(v.kind == DUR and v.known and v.lo == v.hi for v in bounds):
        points = [v.lo for v in bounds]
        near = 0.0 if len(points) == 1 else min(points)
        far = points[0] if len(points) == 1 else max(points)
        use.window = (near, far)


def _cond_facts(v: V) -> tuple[Facts, Facts]:
    return v.cond if v.cond is not None else ((), ())


def _comparison_facts(e: ast.Binary, op: str, left: V, right: V) -> tuple[Facts, Facts] | None:
    """Facts a comparison establishes when true and when false: sample-percentage and pool-age guards."""
    # normalise to "subject op constant"
    if (left.pct_of or left.age) and right.const is not None:
        subject, k, o = left, right.const, op
    elif (right.pct_of or right.age) and left.const is not None:
        subject, k, o = right, left.const, _flip(op)
    else:
        return None
    if subject.pct_of:
        group = metric_group(subject.pct_of)
        scale = subject.pct_scale or 1.0

        def fact(th: float) -> Facts:
            return (PercentFact(group, subject.pct_of or "", th / scale, e.span, subject.pct_window),)
    else:

        def fact(th: float) -> Facts:
            return (AgeFact(th, e.span),)

    if o in (">=", ">"):
        return fact(k), ()
    if o in ("<", "<="):
        return (), fact(k)
    return None


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)


def _decide(op: str, left: V, right: V) -> bool | None:
    if not (left.known and right.known and left.kind == NUM and right.kind == NUM):
        return None
    a, b_, c, d = left.lo, left.hi, right.lo, right.hi
    if op == "<":
        return True if b_ < c else False if a >= d else None
    if op == "<=":
        return True if b_ <= c else False if a > d else None
    if op == ">":
        return True if a > d else False if b_ <= c else None
    if op == ">=":
        return True if a >= d else False if b_ < c else None
    if op == "==":
        if a == b_ == c == d:
            return True
        return False if b_ < c or a > d else None
    if op == "!=":
        if a == b_ == c == d:
            return False
        return True if b_ < c or a > d else None
    return None


def _may_narrow(cond: ast.Expr) -> bool:
    """Whether a condition compares a variable with something (only then can it narrow an interval)."""
    cond = ast.unparen(cond)
    if isinstance(cond, ast.Unary):
        return _may_narrow(cond.operand)
    if not isinstance(cond, ast.Binary):
        return False
    if cond.op in ("&&", "||"):
        return _may_narrow(cond.left) or _may_narrow(cond.right)
    return cond.op in ("<", "<=", ">", ">=") and (
        type(ast.unparen(cond.left)) is ast.Var or type(ast.unparen(cond.right)) is ast.Var
    )


def _narrow(env: dict[str, V], cond: ast.Expr, truth: bool, interp: _Interpreter) -> dict[str, V]:
    """Refine variable intervals in a branch: ``x > 20 ? … : x`` has x <= 20 in the false branch."""
    cond = ast.unparen(cond)
    if not isinstance(cond, (ast.Binary, ast.Unary)):
        return env
    pieces: list[ast.Expr] = []
    if isinstance(cond, ast.Binary) and cond.op in ("&&", "||"):
        # "a && b" true: both true; "a || b" false: both false
        if (cond.op == "&&" and truth) or (cond.op == "||" and not truth):
            pieces = [cond.left, cond.right]
        else:
            return env
    else:
        pieces = [cond]
    out = env
    for piece in pieces:
        piece = ast.unparen(piece)
        if isinstance(piece, ast.Unary) and piece.op == "!":
            out = _narrow(out, piece.operand, not truth, interp)
            continue
        if not (isinstance(piece, ast.Binary) and piece.op in ("<", "<=", ">", ">=")):
            continue
        for var_side, other, op in (
            (piece.left, piece.right, piece.op),
            (piece.right, piece.left, _flip(piece.op)),
        ):
            var_side = ast.unparen(var_side)
            if not isinstance(var_side, ast.Var):
                continue
            key = var_side.name
            info = b.SERVICE_VARIABLES.get(key)
            current = None
            if info is not None:
                key = info.canonical
                current = out.get(key) or _service_default(key)
            else:
                current = out.get(key)
            if current is None or not current.known or current.kind != NUM:
                continue
            bound = _static_value(other, out)
            if bound is None:
                continue
            effective = op if truth else {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
            lo, hi = current.lo, current.hi
            if effective in ("<", "<="):
                hi = min(hi, bound if effective == "<=" else math.nextafter(bound, -INF))
            else:
                lo = max(lo, bound if effective == ">=" else math.nextafter(bound, INF))
            if lo > hi:
                continue  # contradictory branch: keep the original (constant-condition reports it)
            refined = _copy(current)
            refined.lo, refined.hi = lo, hi
            if hi < INF:
                refined.src = None
            if out is env:
                out = dict(env)
            out[key] = refined
    return out


def _service_default(canonical: str) -> V | None:
    if canonical in STATE_VARIABLES:
        return V(NUM, 0, POOL_SIZE, known=True, state=True, integral=True)
    if canonical == "$TaskSlotsPerNode":
        return V(NUM, 1, 256, known=True, integral=True)
    return None


def _static_value(e: ast.Expr, env: dict[str, V]) -> float | None:
    """A constant bound for narrowing: a literal, a constant variable, or their negation."""
    e = ast.unparen(e)
    if isinstance(e, ast.Number):
        return float(e.value)
    if isinstance(e, ast.Unary) and e.op == "-":
        inner = _static_value(e.operand, env)
        return -inner if inner is not None else None
    if isinstance(e, ast.Var):
        v = env.get(e.name)
        if v is not None and v.known and v.lo == v.hi and v.kind == NUM:
            return v.lo
    return None


def _is_ceiling_idiom(e: ast.Binary, interp: _Interpreter) -> bool:
    """``(x + (d - 1)) / d`` or ``(x + (d - 1)) * (1 / d)``: the docs' and doAzureParallel's way to round up
    through truncation (BatchExplorer's sample writes ``(… + 3) * multiplier`` with ``multiplier = 0.25``)."""
    numerator = ast.unparen(e.left)
    if not (isinstance(numerator, ast.Binary) and numerator.op == "+"):
        return False
    d = _static_value(e.right, interp.env)
    if d is None:
        return False
    if e.op == "*":
        if d <= 0 or d >= 1:
            return False
        d = 1 / d
    k = _static_value(numerator.right, interp.env)
    if k is None:
        k = _static_value(numerator.left, interp.env)
    return k is not None and abs(k - (d - 1)) < 1e-9


def analyse(formula: ast.Formula) -> Analysis:
    interp = _Interpreter(formula)
    return interp.run()


# ---------------------------------------------------------------------------------------------------------------
# boolean reasoning for constant-condition


@dataclass(frozen=True, slots=True)
class Truth:
    value: bool | None
    culprit: ast.Expr | None = None  # the smallest sub-condition that decides it
    reason: str = ""
    # the culprit's own value when it differs from the whole's (under a "!": in "!1" the culprit "1" is true)
    culprit_value: bool | None = None

    @property
    def culprit_truth(self) -> bool | None:
        return self.value if self.culprit_value is None else self.culprit_value


def member_key(e: ast.Expr) -> tuple[str, str] | None:
    """(printed receiver, field) for ``$curTime.hour`` / ``time().weekday``."""
    e = ast.unparen(e)
    if isinstance(e, ast.Member) and e.name in TIMESTAMP_DOMAINS:
        return (expr_key(e.receiver), e.name)
    return None


def expr_key(e: ast.Expr) -> str:
    """A structural key (spans ignored) used to tell that two expressions are the same."""
    e = ast.unparen(e)
    if isinstance(e, ast.Var):
        return e.name
    if isinstance(e, ast.Number):
        return repr(float(e.value))
    if isinstance(e, ast.String):
        return '"' + e.value + '"'
    if isinstance(e, ast.Call):
        return e.name + "(" + ",".join(expr_key(a) for a in e.args) + ")"
    if isinstance(e, ast.Member):
        return expr_key(e.receiver) + "." + e.name
    if isinstance(e, ast.MethodCall):
        return expr_key(e.receiver) + "." + e.method + "(" + ",".join(expr_key(a) for a in e.args) + ")"
    if isinstance(e, ast.Binary):
        return "(" + expr_key(e.left) + e.op + expr_key(e.right) + ")"
    if isinstance(e, ast.Unary):
        return e.op + expr_key(e.operand)
    if isinstance(e, ast.Ternary):
        return "(" + expr_key(e.condition) + "?" + expr_key(e.if_true) + ":" + expr_key(e.if_false) + ")"
    return "?"


def _literal_int(e: ast.Expr) -> float | None:
    e = ast.unparen(e)
    if isinstance(e, ast.Number):
        return float(e.value)
    if isinstance(e, ast.Unary) and e.op == "-":
        inner = _literal_int(e.operand)
        return -inner if inner is not None else None
    return None


def _compare(op: str, x: float, k: float) -> bool:
    if op == "<":
        return x < k
    if op == "<=":
        return x <= k
    if op == ">":
        return x > k
    if op == ">=":
        return x >= k
    if op == "==":
        return x == k
    return x != k


def member_sets(e: ast.Expr) -> dict[tuple[str, str], frozenset[int]] | None:
    """For a condition made only of timestamp-field comparisons with literals (joined by &&, ||, !): the set of
    field values that make it true, per field. None when the condition has any other part or mixes fields under
    ``||``."""
    e = ast.unparen(e)
    if isinstance(e, ast.Binary) and e.op in _COMPARISONS:
        for subject, other, op in ((e.left, e.right, e.op), (e.right, e.left, _flip(e.op))):
            key = member_key(subject)
            k = _literal_int(other)
            if key is not None and k is not None:
                dom = TIMESTAMP_DOMAINS[key[1]]
                return {key: frozenset(x for x in dom if _compare(op, x, k))}
        return None
    if isinstance(e, ast.Unary) and e.op == "!":
        inner = member_sets(e.operand)
        if inner is None or len(inner) != 1:
            return None
        ((key, s),) = inner.items()
        return {key: TIMESTAMP_DOMAINS[key[1]] - s}
    if isinstance(e, ast.Binary) and e.op in ("&&", "||"):
        left = member_sets(e.left)
        right = member_sets(e.right)
        if left is None or right is None:
            return None
        out = dict(left)
        for key, s in right.items():
            if key in out:
                out[key] = out[key] & s if e.op == "&&" else out[key] | s
            else:
                if e.op == "||":
                    return None  # "hour < 8 || weekday > 5": not one field's set
                out[key] = s
        return out
    return None
