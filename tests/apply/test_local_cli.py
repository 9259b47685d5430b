"""plan/apply/status/destroy as users run them, against the local Batch service through the real Azure SDKs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from batchspec.cli.main import main
from tests.apply.conftest import unique, write_spec

AUTOSCALE = 'autoScale:\n    formula: "$TargetDedicatedNodes = 1;"\n    evaluationInterval: PT5M'


def test_apply_twice_then_plan_edits_then_destroy(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, job = unique("cli-pool"), unique("cli-job")
    spec = write_spec(tmp_path, pool_id=pool, job_id=job, tasks=6, command="/bin/echo hello", scale=AUTOSCALE)

    assert main(["apply", str(spec), "--yes"]) == 0
    err = capsys.readouterr().err
    assert f'created pool "{pool}"' in err and f'created job "{job}"' in err
    assert "all 6 tasks succeeded" in err

    # a second run changes nothing and adds nothing
    assert main(["plan", str(spec), "--detailed-exitcode"]) == 0
    assert "No changes" in capsys.readouterr().out
    assert main(["apply", str(spec), "--yes"]) == 0
    err = capsys.readouterr().err
    assert "created" not in err and "added tasks" not in err
    assert main(["status", str(spec), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"][0]["tasks"] == {
        "active": 0,
        "running": 0,
        "completed": 6,
        "succeeded": 6,
        "failed": 0,
    }
    assert data["pool"]["exists"] is True

    # a formula change is an in-place update
    write_spec(
        tmp_path,
        pool_id=pool,
        job_id=job,
        tasks=6,
        command="/bin/echo hello",
        scale=AUTOSCALE.replace("= 1;", "= 2;"),
    )
    assert main(["plan", str(spec), "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert "update in place" in out and "$TargetDedicatedNodes = 2;" in out
    assert main(["plan", str(spec), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["pool"]["action"] == "update-in-place"
    assert (
        plan["pool"]["changes"][0]["differences"][0]["path"] == "properties.scaleSettings.autoScale.formula"
    )

    # a VM size change needs zero nodes: explained, refused, nothing changed
    write_spec(
        tmp_path,
        pool_id=pool,
        job_id=job,
        tasks=6,
        command="/bin/echo hello",
        scale=AUTOSCALE,
        vm_size="STANDARD_D4S_V3",
    )
    assert main(["plan", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "needs zero nodes" in out and "--drain" in out
    assert main(["apply", str(spec), "--yes"]) == 1
    assert "apply refused; nothing was changed" in capsys.readouterr().err

    assert main(["destroy", str(spec), "--yes"]) == 0
    assert f'deleted pool "{pool}"' in capsys.readouterr().err
    assert main(["status", str(spec), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["pool"]["exists"] is False


def test_drain_applies_a_vm_size_change(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = unique("drain-pool")
    spec = write_spec(tmp_path, pool_id=pool, scale=AUTOSCALE)
    assert main(["apply", str(spec), "--yes"]) == 0
    write_spec(tmp_path, pool_id=pool, scale=AUTOSCALE, vm_size="STANDARD_D4S_V3")
    assert main(["apply", str(spec), "--yes", "--drain"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "restored its scale settings" in err
    assert main(["plan", str(spec), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["has_changes"] is False


def test_failed_tasks_exit_1_and_show_stderr(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, job = unique("fail-pool"), unique("fail-job")
    spec = write_spec(
        tmp_path,
        pool_id=pool,
        job_id=job,
        tasks=2,
        command="/bin/sh -c 'echo converting >&2; echo broken input file >&2; exit 3'",
    )
    assert main(["apply", str(spec), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "failed with exit code 3" in err
    assert "| broken input file" in err
    assert "2 of 2 tasks failed" in err


def test_start_task_failure_fails_fast(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, job = unique("st-pool"), unique("st-job")
    spec = write_spec(
        tmp_path,
        pool_id=pool,
        job_id=job,
        tasks=2,
        start_task="/bin/sh -c 'echo E: Unable to locate package foo >&2; exit 100'",
    )
    assert main(["apply", str(spec), "--yes", "--timeout", "60"]) == 1
    err = capsys.readouterr().err
    assert "start task failed on node" in err
    assert "Unable to locate package foo" in err
    assert "Fix it, then run `batchspec apply --drain`" in err

    # fixed start task: as on Azure, the node that failed keeps its failed start task, so a plain apply updates the
    # pool and fails again; --drain replaces the failed node and the tasks run
    write_spec(tmp_path, pool_id=pool, job_id=job, tasks=2, start_task="/bin/sh -c 'echo installed'")
    assert main(["apply", str(spec), "--yes", "--timeout", "60"]) == 1
    err = capsys.readouterr().err
    assert "update in place + node reboot" in err and "start task failed on node" in err
    assert main(["apply", str(spec), "--yes", "--drain", "--timeout", "60"]) == 0
    err = capsys.readouterr().err
    assert "whose start task failed" in err and "its nodes are new" in err
    assert "all 2 tasks succeeded" in err


def test_confirmation_is_required_without_a_terminal(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = unique("ask-pool")
    spec = write_spec(tmp_path, pool_id=pool)
    assert main(["apply", str(spec)]) == 2
    assert "apply needs confirmation but stdin is not a terminal; pass --yes" in capsys.readouterr().err
    # nothing exists: destroy says so and has nothing to ask
    assert main(["destroy", str(spec)]) == 0
    assert f'Nothing to destroy: pool "{pool}" does not exist.' in capsys.readouterr().err
    assert main(["apply", str(spec), "--yes"]) == 0
    capsys.readouterr()
    assert main(["destroy", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f'- pool "{pool}" will be deleted with its 1 node' in err
    assert (
        "destroy needs confirmation but stdin is not a terminal; pass --yes to destroy without asking" in err
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_destroy_asks_and_only_yes_deletes(
    tmp_path: Path, use_service: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, job = unique("confirm-pool"), unique("confirm-job")
    spec = write_spec(tmp_path, pool_id=pool, job_id=job, tasks=3)
    assert main(["apply", str(spec), "--yes"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(["destroy", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f'- job "{job}" will be deleted with its 3 tasks' in err
    assert "Only 'yes' will be accepted" in err and "destroy cancelled; nothing was deleted" in err
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    assert main(["destroy", str(spec)]) == 0
    err = capsys.readouterr().err
    assert f'deleted job "{job}"' in err and f'deleted pool "{pool}"' in err


def test_missing_spec_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "nope.yaml"), "--detailed-exitcode"]) == 1


def test_commands_share_the_service_that_another_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One state dir is served by one process: a second command connects to the first one's service."""
    import os
    import subprocess
    import sys

    from tests.apply.conftest import wait_for

    state = tmp_path / "state"
    monkeypatch.delenv("BATCHSPEC_LOCAL_CONNECTION", raising=False)
    monkeypatch.setenv("BATCHSPEC_LOCAL_STATE_DIR", str(state))
    pool, job = unique("share-pool"), unique("share-job")
    spec = write_spec(tmp_path / "spec", pool_id=pool, job_id=job, tasks=2, command="/bin/sleep 2")
    env = {k: v for k, v in os.environ.items() if k != "BATCHSPEC_LOCAL_CONNECTION"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        wait_for(lambda: (state / "connection.json").exists(), timeout=60)

        def job_visible() -> bool:
            assert main(["status", str(spec), "--format", "json"]) == 0
            return bool(json.loads(capsys.readouterr().out)["jobs"][0]["exists"])

        wait_for(job_visible, timeout=60, interval=0.2)
    finally:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()  # type: ignore[union-attr]
    assert not (state / "connection.json").exists()  # the owner cleaned up when its service stopped
    # the state persists: a new command (its own service now) sees the finished job
    assert main(["status", str(spec), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"][0]["tasks"]["succeeded"] == 2


def test_apply_refuses_before_asking(
    tmp_path: Path, use_service: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan apply would refuse is refused at once: no question whose 'yes' leads nowhere."""
    pool, job = unique("refuse-pool"), unique("refuse-job")
    spec = write_spec(tmp_path, pool_id=pool, job_id=job, tasks=2, command="/bin/echo one")
    assert main(["apply", str(spec), "--yes"]) == 0
    write_spec(tmp_path, pool_id=pool, job_id=job, tasks=2, command="/bin/echo two")
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    assert main(["apply", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "Do you want to perform these actions?" not in err
    assert "apply refused; nothing was changed" in err and "--replace-jobs recreates the job" in err
