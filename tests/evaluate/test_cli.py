"""``batchspec evaluate formula``: inputs (formula files, pool JSON, states), outputs, exit codes, bad input."""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from batchspec.cli.main import main

SEED_POOL = Path("/work/shared/examples/seed-pool.json")
GT = Path(__file__).parent / "ground_truth"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["evaluate", "formula", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_no_state_means_a_fresh_pool_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "$TargetDedicatedNodes = $ActiveTasks.Count() == 0 ? 1 : 5; t = time();")
    code, out, err = run(capsys, f)
    assert (code, err) == (0, "")
    assert out.startswith(
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;t=20"
    )


def test_time_option_overrides_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "t = time(); d = t.weekday;")
    s = write(tmp_path, "s.yaml", "time: 2023-03-13T00:00:00Z\n")
    code, out, _ = run(capsys, f, "--state", s, "--time", "Tue, 14 Mar 2023 10:00:00 GMT")
    assert code == 0
    assert (
        out
        == "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;d=2;t=2023-03-14T10:00:00.000Z\n"
    )
    code, out, err = run(capsys, f, "--time", "yesterday")
    assert code == 2 and out == ""
    assert '--time "yesterday" is not a time' in err


def test_json_state_and_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "$TargetDedicatedNodes = max($PendingTasks.GetSample(1));\n")
    s = write(
        tmp_path,
        "s.json",
        json.dumps({"time": "2023-03-13T22:00:00.5Z", "metrics": {"$PendingTasks": {"values": [1, 7]}}}),
    )
    code, out, err = run(capsys, f, "--state", s, "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "timestamp": "2023-03-13T22:00:00.5000000Z",
        "results": "$TargetDedicatedNodes=7;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
    }


def test_seed_pool_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    s = write(
        tmp_path,
        "s.yaml",
        f"time: 2024-01-01T00:00:00Z\nmetrics:\n  PendingTasks: {[3] * 20}\n"
        f"  ActiveTasks: {[2] * 20}\n  RunningTasks: {[0] * 20}\n",
    )
    code, out, err = run(capsys, str(SEED_POOL), "--state", s)
    assert (code, err) == (0, "")
    assert out == (
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=1;$NodeDeallocationOption=taskcompletion;ActiveTask=1;"
        "AvgActiveTask=2;AvgRunningTask=0;RunningTask=0;cappedPoolSize=1;samples=100\n"
    )


def test_seed_pool_with_a_short_history_fails_like_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10 samples (5 minutes) satisfy GetSamplePercent(5 min) = 100, so the seed formula takes its averaging branch,
    # and the 1-10 minute window of $RunningTasks then holds 8 of its 18 samples (44.4444 %) < the implicit 70 %
    s = write(
        tmp_path,
        "s.yaml",
        f"time: 2024-01-01T00:00:00Z\nmetrics:\n  PendingTasks: {[3] * 10}\n"
        f"  ActiveTasks: {[2] * 10}\n  RunningTasks: {[0] * 10}\n",
    )
    code, out, _ = run(capsys, str(SEED_POOL), "--state", s, "--format", "json")
    assert code == 1
    assert json.loads(out)["error"]["values"][0]["value"] == (
        "Line 4, Col 95: Insufficient data from data set: $RunningTasks wanted 70%, received 44.4444%"
    )


def test_error_position_inside_a_pool_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = json.loads(SEED_POOL.read_text())
    pool["properties"]["scaleSettings"]["autoScale"]["formula"] = (
        "a = 1;\r\nb = avg($CPUPercent.GetSample(TimeInterval_Minute * 10));"
    )
    path = write(tmp_path, "pool.json", json.dumps(pool, indent=2))
    code, out, err = run(capsys, path, "--format", "json")
    assert code == 1
    assert json.loads(out)["error"]["values"][0]["value"] == (
        "Line 2, Col 30: Insufficient data from data set: $CPUPercent wanted 70%, received 0%"
    )
    # text format: stderr points into the JSON file, at the "(" inside the string
    code, out, err = run(capsys, path)
    assert code == 1 and out.endswith(";a=1\n")
    file_line = next(
        i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if '"formula"' in line
    )
    line_text = Path(path).read_text().splitlines()[file_line - 1]
    col = line_text.index("GetSample(") + len("GetSample") + 1
    assert err.startswith(
        f"{path}:{file_line}:{col}: error[InsufficientSampleData] Insufficient data from data set"
    )


def test_formula_with_front_end_errors_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "bad.formula", "$TargetDedicatedNodes = max(0, $PendingTask.GetSample(1))\nx = 1;\n")
    code, out, err = run(capsys, f)
    assert code == 2 and out == ""
    assert f"{f}:1:" in err and "FM" in err


def test_fixed_scale_pool_has_no_formula(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = json.loads(SEED_POOL.read_text())
    pool["properties"]["scaleSettings"] = {"fixedScale": {"targetDedicatedNodes": 2}}
    code, out, err = run(capsys, write(tmp_path, "fixed.json", json.dumps(pool)))
    assert code == 2 and out == ""
    assert "has no autoscale formula" in err


def test_interpreter_engine_gives_the_same_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(GT / "r4-haste.formula"), "--state", str(GT / "r4-haste.state.yaml")]
    assert run(capsys, *args) == run(capsys, *args, "--engine", "interpreter")


def test_seed_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "r.formula", "r = rand();")
    first = run(capsys, f, "--seed", "5")
    assert first == run(capsys, f, "--seed", "5")
    assert first[1] != run(capsys, f, "--seed", "6")[1]


def test_evaluate_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate"]) == 2
    assert "batchspec evaluate formula FILE" in capsys.readouterr().err


BAD_STATES = [
    ("tiem: 2023-01-01T00:00:00Z\n", '1:1: unknown state key "tiem"; did you mean "time"?'),
    ("time: tomorrow\n", '1:7: "tomorrow" is not a time'),
    ("pool:\n  targetDedicatedNodes: -1\n", "2:25: expected a number of at least 0, got -1"),
    ("pool:\n  taskSlotsPerNode: 0\n", "2:21: expected a number of at least 1, got 0"),
    ("pool:\n  targetDedicatedNodes: 1.5\n", "2:25: expected a whole number, got 1.5"),
    (
        "pool:\n  targetDedicated: 1\n",
        'unknown pool key "targetDedicated"; did you mean "targetDedicatedNodes"?',
    ),
    ("pool: 3\n", "1:7: pool must be a mapping, got a number"),
    ("metrics:\n  ActiveTask: [1]\n", '2:3: unknown metric "ActiveTask"; did you mean "ActiveTasks"?'),
    ("metrics:\n  activetasks: [1]\n", 'did you mean "ActiveTasks"?'),
    ("metrics:\n  TargetDedicatedNodes: [1]\n", 'unknown metric "TargetDedicatedNodes"'),
    ("metrics:\n  ActiveTasks: [1, true]\n", "2:20: expected a number, got a boolean"),
    ("metrics:\n  ActiveTasks: [1, x]\n", '2:20: expected a number, got "x"'),
    ("metrics:\n  ActiveTasks:\n    values: 3\n", "3:13: values must be a list of numbers"),
    (
        "metrics:\n  ActiveTasks:\n    period: 30 seconds\n",
        '3:13: expected a duration such as PT30S, 30s or 1m (or seconds), got "30 seconds"',
    ),
    ("metrics:\n  ActiveTasks:\n    period: PT0S\n", "the sample period must be between 0 and 7 days"),
    ("metrics:\n  ActiveTasks:\n    end: soon\n", '3:10: "soon" is not a time'),
    ("metrics:\n  ActiveTasks:\n    vals: [1]\n", 'unknown metric key "vals"; did you mean "values"?'),
    ("metrics:\n  ActiveTasks: [1]\n  $ActiveTasks: [2]\n", 'metric "$ActiveTasks" is given twice'),
    ("- 1\n- 2\n", "the state must be a mapping, got a list"),
    ("time: [\n", "s.yaml:"),
    ("defaultSamplePercent: 120\n", "expected a percentage from 0 to 100, got 120"),
    ("strictIndex: yes please\n", '1:14: expected true or false, got "yes please"'),
    ("sampleOrder: newest\n", '1:14: expected oldest-first or newest-first, got "newest"'),
]


@pytest.mark.parametrize(("text", "expected"), BAD_STATES)
def test_bad_state_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    f = write(tmp_path, "a.formula", "x = 1;")
    s = write(tmp_path, "s.yaml", text)
    code, out, err = run(capsys, f, "--state", s)
    assert code == 2 and out == ""
    assert expected in err
    assert err.startswith("batchspec: error: ") and "Traceback" not in err


def test_bad_json_state_is_positioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "x = 1;")
    s = write(tmp_path, "s.json", '{\n  "pool": {"targetDedicatedNodes": "two"}\n}\n')
    code, _, err = run(capsys, f, "--state", s)
    assert code == 2
    assert f'{s}:2:36: expected a whole number, got "two"' in err


@pytest.mark.parametrize("which", ["formula", "state"])
def test_missing_and_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str) -> None:
    f = write(tmp_path, "a.formula", "x = 1;")
    missing = str(tmp_path / "nope.yaml")
    args = [missing] if which == "formula" else [f, "--state", missing]
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and "no such file" in err
    args = [str(tmp_path)] if which == "formula" else [f, "--state", str(tmp_path)]
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and "Traceback" not in err


def test_binary_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "x = 1;")
    s = tmp_path / "s.yaml"
    s.write_bytes(b"\xff\xfe\x00junk")
    code, out, err = run(capsys, f, "--state", str(s))
    assert code == 2 and out == "" and "not UTF-8" in err


def test_ground_truth_files_are_usable_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the examples work from any directory and from copies
    for name in ("r4-haste.formula", "r4-haste.state.yaml"):
        shutil.copy(GT / name, tmp_path / name)
    code, out, _ = run(
        capsys, str(tmp_path / "r4-haste.formula"), "--state", str(tmp_path / "r4-haste.state.yaml")
    )
    assert code == 0 and "$samples=96.6667" in out


def test_byte_order_mark_and_crlf_formula_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bom.formula"
    f.write_bytes(
        "\ufeff$TargetDedicatedNodes = 1;\r\nx = avg($CPUPercent.GetSample(TimeInterval_Minute));\r\n".encode()
    )
    code, out, err = run(capsys, str(f))
    assert code == 1
    assert out == "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue\n"
    assert err.startswith(
        f"{f}:2:30: error[InsufficientSampleData] Insufficient data from data set: $CPUPercent"
    )


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/batchspec.yaml"))


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_specs(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(spec), "--format", "json")
    assert "Traceback" not in err
    if code == 2:
        assert "has no autoscale formula" in err  # fixed-scale pools
    else:
        assert code in (0, 1)
        assert json.loads(out)["results"].startswith("$TargetDedicatedNodes=")


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_formula_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, b"$TargetDedicatedNodes = 2;\nx = 1 / 0;\n")
    code, out, err = run(capsys, "-")
    assert code == 1 and out.startswith("$TargetDedicatedNodes=2;")
    assert err.startswith("-:2:7: error[FormulaEvaluationError] division by zero")


@pytest.mark.parametrize(
    "state_text", [b'{"pool": {"targetDedicatedNodes": 3}}', b"pool:\n  targetDedicatedNodes: 3\n"]
)
def test_state_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], state_text: bytes
) -> None:
    _stdin(monkeypatch, state_text)
    f = write(tmp_path, "a.formula", "half = $TargetDedicatedNodes / 2;")
    code, out, _ = run(capsys, f, "--state", "-")
    assert code == 0 and out.endswith(";half=1.5\n")


def test_stdin_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"x = 1;")
    code, _, err = run(capsys, "-", "--state", "-")
    assert code == 2 and "cannot both come from stdin" in err
    _stdin(monkeypatch, b"\xff\xfe")
    code, _, err = run(capsys, "-")
    assert code == 2 and "stdin is not UTF-8" in err
    _stdin(monkeypatch, b"pool: [\n")
    code, _, err = run(capsys, write(tmp_path, "a.formula", "x = 1;"), "--state", "-")
    assert code == 2 and err.startswith("batchspec: error: -:")


def test_lint_option_adds_warnings_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "a.formula", "$targetDedicatedNodes = 5;")
    code, out, err = run(capsys, f, "--lint")
    assert code == 0
    assert (
        out
        == "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$targetDedicatedNodes=5\n"
    )
    assert "FM211" in err and "differs only in case" in err
    assert run(capsys, f) == (0, out, "")  # without --lint: quiet


@pytest.mark.parametrize("period", ["PT1M", "60", "1m", "60s", "1m0s"])
def test_sample_period_in_any_duration_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], period: str
) -> None:
    """The short forms of scenario files (30s, 1m) work in a state file too: one duration syntax to learn."""
    f = write(
        tmp_path,
        "a.formula",
        "n = $ActiveTasks.GetSample(TimeInterval_Minute * 3, 0);\n$TargetDedicatedNodes = 1;",
    )
    s = write(
        tmp_path,
        "s.yaml",
        f"time: 2020-01-01T00:10:00Z\nmetrics:\n  ActiveTasks:\n    period: {period}\n    values: [1, 2, 3, 4, 5]\n",
    )
    code, out, err = run(capsys, f, "--state", s)
    assert (code, err) == (0, "")
    # one sample a minute (a 30-s period would put all 5 in the window)
    assert out.rstrip().endswith(";n=[3,4,5]")


def test_help_shows_examples_and_a_state_file_that_loads(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from batchspec.sim.statefile import EXAMPLE, load_state

    assert main(["evaluate", "formula", "--help"]) == 0
    out = capsys.readouterr().out
    assert "batchspec evaluate formula autoscale.formula --state state.yaml" in out
    assert '  metrics:                            # the key with or without "$"' in out
    assert "docs/evaluate.md" in out
    # the example shown is a real state file: every key is accepted and read
    state = load_state(yaml.safe_load(EXAMPLE), source="example")
    assert state.seed == 7
    assert (state.pool.target_dedicated_nodes, state.pool.usable_node_count) == (1, 1)
    assert state.metrics["$ActiveTasks"].values == [0, 0, None, 3]
    assert state.metrics["$RunningTasks"].values == [1, 1, 2]


def test_the_documented_state_file_is_the_one_help_shows() -> None:
    from batchspec.sim.statefile import EXAMPLE

    doc = (Path(__file__).resolve().parents[2] / "docs" / "evaluate.md").read_text(encoding="utf-8")
    assert f"```yaml\n{EXAMPLE}```" in doc


def test_samples_after_the_evaluation_time_are_ignored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "a.formula", "$TargetDedicatedNodes = sum($ActiveTasks.GetSample(10));")
    s = write(
        tmp_path,
        "s.yaml",
        "time: 2020-01-01T00:01:00Z\nmetrics:\n  $ActiveTasks:\n    end: 2020-01-01T00:02:00Z\n"
        "    values: [1, 2, 3, 4, 5, 6]\n",
    )
    code, out, err = run(capsys, f, "--state", s)
    assert code == 0
    assert out.startswith("$TargetDedicatedNodes=10;")  # 1+2+3+4: the samples up to 00:01:00
    assert err == (
        f"{s}:3:3: warning: 2 of the 6 samples of $ActiveTasks are later than the evaluation time "
        "2020-01-01T00:01:00.000Z and are ignored (the newest is at 2020-01-01T00:02:00.000Z)\n"
    )
    # --time at the newest sample: every sample counts, no warning
    code, out, err = run(capsys, f, "--state", s, "--time", "2020-01-01T00:02:00Z")
    assert (code, err) == (0, "") and out.startswith("$TargetDedicatedNodes=21;")


def test_env_overlay_evaluates_the_formula_apply_env_deploys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(Path(__file__).resolve().parents[2] / "examples" / "autoscale-env")
    s = write(tmp_path, "s.yaml", "time: 2024-01-01T00:10:00Z\nmetrics:\n  PendingTasks: [100]\n")
    # default: min(4, ceil(100 / 4)); prod: min(40, ceil(100 / 16))
    code, out, _ = run(capsys, spec, "--state", s)
    assert code == 0 and out.startswith("$TargetDedicatedNodes=4;")
    code, out, _ = run(capsys, spec, "--state", s, "--env", "prod")
    assert code == 0 and out.startswith("$TargetDedicatedNodes=7;")
    code, out, err = run(capsys, str(SEED_POOL), "--env", "prod")
    assert code == 2 and "--env applies to a batchspec spec" in err
