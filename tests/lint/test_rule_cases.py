"""Rule cases as data: tests/lint/rules/<CODE>.yaml, one file per rule (style.md §7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from batchspec.lint.registry import all_rules
from tests.lint.conftest import lint_only

RULES_DIR = Path(__file__).parent / "rules"


def _cases() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, case in doc["cases"].items():
            out.append((doc["rule"], name, case))
    return out


@pytest.mark.parametrize(("code", "name", "case"), _cases(), ids=[f"{c}-{n}" for c, n, _ in _cases()])
def test_rule_case(code: str, name: str, case: dict) -> None:
    assert ("fail" in case) != ("pass" in case), f"{code}/{name}: a case is either pass or fail"
    text = case.get("fail", case.get("pass"))
    diagnostics = lint_only(text, code)
    # nothing but this rule: the front end must accept every case
    assert [d for d in diagnostics if d.code != code] == [], [d.message for d in diagnostics]
    got = [[d.span.start.line, d.span.start.col] for d in diagnostics]
    if "pass" in case:
        assert got == [], [d.message for d in diagnostics]
    else:
        assert got == case["expect"], [d.message for d in diagnostics]
        for d in diagnostics:
            assert d.message and d.hint, f"{code}: every finding has a message and a hint"
            assert not d.message.endswith("."), d.message


def test_every_rule_has_a_case_file_with_pass_and_fail() -> None:
    for rule in all_rules():
        path = RULES_DIR / f"{rule.code}.yaml"
        assert path.is_file(), f"{rule.code} {rule.name} has no {path.name}"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["rule"] == rule.code
        kinds = {"fail" if "fail" in c else "pass" for c in doc["cases"].values()}
        assert kinds == {"pass", "fail"}, f"{rule.code} needs both pass and fail cases"
