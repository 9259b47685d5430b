from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import batchspec.lint.rules.formula as formula_rules
from batchspec.diagnostics.model import Severity
from batchspec.lint.registry import RegistryError, all_rules, check_rules, every_code
from batchspec.lint.rule import Example, FormulaRule, Rule
from tests.lint.conftest import lint_only


def test_registry_is_consistent() -> None:
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)


def test_every_rule_class_is_registered() -> None:
    found = set()
    for info in pkgutil.iter_modules(formula_rules.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{formula_rules.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj not in (Rule, FormulaRule) and obj.__module__ == module.__name__:
                found.add(obj)
                assert info.name.startswith(obj.code.lower() + "_"), (
                    f"{info.name}: file named after {obj.code}"
                )
                assert info.name == f"{obj.code.lower()}_{obj.name.replace('-', '_')}"
    assert found == set(all_rules())


def test_issue_rule_names_are_exact() -> None:
    names = {r.name for r in all_rules()}
    for required in (
        "getsample-unguarded",
        "percent-scale",
        "constant-condition",
        "no-target-assigned",
        "unbounded-target",
        "fractional-target",
        "last-sample-only",
        "lookback-too-short",
        "retired-metric",
        "legacy-alias",
        "service-variable-case",
        "bad-time-literal",
        "unused-variable",
        "self-assignment",
    ):
        assert required in names
    by_name = {r.name: r for r in all_rules()}
    assert by_name["bad-time-literal"].default_severity is Severity.ERROR
    assert by_name["unused-variable"].default_severity is Severity.INFO


def _make(**overrides):  # a valid rule class, then break one attribute
    attrs = dict(
        code="FM299",
        name="sample-rule",
        examples=(Example(bad="x = 1;", good="x = 2;"),),
        __doc__="A title.\n\nBody.",
    )
    attrs.update(overrides)
    return type("SampleRule", (FormulaRule,), attrs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "FM2"}, "two capital letters"),
        ({"code": "FM101"}, "outside the lint areas"),
        ({"name": "Sample_Rule"}, "kebab-case"),
        ({"__doc__": None}, "missing docstring"),
        ({"examples": ()}, "no examples"),
    ],
)
def test_bad_metadata_is_rejected(overrides, message) -> None:
    with pytest.raises(RegistryError, match=message):
        check_rules([_make(**overrides)])


def test_duplicates_are_rejected() -> None:
    with pytest.raises(RegistryError, match="already used"):
        check_rules([_make(), _make(name="other-name")])
    with pytest.raises(RegistryError, match="already used"):
        check_rules([_make(), _make(code="FM298")])


def test_options_must_be_frozen_with_defaults() -> None:
    @dataclasses.dataclass
    class Loose:
        x: int = 1

    with pytest.raises(RegistryError, match="frozen"):
        check_rules([_make(Options=Loose)])


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_examples_execute(rule) -> None:
    for example in rule.examples:
        bad = lint_only(example.bad, rule.code)
        assert bad, f"{rule.code}: the bad example produces nothing"
        assert {d.code for d in bad} == {rule.code}, [d.message for d in bad]
        good = lint_only(example.good, rule.code)
        assert good == [], [d.message for d in good]


def test_every_code_lists_rules_and_front_end_codes() -> None:
    codes = {row.code: row for row in every_code()}
    assert "FM101" in codes and codes["FM101"].name == "undefined-variable"
    assert "FM201" in codes and codes["FM201"].area == "formula lint rule"
    assert "BS003" in codes
    assert list(codes) == sorted(codes)
