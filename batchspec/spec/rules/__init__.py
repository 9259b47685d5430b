"""Pool-level rules (SP2xx), one class per module, registered in the explicit tuple below (style.md §4)."""

from __future__ import annotations

from batchspec.spec.rules.base import Example, PoolContext, SpecRule, TextSource
from batchspec.spec.rules.script_checks import (
    AptKeyDeprecated,
    AptWithoutYes,
    OrChainSwallowsFailure,
    Shellcheck,
    SudoUnderAdmin,
    UnpinnedPipInstall,
)
from batchspec.spec.rules.sp202_placeholder_in_id import PlaceholderInId
from batchspec.spec.rules.sp203_task_slots_exceed_vcpus import TaskSlotsExceedVcpus
from batchspec.spec.rules.sp204_node_agent_mismatch import NodeAgentMismatch
from batchspec.spec.rules.sp205_plaintext_secret import PlaintextSecret
from batchspec.spec.rules.sp206_formula_contradicts_pool import FormulaContradictsPool
from batchspec.spec.rules.sp207_required_slots_exceed_pool import RequiredSlotsExceedPool

ALL_SPEC_RULES: tuple[type[SpecRule], ...] = (
    PlaceholderInId,
    TaskSlotsExceedVcpus,
    NodeAgentMismatch,
    PlaintextSecret,
    FormulaContradictsPool,
    RequiredSlotsExceedPool,
    AptWithoutYes,
    SudoUnderAdmin,
    AptKeyDeprecated,
    UnpinnedPipInstall,
    OrChainSwallowsFailure,
    Shellcheck,
)


def _check_registry() -> None:
    codes = [r.code for r in ALL_SPEC_RULES]
    names = [r.name for r in ALL_SPEC_RULES]
    assert len(set(codes)) == len(codes), "duplicate SP rule code"
    assert len(set(names)) == len(names), "duplicate SP rule name"
    for r in ALL_SPEC_RULES:
        assert r.code.startswith("SP2") and len(r.code) == 5, r.code
        assert r.title() and r.examples, f"{r.code} needs a docstring and examples"


_check_registry()

__all__ = ["ALL_SPEC_RULES", "Example", "PoolContext", "SpecRule", "TextSource"]
