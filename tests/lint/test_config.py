from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.diagnostics.model import Severity
from batchspec.errors import BatchspecError
from batchspec.lint import LintConfig, apply_config, lint_formula, load_config
from batchspec.lint.config import ConfigError, find_config_file, parse_config

UNCAPPED = "$TargetDedicatedNodes = max(0, $PendingTasks.GetSample(1));\nspare = 1;\n"


def codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics]


def test_default_config_runs_every_default_rule() -> None:
    assert "FM205" in codes(lint_formula(UNCAPPED, "a.formula"))


def test_select_and_ignore_by_code_and_name_prefix() -> None:
    cfg = parse_config(
        '[tool.batchspec]\nselect = ["FM2"]\nignore = ["unused", "FM216"]\n', "pyproject.toml", pyproject=True
    )
    got = codes(lint_formula(UNCAPPED, "a.formula", cfg))
    assert "FM205" in got and "FM213" not in got and "FM216" not in got


def test_select_chooses_rules_but_keeps_built_in_checks() -> None:
    cfg = parse_config('select = ["unbounded-target"]\n', "batchspec.toml")
    assert set(codes(lint_formula(UNCAPPED + "x = $Nope;", "a.formula", cfg))) == {"FM205", "FM101"}
    cfg = parse_config('select = ["unbounded-target"]\nignore = ["undefined-variable"]\n', "batchspec.toml")
    assert codes(lint_formula(UNCAPPED + "x = $Nope;", "a.formula", cfg)) == ["FM205"]


def test_syntax_errors_cannot_be_ignored() -> None:
    cfg = parse_config('ignore = ["FM0", "ALL"]\n', "batchspec.toml")
    assert codes(lint_formula("x = (1;", "a.formula", cfg))[0].startswith("FM0")


def test_severity_and_options(tmp_path: Path) -> None:
    cfg = parse_config(
        '[tool.batchspec.rules.unbounded-target]\nseverity = "error"\nmax-nodes = 50\n'
        "[tool.batchspec.rules.FM213]\nseverity = 'warning'\n",
        "pyproject.toml",
        pyproject=True,
    )
    found = {d.code: d for d in lint_formula(UNCAPPED, "a.formula", cfg)}
    assert found["FM205"].severity is Severity.ERROR
    assert found["FM213"].severity is Severity.WARNING
    capped = "$TargetDedicatedNodes = min(80, max(0, $PendingTasks.GetSample(1)));"
    found = {d.code: d for d in lint_formula(capped, "a.formula", cfg)}
    assert "above max-nodes = 50" in found["FM205"].message


def test_per_file_ignores_with_globs(tmp_path: Path) -> None:
    (tmp_path / "legacy").mkdir()
    (tmp_path / "batchspec.toml").write_text(
        '[per-file-ignores]\n"legacy/*.formula" = ["unbounded-target"]\n'
    )
    cfg = load_config(tmp_path / "legacy" / "old.formula")
    assert cfg.path is not None
    old = lint_formula(UNCAPPED, str(tmp_path / "legacy" / "old.formula"), cfg)
    new = lint_formula(UNCAPPED, str(tmp_path / "new.formula"), cfg)
    assert "FM205" not in codes(old) and "FM205" in codes(new)


def test_config_found_by_walking_up(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.batchspec]\nignore = ["FM205"]\n'
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "pyproject.toml").write_text('[project]\nname = "inner"\n')  # no [tool.batchspec]: keep walking
    assert find_config_file(deep / "f.formula") == tmp_path / "pyproject.toml"
    assert load_config(deep).ignore == ("FM205",)
    (deep / "batchspec.toml").write_text("")
    assert find_config_file(deep / "f.formula") == deep / "batchspec.toml"


def test_no_config_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == LintConfig() or load_config(tmp_path).path is None


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[tool.batchspec]\nselect = "FM2\n', 2, "invalid TOML"),
        ('[tool.batchspec]\nselect = ["FM9"]\n', 2, '"FM9" in "select" matches no code'),
        ('[tool.batchspec]\nignore = ["unbounded-targte"]\n', 2, "matches no code or rule"),
        ("[tool.batchspec]\nselect = 3\n", 2, "must be a list"),
        (
            '[tool.batchspec]\nx = 1\n\n[tool.batchspec.rules.nope-rule]\nseverity = "error"\n',
            4,
            'unknown rule "nope-rule"',
        ),
        ('[tool.batchspec.rules.unbounded-target]\nseverity = "loud"\n', 2, "severity must be"),
        ("[tool.batchspec.rules.unbounded-target]\n\nmax-node = 3\n", 3, 'unknown option "max-node"'),
        ('[tool.batchspec.rules.unbounded-target]\nmax-nodes = "ten"\n', 2, "must be an integer"),
        ('[tool.batchspec.rules.FM001]\nseverity = "warning"\n', 2, "cannot be changed"),
    ],
)
def test_bad_config_is_a_positioned_error(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "pyproject.toml", pyproject=True)
    err = info.value
    assert isinstance(err, BatchspecError) and err.exit_code == 2
    first = err.diagnostics[0]
    assert first.code == "BS001"
    assert fragment in first.message or fragment in str(err)
    assert first.span.start.line == line
    assert f"pyproject.toml:{line}:" in str(err)


def test_suggestion_for_misspelled_rule() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('ignore = ["unbounded-targte"]\n', "batchspec.toml")
    assert info.value.diagnostics[0].hint == 'did you mean "unbounded-target"?'


def test_unknown_top_level_key_is_a_warning() -> None:
    cfg = parse_config("selekt = []\n", "batchspec.toml")
    assert cfg.diagnostics and cfg.diagnostics[0].severity is Severity.WARNING
    assert cfg.diagnostics[0].span.start.line == 1


def test_unreadable_and_non_utf8_config(tmp_path: Path) -> None:
    bad = tmp_path / "batchspec.toml"
    bad.write_bytes(b"select = [\xff]\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(tmp_path)


def test_cli_overrides() -> None:
    cfg = parse_config('select = ["FM205"]\nignore = ["FM213"]\n', "batchspec.toml")
    over = cfg.with_overrides(select=["FM213,FM216"], ignore=["FM216"])
    assert over.select == ("FM213", "FM216") and "FM216" in over.ignore
    got = codes(lint_formula(UNCAPPED, "a.formula", over))
    assert got == []  # FM213 selected but ignored by the file, FM216 ignored on the command line


def test_apply_config_for_other_areas() -> None:
    from batchspec.diagnostics.model import Diagnostic, Pos, Span

    d = Diagnostic(
        code="SP201",
        name="some-spec-rule",
        severity=Severity.WARNING,
        message="m",
        span=Span("p.yaml", Pos(1, 1), Pos(1, 1)),
    )
    assert apply_config([d], LintConfig(ignore=("some-spec",)), "p.yaml") == []
    assert apply_config([d], LintConfig(), "p.yaml") == [d]


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('[rules.last-sample-only]\nmetrics = "$CPUPercent"\n', "must be a list"),
        ("[rules.last-sample-only]\nmetrics = [1]\n", "items must be a string"),
        ("[rules.getsample-unguarded]\nsame-metric = 1\n", "must be true or false"),
        ('[rules.getsample-unguarded]\nimplicit-percent = "high"\n', "must be a number"),
    ],
)
def test_option_types_are_checked(table: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(table, "batchspec.toml")
    assert fragment in info.value.diagnostics[0].message


def test_options_reach_the_rules() -> None:
    cfg = parse_config('[rules.last-sample-only]\nmetrics = ["$PendingTasks"]\n', "batchspec.toml")
    text = "t = max(0, $PendingTasks.GetSample(1));"
    assert [d.code for d in lint_formula(text, "a.formula", cfg) if d.code == "FM207"] == ["FM207"]
    cfg = parse_config("[rules.getsample-unguarded]\nimplicit-percent = 50\n", "batchspec.toml")
    guarded = (
        "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 10);\n"
        "x = p < 50 ? 0 : avg($PendingTasks.GetSample(TimeInterval_Minute * 10));"
    )
    assert "FM201" not in [d.code for d in lint_formula(guarded, "a.formula", cfg)]
    assert "FM201" in [d.code for d in lint_formula(guarded, "a.formula")]


def test_numeric_options_outside_their_range_are_config_errors(tmp_path: Path) -> None:
    for body, message in (
        ("[rules.unbounded-target]\nmax-nodes = -3\n", 'option "max-nodes" of "unbounded-target" must be at least 0, not -3'),
        ("[rules.FM201]\nimplicit-percent = 170\n", 'option "implicit-percent" of "FM201" must be at most 100, not 170'),
        ("[rules.lookback-too-short]\nsample-period = 0\n", "must be at least 1, not 0"),
    ):
        (tmp_path / "batchspec.toml").write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path)
        (d,) = info.value.diagnostics
        assert message in d.message and d.span.start.line == 2
    (tmp_path / "batchspec.toml").write_text("[rules.unbounded-target]\nmax-nodes = 0\n", encoding="utf-8")
    load_config(tmp_path)  # the bound itself is fine


def test_suggestions_for_misspelt_keys_but_no_guessed_codes(tmp_path: Path) -> None:
    (tmp_path / "batchspec.toml").write_text('ignore = ["FM999"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    (d,) = info.value.diagnostics
    assert d.hint == "batchspec rules lists every code"
    (tmp_path / "batchspec.toml").write_text('selct = ["FM2"]\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert [w.hint for w in config.diagnostics] == ['did you mean "select"?']


def test_a_config_nested_hundreds_deep_is_bs001_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "batchspec.toml").write_text("select = " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    (d,) = info.value.diagnostics
    assert (d.code, d.span.start.line, d.message) == ("BS001", 1, "invalid TOML: values nest too deeply")
