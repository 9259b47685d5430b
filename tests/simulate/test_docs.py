"""docs/simulate.md cannot drift: its scenario example parses, its codes are registered, its keys exist."""

from __future__ import annotations

import re
from pathlib import Path

from batchspec.diagnostics.codes import CHECKS
from batchspec.sim import scenario as scenario_module
from batchspec.sim.report import SUMMARY_KEYS
from tests.simulate.conftest import scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulate.md"


def test_documented_scenario_parses_with_every_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    sc = scenario(block, files={"jobs.csv": "0,60\n"})
    assert sc.name == "render-day" and len(sc.workload) == 4
    assert sc.pool.initial_dedicated == 0 and sc.metrics.missing_rate == 0.01


def test_every_summary_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for key in SUMMARY_KEYS:
        assert f"`{key}`" in text, key


def test_scenario_codes_are_registered() -> None:
    for kind in (
        scenario_module.SM_SYNTAX,
        scenario_module.SM_UNKNOWN_KEY,
        scenario_module.SM_INVALID,
        scenario_module.SM_MISSING,
        scenario_module.SM_REPLAY,
    ):
        code, name = kind
        assert CHECKS[code].name == name
    assert CHECKS["SM001"].name == "expectation-failed"
