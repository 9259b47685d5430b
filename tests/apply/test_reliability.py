"""Reliability of apply against the local Batch service, through the real Azure SDKs (issue 8).

* faults (throttling, server errors, dropped connections, partial add-collection failures): 5,000 tasks end as
  exactly 5,000 tasks;
* an apply killed with SIGKILL in the middle of submission, run again, ends with exactly the right tasks;
* two applies at once: one wins, the other fails cleanly on the ETag / If-None-Match check;
* wrong credentials, an unreachable endpoint, a missing account: a clear message and exit 2 within seconds;
* secrets in the spec never appear in plan output, logs or error messages.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchspec.cli.main import main
from tests.apply.conftest import unique, wait_for, write_spec

REPO = Path(__file__).resolve().parents[2]
NO_NODES = "fixedScale:\n    targetDedicatedNodes: 0"


def _service(tmp: Path, faults: str) -> object:
    from batchspec.local.service import LocalBatchService

    return LocalBatchService(tmp, time_scale=60, allocation_delay=0.05, faults=faults).start()


def _task_ids(backend: object, job_id: str) -> list[str]:
    return [t["id"] for t in backend.list_tasks(job_id, select=["id"])]  # type: ignore[attr-defined]


@pytest.fixture
def faulty_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    svc = _service(
        tmp_path_factory.mktemp("faulty"),
        "429=0.04,503=0.04,500=0.02,reset=0.02,partial=0.03,retry-after=50ms,seed=11",
    )
    try:
        yield svc
    finally:
        svc.stop()  # type: ignore[attr-defined]


def _connect(svc: object) -> object:
    from batchspec.apply.azure import connect
    from batchspec.cli.plan import _local_target_from_connection

    return connect(_local_target_from_connection(svc.connection))  # type: ignore[attr-defined]


def _write_connection(svc: object, path: Path, **override: str) -> Path:
    data = json.loads(svc.connection.to_json())  # type: ignore[attr-defined]
    data.update(override)
    path.write_text(json.dumps(data))
    return path


def test_5000_tasks_under_faults_end_exactly_once(
    tmp_path: Path,
    faulty_service: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(
        "BATCHSPEC_LOCAL_CONNECTION", str(_write_connection(faulty_service, tmp_path / "c.json"))
    )
    pool, job = unique("faults-pool"), unique("faults-job")
    spec = write_spec(tmp_path / "spec", pool_id=pool, job_id=job, tasks=5000, scale=NO_NODES)
    code = main(["apply", str(spec), "--yes", "--no-wait"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "5000/5000 accepted" in err
    # verify through a client of the same (faulty) service: the SDK retries reads
    ids = _task_ids(_connect(faulty_service), job)
    assert len(ids) == 5000
    assert len({i.lower() for i in ids}) == 5000
    assert {f"task-{n:05d}" for n in range(5000)} == set(ids)
    # and a second apply finds nothing to add
    assert main(["plan", str(spec), "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["jobs"][0]["tasks"]["present"] == 5000 and plan["jobs"][0]["tasks"]["to_add"] == 0


def test_sigkill_mid_submission_then_rerun_gives_exactly_the_tasks(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    svc = _service(tmp_path_factory.mktemp("slow"), "latency=15ms")
    try:
        conn = _write_connection(svc, tmp_path / "c.json")
        pool, job = unique("kill-pool"), unique("kill-job")
        spec = write_spec(tmp_path / "spec", pool_id=pool, job_id=job, tasks=3000, scale=NO_NODES)
        env = dict(os.environ, BATCHSPEC_LOCAL_CONNECTION=str(conn))
        cmd = [
            sys.executable,
            "-m",
            "batchspec",
            "apply",
            str(spec),
            "--yes",
            "--no-wait",
            "--concurrency",
            "2",
        ]
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        backend = _connect(svc)

        def some_tasks() -> int:
            if backend.get_job(job) is None:  # type: ignore[attr-defined]
                return 0
            return backend.task_counts(job).active  # type: ignore[attr-defined]

        try:
            wait_for(lambda: some_tasks() >= 200, timeout=60, interval=0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        partial = len(_task_ids(backend, job))
        assert 0 < partial < 3000, "the kill did not land in the middle of submission"
        rerun = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{3000 - partial} tasks to add" in rerun.stderr or "to add" in rerun.stderr
        ids = _task_ids(backend, job)
        assert sorted(ids) == [f"task-{n:05d}" for n in range(3000)]
    finally:
        svc.stop()


def test_two_applies_at_once_one_wins_the_other_fails_cleanly(local_service: object, tmp_path: Path) -> None:
    """Both plan against the same live state, then both apply: the second write fails its precondition."""
    import io

    from batchspec.apply.backend import PreconditionFailed
    from batchspec.apply.runner import ApplyOptions, Console, build_plan, execute
    from batchspec.spec.project import load_project

    pool = unique("race-pool")
    outcomes: dict[str, object] = {}

    def race(specs: dict[str, Path]) -> None:
        plans = {}
        backends = {name: _connect(local_service) for name in specs}
        projects = {name: load_project(path) for name, path in specs.items()}
        for name in specs:
            plans[name] = build_plan(projects[name], backends[name])
        barrier = threading.Barrier(len(specs))

        def run(name: str) -> None:
            barrier.wait()
            try:
                outcomes[name] = execute(
                    plans[name],
                    projects[name],
                    backends[name],
                    ApplyOptions(wait=False),
                    Console(io.StringIO()),
                )
            except Exception as exc:
                outcomes[name] = exc

        threads = [threading.Thread(target=run, args=(n,)) for n in specs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    # 1. both create the same pool: If-None-Match: * lets exactly one through
    a = write_spec(tmp_path / "a", pool_id=pool, job_id=pool + "-job", tasks=50, scale=NO_NODES)
    b = write_spec(tmp_path / "b", pool_id=pool, job_id=pool + "-job", tasks=50, scale=NO_NODES)
    race({"a": a, "b": b})
    results = sorted(outcomes.values(), key=lambda v: isinstance(v, Exception))
    assert results[0] == 0
    assert isinstance(results[1], PreconditionFailed), results
    assert "created by someone else" in str(results[1])
    backend = _connect(local_service)
    assert len(_task_ids(backend, pool + "-job")) == 50

    # 2. both change the formula from the same ETag: If-Match lets exactly one through
    outcomes.clear()
    scale = 'autoScale:\n    formula: "$TargetDedicatedNodes = {n};"\n    evaluationInterval: PT5M'
    a = write_spec(tmp_path / "a", pool_id=pool, scale=scale.format(n=0))
    b = write_spec(tmp_path / "b", pool_id=pool, scale=scale.format(n=0).replace("= 0;", "= 0 * 1;"))
    race({"a": a, "b": b})
    winners = [n for n, v in outcomes.items() if v == 0]
    losers = [v for v in outcomes.values() if isinstance(v, Exception)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], PreconditionFailed) and "ETag" in str(losers[0])
    live = backend.get_pool(pool)  # type: ignore[attr-defined]
    formula = live.properties["scaleSettings"]["autoScale"]["formula"]
    assert formula == ("$TargetDedicatedNodes = 0;" if winners == ["a"] else "$TargetDedicatedNodes = 0 * 1;")


def test_two_apply_processes_at_once_leave_no_duplicates(
    local_service: object, connection_file: Path, tmp_path: Path
) -> None:
    pool, job = unique("twoproc-pool"), unique("twoproc-job")
    spec = write_spec(tmp_path, pool_id=pool, job_id=job, tasks=400, scale=NO_NODES)
    env = dict(os.environ, BATCHSPEC_LOCAL_CONNECTION=str(connection_file))
    cmd = [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes", "--no-wait"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert code in (0, 1), err
        assert "Traceback" not in err
        if code == 1:
            assert "someone else" in err
    assert sorted(_task_ids(_connect(local_service), job)) == [f"task-{n:05d}" for n in range(400)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_secret": "not-the-secret"}, "authentication failed against local Batch service"),
        (
            {"management_url": "https://127.0.0.1:{port}"},
            "cannot reach local Batch service at https://127.0.0.1:",
        ),
        (
            {"management_url": "https://127.0.0.1:{port}", "authority_host": "https://127.0.0.1:{port}"},
            "authentication failed",
        ),
        ({"account_name": "nosuchaccount"}, 'Batch account "nosuchaccount" not found'),
    ],
    ids=["wrong-secret", "unreachable-endpoint", "unreachable-token-endpoint", "missing-account"],
)
def test_bad_credentials_endpoints_and_accounts_fail_fast_with_exit_2(
    local_service: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, str],
    message: str,
) -> None:
    port = _closed_port()
    conn = _write_connection(
        local_service, tmp_path / "c.json", **{k: v.format(port=port) for k, v in override.items()}
    )
    monkeypatch.setenv("BATCHSPEC_LOCAL_CONNECTION", str(conn))
    spec = write_spec(tmp_path / "spec", pool_id=unique("auth-pool"))
    start = time.monotonic()
    assert main(["plan", str(spec)]) == 2
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert main(["apply", str(spec), "--yes"]) == 2


SECRET_START = "Zq8-start-task-secret-value"
SECRET_TASK = "Kx3-task-api-token-value"


def test_secrets_never_reach_plans_logs_or_errors(
    tmp_path: Path, use_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, job = unique("secret-pool"), unique("secret-job")
    spec = write_spec(
        tmp_path,
        pool_id=pool,
        job_id=job,
        tasks=2,
        command="/bin/sh -c 'echo token is $API_TOKEN >&2; exit 1'",
        pool_extra=f"    environment:\n      DB_PASSWORD: {SECRET_START}\n",
        task_extra=f"          environment:\n            API_TOKEN: {SECRET_TASK}\n",
    )
    seen = []
    assert main(["plan", str(spec)]) == 0
    seen.append(capsys.readouterr())
    assert main(["plan", str(spec), "--format", "json"]) == 0
    seen.append(capsys.readouterr())
    assert main(["apply", str(spec), "--yes"]) == 1  # the tasks fail and print the token to stderr
    seen.append(capsys.readouterr())
    assert main(["status", str(spec), "--format", "json"]) == 0
    seen.append(capsys.readouterr())
    everything = "".join(c.out + c.err for c in seen)
    assert "token is (sensitive)" in everything  # the failed task's stderr was shown, scrubbed
    assert "(sensitive)" in everything
    assert SECRET_START not in everything and SECRET_TASK not in everything
