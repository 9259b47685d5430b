"""Every lint rule, in an explicit tuple (style.md §4): grep for a code to find its rule."""

from __future__ import annotations

from batchspec.lint.rule import Rule
from batchspec.lint.rules.formula.fm201_getsample_unguarded import GetsampleUnguarded
from batchspec.lint.rules.formula.fm202_percent_scale import PercentScale
from batchspec.lint.rules.formula.fm203_constant_condition import ConstantCondition
from batchspec.lint.rules.formula.fm204_no_target_assigned import NoTargetAssigned
from batchspec.lint.rules.formula.fm205_unbounded_target import UnboundedTarget
from batchspec.lint.rules.formula.fm206_fractional_target import FractionalTarget
from batchspec.lint.rules.formula.fm207_last_sample_only import LastSampleOnly
from batchspec.lint.rules.formula.fm208_lookback_too_short import LookbackTooShort
from batchspec.lint.rules.formula.fm209_retired_metric import RetiredMetric
from batchspec.lint.rules.formula.fm210_legacy_alias import LegacyAlias
from batchspec.lint.rules.formula.fm211_service_variable_case import ServiceVariableCase
from batchspec.lint.rules.formula.fm212_bad_time_literal import BadTimeLiteral
from batchspec.lint.rules.formula.fm213_unused_variable import UnusedVariable
from batchspec.lint.rules.formula.fm214_self_assignment import SelfAssignment
from batchspec.lint.rules.formula.fm215_possible_division_by_zero import PossibleDivisionByZero
from batchspec.lint.rules.formula.fm216_missing_deallocation_option import MissingDeallocationOption
from batchspec.lint.rules.formula.fm217_val_sample_order import ValSampleOrder
from batchspec.lint.rules.formula.fm218_dollar_name_clash import DollarNameClash
from batchspec.lint.rules.formula.fm219_empty_statement import EmptyStatement
from batchspec.lint.rules.formula.fm220_bare_call_statement import BareCallStatement
from batchspec.lint.rules.formula.fm221_nested_ternary import NestedTernary
from batchspec.lint.rules.formula.fm222_sample_percent_range import SamplePercentRange
from batchspec.lint.rules.formula.fm223_empty_sample_aggregate import EmptySampleAggregate
from batchspec.lint.rules.formula.fm224_overwritten_assignment import OverwrittenAssignment

ALL_RULES: tuple[type[Rule], ...] = (
    GetsampleUnguarded,
    PercentScale,
    ConstantCondition,
    NoTargetAssigned,
    UnboundedTarget,
    FractionalTarget,
    LastSampleOnly,
    LookbackTooShort,
    RetiredMetric,
    LegacyAlias,
    ServiceVariableCase,
    BadTimeLiteral,
    UnusedVariable,
    SelfAssignment,
    PossibleDivisionByZero,
    MissingDeallocationOption,
    ValSampleOrder,
    DollarNameClash,
    EmptyStatement,
    BareCallStatement,
    NestedTernary,
    SamplePercentRange,
    EmptySampleAggregate,
    OverwrittenAssignment,
)

__all__ = ["ALL_RULES"]
