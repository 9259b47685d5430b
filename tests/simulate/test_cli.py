"""``batchspec simulate formula`` in-process: formats, expectations, bad input and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from batchspec.cli.main import main

FIXED_POOL = {
    "properties": {
        "vmSize": "STANDARD_D2a_V4",
        "taskSlotsPerNode": 2,
        "taskSchedulingPolicy": {"nodeFillType": "Pack"},
        "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2, "targetLowPriorityNodes": 1}},
    }
}

SMALL = """
name: small
duration: 2h
pool:
  allocation_delay: {dedicated: 4m, low_priority: 6m}
  start_task: 1m
workload:
  - {at: 0s, tasks: 12, duration: 10m}
"""


@pytest.fixture
def fixed_pool(tmp_path: Path) -> Path:
    p = tmp_path / "fixed.json"
    p.write_text(json.dumps(FIXED_POOL), encoding="utf-8")
    return p


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL, encoding="utf-8")
    return p


def test_json_output_shape(fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "--scenario", str(small), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"summary", "timeline", "evaluations"}
    s = data["summary"]
    for key in (
        "tasks_submitted",
        "tasks_completed",
        "makespan_s",
        "wait_p50_s",
        "wait_p95_s",
        "wait_max_s",
        "peak_dedicated_nodes",
        "peak_low_priority_nodes",
        "dedicated_node_hours",
        "low_priority_node_hours",
        "idle_node_hours",
        "evaluations",
        "evaluation_errors",
        "first_error",
        "cost",
    ):
        assert key in s
    # 2 dedicated (usable at 5m) + 1 low-priority (usable at 7m), 2 slots each: 12 ten-minute tasks
    # 4 start at 5m, 2 at 7m; then 4 at 15m, 2 at 17m; all done by 27m
    assert s["tasks_completed"] == 12
    assert s["makespan_s"] == 27 * 60
    assert data["settings"]["task_slots_per_node"] == 2 and data["settings"]["task_scheduling"] == "pack"
    assert data["timeline"][0]["t_s"] == 0 and len(data["timeline"]) == 2 * 120 + 1
    assert (
        data["evaluations"] == [] and s["evaluations"] == 0
    )  # a fixed-scale pool has no formula to evaluate
    assert max(r["dedicated"] for r in data["timeline"]) == 2


def test_csv_output(fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(small), "-f", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["time"] == "2024-01-01T00:00:00.000Z"
    assert rows[12]["t_s"] == "360" and rows[12]["dedicated"] == "2" and rows[12]["low_priority"] == "1"
    assert rows[12]["running"] == "4"


def test_table_output_has_summary_and_chart(
    fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(small), "--width", "60"]) == 0
    out = capsys.readouterr().out
    assert "12 submitted, 12 completed" in out
    assert "makespan     27m" in out
    assert "tasks: █ queued" in out and "nodes: █ dedicated" in out
    assert "▒" in out  # the low-priority node


def test_expect_failure_exits_1_with_diagnostic(
    fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "simulate",
            "formula",
            str(fixed_pool),
            "-s",
            str(small),
            "-f",
            "json",
            "--expect",
            "wait_p95_s<=5m",
            "--expect",
            "cost<=100",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "error[SM001]" in err
    assert 'expected wait_p95_s <= 300 for "fixed.json", got 1020 (17m)' in err
    assert "cost" not in err.split("SM001")[1].split("\n")[0]


def test_expect_passing_exits_0(fixed_pool: Path, small: Path) -> None:
    assert (
        main(
            [
                "simulate",
                "formula",
                str(fixed_pool),
                "-s",
                str(small),
                "-f",
                "json",
                "--expect",
                "makespan_s==1620",
                "--expect",
                "evaluation_errors == 0",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("wait<=5", 'unknown figure "wait"'),
        ("wait_p95_s<=soon", '"soon" is not a number'),
        ("wait_p95_s", "is not a check"),
        ("cost.p77<=1", 'unknown statistic "p77"'),
    ],
)
def test_bad_expect_exits_2(
    fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str], expect: str, message: str
) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(small), "--expect", expect]) == 2
    assert message in capsys.readouterr().err


def test_bad_scenario_exits_2_with_positions(
    fixed_pool: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration: 1h\nworkload:\n  - {at: 0s, tasks: 3, duration: 5 minutes}\n", encoding="utf-8")
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f'{bad.as_posix()}:3:34: error[SM103] "workload[0].duration" is not a duration: "5 minutes"' in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-s", "nonesuch"],
            'scenario "nonesuch" is neither a file nor a built-in scenario (built-ins: burst,',
        ),
        (["-s", "dirunal"], 'is neither a file nor a built-in scenario; did you mean "diurnal"?'),
        (["--duration", "soon"], '--duration "soon" is not a duration'),
        (["--runs", "0"], "--runs must be between 1"),
        (["--runs", "2", "-f", "csv"], "--format csv writes a timeline"),
        (["--seed", "-1"], "--seed must be zero or positive"),
        (["--width", "-3"], "--width must be between 20 and 1000 columns"),
        (["--width", "100000"], "--width must be between 20 and 1000 columns"),
    ],
)
def test_bad_options_exit_2(
    fixed_pool: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["simulate", "formula", str(fixed_pool), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "formula", str(tmp_path / "nope.formula")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_runs_report_percentiles(fixed_pool: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "formula",
            str(fixed_pool),
            "-s",
            "steady",
            "--duration",
            "2h",
            "--runs",
            "4",
            "-j",
            "2",
            "-f",
            "json",
            "--expect",
            "tasks_submitted.max>=1",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == 4 and len(data["summaries"]) == 4
    submitted = sorted(s["tasks_submitted"] for s in data["summaries"])
    assert data["percentiles"]["tasks_submitted"]["min"] == submitted[0]
    assert data["percentiles"]["tasks_submitted"]["max"] == submitted[-1]
    assert len(set(submitted)) > 1  # different seeds, different Poisson streams


def test_plot_writes_png(fixed_pool: Path, small: Path, tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    assert (
        main(["simulate", "formula", str(fixed_pool), "-s", str(small), "-f", "json", "--plot", str(out)])
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_on_stderr_when_forced(
    fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(small), "-f", "json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "simulating fixed.json on small… 100%" in captured.err
    assert captured.out.startswith("{")  # stdout carries only the chosen format


def test_no_progress_by_default_when_not_a_terminal(
    fixed_pool: Path, small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "formula", str(fixed_pool), "-s", str(small), "-f", "json"]) == 0
    assert capsys.readouterr().err == ""


def test_simulate_without_what_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    assert "batchspec simulate formula" in capsys.readouterr().err


def test_runs_with_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.formula"
    b = tmp_path / "b.formula"
    a.write_text("$TargetDedicatedNodes = 1;", encoding="utf-8")
    b.write_text("$TargetDedicatedNodes = 6;", encoding="utf-8")
    code = main(
        [
            "simulate",
            "formula",
            str(a),
            "--compare",
            str(b),
            "-s",
            "steady",
            "--duration",
            "2h",
            "--runs",
            "3",
            "-j",
            "1",
            "--expect",
            "wait_p95_s.p95<=15m",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # one node cannot keep up with 60 tasks/h of about 3.4 minutes; six can
    assert "median (p5..p95) across runs" in captured.out
    assert captured.out.count("a.formula") == 1 and "b.formula" in captured.out
    assert '"a.formula"' in captured.err and '"b.formula"' not in captured.err


def test_hostile_scenario_files_exit_2_cleanly(
    fixed_pool: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00duration")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    replay_dir = tmp_path / "replay.yaml"
    replay_dir.write_text("duration: 1h\nworkload: [{replay: folder.yaml}]\n", encoding="utf-8")
    for path, message in (
        (binary, "not UTF-8"),
        (folder, "is a directory"),
        (replay_dir, 'error[SM105] cannot read replay file "folder.yaml"'),
    ):
        assert main(["simulate", "formula", str(fixed_pool), "-s", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_scenarios_list_and_print(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "scenarios"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == ["burst", "steady", "diurnal", "new-pool"]
    assert main(["simulate", "scenarios", "steady"]) == 0
    assert "rate: 60/h" in capsys.readouterr().out
    assert main(["simulate", "scenarios", "nope"]) == 2
    assert 'no built-in scenario "nope"' in capsys.readouterr().err


def test_help_has_plain_text_examples_and_real_figures(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from batchspec.cli.simulate import FORMULA_EPILOG
    from batchspec.sim.report import SUMMARY_KEYS

    assert main(["simulate", "formula", "--help"]) == 0
    out = capsys.readouterr().out
    assert "``" not in out  # no reStructuredText markup from a docstring
    assert "batchspec simulate formula new.formula --compare old.formula" in out
    assert "Exit codes: 0 done (every --expect holds), 1 an --expect check failed, 2 bad input" in out
    # every figure the help names for --expect is one the summary has
    named = FORMULA_EPILOG.split("--expect figures:", 1)[1].split("...", 1)[0]
    figures = re.findall(r"[a-z][a-z0-9_]+", named)
    assert len(figures) >= 14
    assert set(figures) <= set(SUMMARY_KEYS)


def test_a_spec_folder_points_at_its_formula_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formula errors and --expect failures name the file holding the formula, not the folder given."""
    import shutil

    repo = Path(__file__).resolve().parents[2]
    spec = tmp_path / "qs"
    shutil.copytree(repo / "examples" / "quickstart", spec, ignore=shutil.ignore_patterns("results"))
    formula = spec / "autoscale.formula"
    good = formula.read_text()
    assert main(["simulate", "formula", str(spec), "-f", "json", "--expect", "cost<0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'{formula.as_posix()}:1:1: error[SM001] expected cost < 0 for "quickstart (qs)"')
    formula.write_text(good + "$TargetDedicatedNodes = $PendingTask.GetSample(1);\n")
    assert main(["simulate", "formula", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'{formula.as_posix()}:9:25: error[FM101] undefined variable "$PendingTask"')
    # "." is named after the folder
    formula.write_text(good)
    monkeypatch.chdir(spec)
    assert main(["simulate", "formula", ".", "-f", "json", "--expect", "cost<0"]) == 1
    assert 'for "quickstart (qs)"' in capsys.readouterr().err


def test_formula_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import json

    class Stdin:
        buffer = io.BytesIO("\ufeff$TargetDedicatedNodes = 2;\n".encode())

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["simulate", "formula", "-", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "-" and data["summary"]["peak_dedicated_nodes"] == 2
    Stdin.buffer = io.BytesIO(b"$TargetDedicatedNodes = 2 +;\n")
    assert main(["simulate", "formula", "-"]) == 2
    assert capsys.readouterr().err.startswith('-:1:28: error[FM001] unexpected ";"')
    assert main(["simulate", "formula", "-", "--compare", "-"]) == 2
    assert "stdin (-) holds one formula; give it once" in capsys.readouterr().err


def test_env_overlay_is_simulated_like_apply_deploys_it(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/autoscale-env: prod has 16 slots and up to 40 nodes, the default 4 slots and up to 4 nodes."""
    import json

    spec = str(Path(__file__).resolve().parents[2] / "examples" / "autoscale-env")
    assert main(["simulate", "formula", spec, "--env", "prod", "--compare", spec, "-f", "json"]) == 0
    prod, default = json.loads(capsys.readouterr().out)["results"]
    assert prod["name"].startswith("render-prod") and default["name"].startswith("render-default")
    assert (prod["settings"]["task_slots_per_node"], default["settings"]["task_slots_per_node"]) == (16, 4)
    # 100 burst tasks: ceil(100 / 16) = 7 nodes in prod; the default stops at its cap of 4
    assert (prod["summary"]["peak_dedicated_nodes"], default["summary"]["peak_dedicated_nodes"]) == (7, 4)
    assert main(["simulate", "formula", spec, "--compare", spec, "--compare-env", "prod", "-f", "json"]) == 0
    default, prod = json.loads(capsys.readouterr().out)["results"]
    assert prod["summary"]["peak_dedicated_nodes"] == 7
    assert main(["simulate", "formula", spec, "--env", "qa"]) == 2
    assert 'unknown environment "qa" (environments: prod)' in capsys.readouterr().err
    formula = str(Path(__file__).resolve().parents[2] / "examples" / "simulate" / "pending-tasks.formula")
    assert main(["simulate", "formula", formula, "--env", "prod"]) == 2
    assert "--env applies to a batchspec spec" in capsys.readouterr().err
