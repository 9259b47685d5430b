"""Smoke tests of the benchmark runner and of the campaign machinery (no benchmark is run here)."""

from __future__ import annotations

import importlib
import inspect
import random
import time

import pytest

from bench.__main__ import BENCHMARKS


@pytest.mark.parametrize("module", [m for m, _ in BENCHMARKS])
def test_every_benchmark_module_imports_and_exposes_run(module: str) -> None:
    mod = importlib.import_module(module)
    assert callable(mod.run)
    assert list(inspect.signature(mod.run).parameters) == ["quick"]


def test_the_runner_lists_every_issue_with_a_target() -> None:
    described = " ".join(what for _, what in BENCHMARKS)
    for issue in range(2, 10):
        assert f"(issue {issue})" in described


def test_a_clean_formula_has_no_problems() -> None:
    from bench.campaign import formula_problems

    assert formula_problems("$TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1));") == []
    assert formula_problems(b"$TargetDedicatedNodes = 1;\n// caf\xe9\n") == []  # FM008, positioned


def test_an_exception_in_any_stage_is_reported_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import batchspec.lint
    from bench.campaign import formula_problems

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise KeyError("boom")

    monkeypatch.setattr(batchspec.lint, "lint_formula", broken)
    [problem] = formula_problems("$TargetDedicatedNodes = 1;")
    assert (problem.kind, problem.stage) == ("crash", "lint")
    assert "KeyError: 'boom'" in problem.detail


def test_a_stage_that_never_returns_is_reported_as_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import batchspec.sim.evaluator
    from bench import campaign

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(30)
        raise AssertionError("not interrupted")

    monkeypatch.setattr(campaign, "CASE_TIMEOUT", 0.3)
    monkeypatch.setattr(batchspec.sim.evaluator, "interpret", slow)
    t0 = time.monotonic()
    [problem] = campaign.formula_problems("$TargetDedicatedNodes = 1;")
    assert time.monotonic() - t0 < 5
    assert (problem.kind, problem.stage) == ("hang", "evaluate (interpreter)")


def test_cli_problems_classify_exit_codes() -> None:
    from bench.campaign import _cli_problems

    assert _cli_problems("render", 2, "", "batchspec: error: a.yaml:3:4: bad", (0, 1, 2), (2,)) == []
    [unpositioned] = _cli_problems("render", 2, "", "batchspec: error: something failed", (0, 1, 2), (2,))
    assert unpositioned.kind == "unpositioned"
    [crash] = _cli_problems("render", 3, "", "batchspec: internal error", (0, 1, 2), (2,))
    assert crash.kind == "crash"
    [hang] = _cli_problems("render", "hang", "", "", (0, 1, 2), (2,))
    assert hang.kind == "hang"


def test_ddmin_finds_a_small_failing_input() -> None:
    from bench.campaign import ddmin

    text = "a = 1; b = 2; BOOM; c = 3; d = 4;" * 3
    assert ddmin(text, lambda t: "BOOM" in t) == "BOOM"


def test_mutators_are_deterministic_for_a_seed() -> None:
    from bench.campaign import FORMULA_CORPUS, _names, mutate_formula

    corpus = [p.read_text(encoding="utf-8") for p in sorted(FORMULA_CORPUS.rglob("*.formula"))][:5]
    names = _names()
    first = [mutate_formula(random.Random(3), corpus, names) for _ in range(1)]
    again = [mutate_formula(random.Random(3), corpus, names) for _ in range(1)]
    assert first == again
    kinds = {mutate_formula(random.Random(i), corpus, names)[0].split("-")[0] for i in range(300)}
    assert {
        "byteflip",
        "delete",
        "duplicate",
        "truncate",
        "splice",
        "nest",
        "literal",
        "unicode",
        "swap",
    } <= kinds
