"""Small pieces: colour rules, the progress line, bounded retries, Retry-After parsing, big tasks for real."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from batchspec.apply.azure import _retry_after
from batchspec.apply.backend import ServiceError, TaskCounts
from batchspec.apply.follow import Progress
from batchspec.apply.render import use_colour
from batchspec.apply.runner import retry_transient


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty())
    assert not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())


def test_progress_redraws_one_line_on_a_terminal_and_prints_changes_elsewhere() -> None:
    tty = Tty()
    p = Progress(tty, clock=lambda: 0.0)
    p.update("job", TaskCounts(active=3, running=1), 4)
    p.finish("job", TaskCounts(completed=4, succeeded=4), 4)
    out = tty.getvalue()
    assert out.startswith("\r\x1b[2Kjob [") and out.endswith(
        "4/4 done, 0 running, 0 queued, 0 failed  00:00\n"
    )
    log = io.StringIO()
    now = [0.0]
    p = Progress(log, tty=False, min_interval=5, clock=lambda: now[0])
    for t, done in ((0, 0), (1, 1), (6, 2), (7, 2), (20, 2)):
        now[0] = t
        p.update("job", TaskCounts(active=4 - done, completed=done), 4)
    lines = log.getvalue().splitlines()
    assert [line.split("]")[1].split(",")[0] for line in lines] == [" 0/4 done", " 2/4 done"]
    assert "\r" not in log.getvalue()


def test_retry_transient_retries_a_bounded_number_of_times() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ServiceError("busy", status=503, transient=True, retry_after=2.0)
        return "ok"

    assert retry_transient(flaky, sleep=slept.append) == "ok"
    assert slept == [2.0, 2.0]

    def down() -> None:
        raise ServiceError("down", status=500, transient=True)

    with pytest.raises(ServiceError):
        retry_transient(down, attempts=3, sleep=lambda s: None)

    def refused() -> None:
        calls.append(1)
        raise ServiceError("bad", status=400, code="InvalidPropertyValue")

    calls.clear()
    with pytest.raises(ServiceError, match="bad"):
        retry_transient(refused, sleep=lambda s: None)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"x-ms-retry-after-ms": "250"}, 0.25),
        ({}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert _retry_after(SimpleNamespace(response=SimpleNamespace(headers=headers))) == expected


def test_large_tasks_are_chunked_under_the_real_services_size_limit(backend: object) -> None:
    """40 tasks of ~60 KB: the service refuses bodies of 1 MB or more; the engine never sends one."""
    from batchspec.apply.submit import submit_tasks
    from tests.apply.conftest import unique

    job = unique("big-job")
    backend.create_job({"id": job, "poolInfo": {"poolId": "no-such-pool-needed"}})  # type: ignore[attr-defined]
    tasks = [{"id": f"big-{i}", "commandLine": "/bin/echo " + "x" * 60_000} for i in range(40)]
    report = submit_tasks(backend.add_task_collection, job, tasks)  # type: ignore[attr-defined]
    assert report.failed == {} and len(report.added) == 40
    assert report.requests == 3 and report.splits == 0
    assert len(backend.list_tasks(job, select=["id"])) == 40  # type: ignore[attr-defined]


def test_follow_hints_once_when_tasks_wait_on_a_pool_without_nodes() -> None:
    from batchspec.apply.follow import follow_job
    from tests.apply.fakes import FakeBackend

    backend = FakeBackend()
    now = [0.0]
    polls = [0]

    def counts(job_id: str) -> TaskCounts:
        polls[0] += 1
        if polls[0] > 200:
            return TaskCounts(completed=2, succeeded=2)
        return TaskCounts(active=2)

    backend.task_counts = counts  # type: ignore[method-assign]
    backend.list_tasks = lambda job_id, select=None: []  # type: ignore[method-assign]
    hints: list[str] = []

    def sleep(s: float) -> None:
        now[0] += 1.0

    result = follow_job(
        backend,
        "j",
        "empty-pool",
        2,
        clock=lambda: now[0],
        sleep=sleep,
        stall_after=60,
        on_stall=hints.append,
    )
    assert result.ok
    assert len(hints) == 1
    assert 'pool "empty-pool" has had no nodes for 6' in hints[0]


def test_follow_timeout_says_the_tasks_go_on_and_how_to_see_them() -> None:
    from batchspec.apply.follow import follow_job, format_failures
    from tests.apply.fakes import FakeBackend

    backend = FakeBackend()
    now = [0.0]
    backend.task_counts = lambda job_id: TaskCounts(active=1, running=2, completed=1, succeeded=1)  # type: ignore[method-assign]

    def sleep(s: float) -> None:
        now[0] += 1.0

    result = follow_job(backend, "j", "p", 4, clock=lambda: now[0], sleep=sleep, timeout=5)
    assert result.timed_out and not result.ok
    assert format_failures(result) == (
        'gave up waiting for job "j" (--timeout) with 1/4 done, 2 running, 1 queued; the tasks go on: '
        "`batchspec status` shows them and `batchspec apply` again follows them to the end"
    )


def test_status_text_shows_autoscale_errors_and_missing_things() -> None:
    from batchspec.apply.runner import render_status

    text = render_status(
        {
            "pool": {
                "id": "p",
                "exists": True,
                "vmSize": "STANDARD_D2S_V3",
                "allocationState": "Steady",
                "currentDedicatedNodes": 0,
                "currentLowPriorityNodes": 0,
                "scaleMode": "autoScale",
                "nodes": {},
                "autoScaleRun": {
                    "evaluationTime": "2026-01-01T00:00:00Z",
                    "results": "$TargetDedicatedNodes=0",
                    "error": {
                        "code": "InsufficientSampleData",
                        "message": "bad",
                        "details": [{"code": "Message", "message": "Line 1, Col 52: Insufficient data"}],
                    },
                },
            },
            "jobs": [{"id": "j", "exists": False, "tasks_in_spec": 3, "state": None, "tasks": {}}],
        }
    )
    assert (
        "autoscale last run 2026-01-01T00:00:00Z: error InsufficientSampleData: bad\n"
        "    Line 1, Col 52: Insufficient data\n"
        "    results before the failure: $TargetDedicatedNodes=0\n"
    ) in text
    assert 'job "j": does not exist (3 tasks in the spec)' in text


def test_azure_target_comes_from_the_spec_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from batchspec.cli.plan import _azure_target
    from batchspec.errors import BatchspecError

    spec_target = SimpleNamespace(kind="azure", subscription_id=None, resource_group="rg", account_name=None)
    project = SimpleNamespace(target=spec_target)
    for name in ("AZURE_SUBSCRIPTION_ID", "BATCHSPEC_RESOURCE_GROUP", "BATCHSPEC_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BatchspecError) as info:
        _azure_target(project)
    # the spec key is account: (not target:), and only the missing settings are named
    assert str(info.value) == (
        "the spec targets an Azure Batch account but does not say which subscription, account: set "
        "account.subscriptionId, account.name in the spec, or the environment variables AZURE_SUBSCRIPTION_ID, "
        "BATCHSPEC_ACCOUNT_NAME"
    )
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub")
    monkeypatch.setenv("BATCHSPEC_ACCOUNT_NAME", "acct")
    target = _azure_target(project)
    assert (target.kind, target.subscription_id, target.resource_group, target.account_name) == (
        "azure",
        "sub",
        "rg",
        "acct",
    )
    assert target.management_url is None and target.ca_file is None


def test_confirmation_accepts_only_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchspec.cli.apply import confirm

    for answer, expected in (("yes\n", True), ("y\n", False), ("no\n", False), ("", False)):
        monkeypatch.setattr("sys.stdin", Tty(answer))
        assert confirm("Do you want to perform these actions?") is expected
    assert "Only 'yes' will be accepted" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["plan", "apply", "status", "destroy"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from batchspec.cli.main import main

    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)[1].splitlines()
    assert examples[0].startswith(f"  batchspec {command} ")
    if command == "plan":
        assert "-/+  needs recreation (--replace)" in out
    if command == "apply":
        assert "exit codes: 0 every task succeeded" in out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--concurrency", "0"], "--concurrency must be between 1 and 64"),
        (["--concurrency", "65"], "--concurrency must be between 1 and 64"),
        (["--timeout", "-5"], "--timeout must be a positive number of seconds, got -5"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds, got 0"),
        (["--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
    ],
)
def test_bad_apply_options_exit_2_before_anything_runs(
    option: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchspec.cli.main import main

    # the spec does not even exist: options are checked first, nothing is read or contacted
    assert main(["apply", str(tmp_path / "nope"), "--yes", *option]) == 2
    assert capsys.readouterr().err == f"batchspec: error: {message}\n"
