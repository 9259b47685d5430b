"""Tasks and start tasks really run on this machine, as processes on local "nodes"."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .conftest import pool_ready, read_file, run_job, unique, wait_for

PY = sys.executable


def test_task_environment_and_directory_layout(batch, make_pool):
    pool = make_pool(nodes=1)
    script = (
        "import os; print('\\n'.join(f'{k}={v}' for k, v in sorted(os.environ.items()) "
        "if k.startswith('AZ_BATCH') or k == 'MY_SETTING')); print('cwd=' + os.getcwd())"
    )
    job_id = run_job(
        batch,
        pool,
        [
            {
                "id": "env",
                "commandLine": f'{PY} -c "{script}"',
                "environmentSettings": [{"name": "MY_SETTING", "value": "a b"}],
            }
        ],
    )
    env = dict(line.split("=", 1) for line in read_file(batch, job_id, "env").splitlines())
    assert env["AZ_BATCH_JOB_ID"] == job_id and env["AZ_BATCH_TASK_ID"] == "env"
    assert env["AZ_BATCH_POOL_ID"] == pool and env["MY_SETTING"] == "a b"
    wd = Path(env["AZ_BATCH_TASK_WORKING_DIR"])
    assert wd.parts[-5:] == ("workitems", job_id, "job-1", "env", "wd")
    assert Path(env["cwd"]) == wd
    root = Path(env["AZ_BATCH_NODE_ROOT_DIR"])
    assert Path(env["AZ_BATCH_NODE_SHARED_DIR"]) == root / "shared" and (root / "startup").is_dir()
    assert env["AZ_BATCH_NODE_ID"] == batch.get_task(job_id, "env").node_info.node_id
    assert "BATCHSPEC_LOCAL_FAULTS" not in env


def test_command_line_runs_without_a_shell(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(
        batch,
        pool,
        [
            {"id": "literal", "commandLine": "echo $HOME 'two words' > out"},
            {"id": "shell", "commandLine": "/bin/sh -c 'echo $AZ_BATCH_TASK_ID'"},
            {"id": "missing", "commandLine": "no-such-program-xyz --flag"},
            {"id": "not-executable", "commandLine": "/dev/null"},
            {"id": "unclosed", "commandLine": "/bin/sh -c 'echo hi"},
        ],
    )
    assert read_file(batch, job_id, "literal") == "$HOME two words > out\n"
    assert read_file(batch, job_id, "shell") == "shell\n"
    missing = batch.get_task(job_id, "missing")
    assert missing.execution_info.result == "failure"
    info = missing.execution_info.failure_info
    assert (info.code, info.message) == ("CommandProgramNotFound", "The specified command program is not found")
    assert [(d.name, d.value) for d in info.details] == [
        ("Message", "no-such-program-xyz: No such file or directory")
    ]
    assert read_file(batch, job_id, "missing", "stderr.txt") == "no-such-program-xyz: No such file or directory\n"
    info = batch.get_task(job_id, "not-executable").execution_info.failure_info
    assert (info.code, info.details[0].value) == ("CommandLaunchFailed", "/dev/null: Permission denied")
    info = batch.get_task(job_id, "unclosed").execution_info.failure_info
    assert (info.code, info.message) == ("CommandLaunchFailed", "The task command could not be started")
    assert info.details[0].value == "the command line has an unclosed quote: /bin/sh -c 'echo hi"


def test_exit_codes_retries_and_failure_info(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(
        batch,
        pool,
        [
            {
                "id": "fails",
                "commandLine": "/bin/sh -c 'echo oops >&2; exit 3'",
                "constraints": {"maxTaskRetryCount": 2},
            },
            {"id": "ok", "commandLine": "true"},
        ],
    )
    fails = batch.get_task(job_id, "fails")
    info = fails.execution_info
    assert fails.state == "completed" and info.exit_code == 3 and info.result == "failure"
    assert info.retry_count == 2 and info.failure_info.code == "FailureExitCode"
    assert info.failure_info.category == "usererror"
    assert read_file(batch, job_id, "fails", "stderr.txt") == "oops\n"
    ok = batch.get_task(job_id, "ok")
    assert ok.execution_info.exit_code == 0 and ok.execution_info.result == "success"


def test_wall_clock_limit_kills_the_process_group(batch, make_pool, tmp_path):
    pool = make_pool(nodes=1)
    pidfile = tmp_path / "child.pid"
    # the task forks a long sleeper, then hangs itself
    cmd = f"/bin/sh -c 'sleep 300 & echo $! > {pidfile}; sleep 300'"
    started = time.monotonic()
    job_id = run_job(
        batch,
        pool,
        [
            {
                "id": "hang",
                "commandLine": cmd,
                "constraints": {"maxWallClockTime": "PT1S", "maxTaskRetryCount": 3},
            }
        ],
    )
    assert time.monotonic() - started < 10
    info = batch.get_task(job_id, "hang").execution_info
    assert info.result == "failure" and info.failure_info.code == "TaskEnded" and info.retry_count == 0
    child = int(pidfile.read_text())
    wait_for(lambda: not _alive(child), timeout=5)


def test_background_children_do_not_outlive_their_task(batch, make_pool, tmp_path):
    pool = make_pool(nodes=1)
    pidfile = tmp_path / "bg.pid"
    job_id = run_job(
        batch, pool, [{"id": "bg", "commandLine": f"/bin/sh -c 'sleep 300 & echo $! > {pidfile}'"}]
    )
    assert batch.get_task(job_id, "bg").execution_info.result == "success"
    child = int(pidfile.read_text())
    wait_for(lambda: not _alive(child), timeout=5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) counts as dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_flooding_task_is_stopped_at_the_output_cap(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(batch, pool, [{"id": "flood", "commandLine": "yes flood"}], timeout=20)
    info = batch.get_task(job_id, "flood").execution_info
    assert info.result == "failure" and info.failure_info.code == "TaskOutputTooLarge"
    assert batch.get_job_task_counts(job_id).task_counts.failed == 1


def test_dependencies_run_in_order_and_failed_dependencies_block(batch, make_pool):
    pool = make_pool(nodes=1, slots=4)
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": pool}, "usesTaskDependencies": True})
    stamp = f'{PY} -c "import time; print(time.time())"'
    batch.create_task_collection(
        job_id,
        {
            "value": [
                {"id": "c", "commandLine": stamp, "dependsOn": {"taskIds": ["a", "b"]}},
                {"id": "a", "commandLine": f'{PY} -c "import time; time.sleep(0.3); print(time.time())"'},
                {"id": "b", "commandLine": stamp},
                {"id": "bad", "commandLine": "false"},
                {"id": "blocked", "commandLine": "true", "dependsOn": {"taskIds": ["bad"]}},
            ]
        },
    )
    wait_for(lambda: batch.get_task(job_id, "c").state == "completed")
    assert float(read_file(batch, job_id, "c")) >= float(read_file(batch, job_id, "a"))
    wait_for(lambda: batch.get_task(job_id, "bad").state == "completed")
    time.sleep(0.3)
    assert batch.get_task(job_id, "blocked").state == "active"
    no_deps_job = unique("job")
    batch.create_job({"id": no_deps_job, "poolInfo": {"poolId": pool}})
    result = batch.create_task_collection(
        no_deps_job, {"value": [{"id": "x", "commandLine": "true", "dependsOn": {"taskIds": ["y"]}}]}
    )
    assert result.result_values[0].error.code == "TaskDependenciesNotSpecifiedOnJob"


def test_on_all_tasks_complete_terminates_the_job(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(batch, pool, [{"id": "a", "commandLine": "true"}], onAllTasksComplete="terminatejob")
    wait_for(lambda: batch.get_job(job_id).state == "completed")
    assert batch.get_job(job_id).execution_info.termination_reason == "AllTasksComplete"


def test_start_task_runs_once_per_node_and_gates_scheduling(batch, make_pool):
    pool = make_pool(
        nodes=2,
        start_task={
            "commandLine": "/bin/sh -c 'sleep 0.3; echo ready > $AZ_BATCH_NODE_SHARED_DIR/marker'",
            "waitForSuccess": True,
        },
    )
    wait_for(lambda: pool_ready(batch, pool, 2))
    for node in batch.list_nodes(pool):
        assert node.start_task_info.state == "completed" and node.start_task_info.exit_code == 0
    job_id = run_job(
        batch,
        pool,
        [
            {"id": f"t{i}", "commandLine": "/bin/sh -c 'cat $AZ_BATCH_NODE_SHARED_DIR/marker'"}
            for i in range(4)
        ],
    )
    assert all(read_file(batch, job_id, f"t{i}") == "ready\n" for i in range(4))


def test_failed_start_task_makes_the_node_unusable(batch, make_pool):
    pool = make_pool(
        nodes=1,
        start_task={
            "commandLine": "/bin/sh -c 'echo no disk >&2; exit 7'",
            "maxTaskRetryCount": 1,
            "waitForSuccess": True,
        },
    )
    wait_for(lambda: [n.state for n in batch.list_nodes(pool)] == ["starttaskfailed"])
    node = next(iter(batch.list_nodes(pool)))
    assert node.start_task_info.exit_code == 7 and node.start_task_info.retry_count == 1
    assert node.start_task_info.failure_info.code == "FailureExitCode"
    # what apply shows on a start-task failure: the tail of the node's startup/stderr.txt
    assert b"".join(batch.download_node_file(pool, node.id, "startup/stderr.txt")) == b"no disk\n"
    names = {f.name for f in batch.list_node_files(pool, node.id, recursive=True)}
    assert {"startup/stderr.txt", "startup/stdout.txt", "shared", "workitems"} <= names
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": pool}})
    batch.create_task(job_id, {"id": "never", "commandLine": "true"})
    time.sleep(0.3)
    assert batch.get_task(job_id, "never").state == "active"


def test_shrinking_with_requeue_puts_running_tasks_back(batch, make_pool):
    pool = make_pool(nodes=1, slots=1)
    wait_for(lambda: pool_ready(batch, pool, 1))
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": pool}})
    batch.create_task(job_id, {"id": "long", "commandLine": "sleep 30"})
    wait_for(lambda: batch.get_task(job_id, "long").state == "running")
    batch.begin_resize_pool(
        pool, {"targetDedicatedNodes": 0, "nodeDeallocationOption": "requeue"}, polling_interval=0.05
    ).result()
    task = batch.get_task(job_id, "long")
    assert task.state == "active" and task.execution_info.requeue_count == 1
    batch.begin_resize_pool(pool, {"targetDedicatedNodes": 1}, polling_interval=0.05).result()
    wait_for(lambda: batch.get_task(job_id, "long").state == "running")
    batch.begin_resize_pool(
        pool, {"targetDedicatedNodes": 0, "nodeDeallocationOption": "terminate"}, polling_interval=0.05
    ).result()
    task = batch.get_task(job_id, "long")
    assert task.state == "completed" and task.execution_info.failure_info.code == "TaskEnded"


def test_task_files_list_and_traversal(batch, make_pool, service):
    from .test_dataplane import raw_request

    pool = make_pool(nodes=1)
    job_id = run_job(batch, pool, [{"id": "f", "commandLine": "/bin/sh -c 'echo data > result.txt'"}])
    names = {f.name for f in batch.list_task_files(job_id, "f", recursive=True)}
    assert {"stdout.txt", "stderr.txt", "wd", "wd/result.txt"} <= names
    assert read_file(batch, job_id, "f", "wd/result.txt") == "data\n"
    status, _, err = raw_request(service, "GET", f"/jobs/{job_id}/tasks/f/files/..%2F..%2F..%2Fsecrets.json")
    assert status in (400, 404) and err["code"] in ("InvalidPropertyValue", "FileNotFound")


def test_start_task_of_a_node_leaving_the_pool_is_killed(batch, make_pool, tmp_path):
    pidfile = tmp_path / "start.pid"
    pool = make_pool(nodes=1, start_task={"commandLine": f"/bin/sh -c 'echo $$ > {pidfile}; exec sleep 300'"})
    wait_for(lambda: pidfile.is_file() and pidfile.read_text().strip())
    pid = int(pidfile.read_text())
    assert _alive(pid)
    # a resize is refused while the pool is resizing (409), as the REST reference documents
    wait_for(lambda: batch.get_pool(pool).allocation_state == "steady")
    batch.begin_resize_pool(pool, {"targetDedicatedNodes": 0}, polling_interval=0.05).result()
    wait_for(lambda: not _alive(pid), timeout=5)


def test_node_scheduling_reboot_and_remove(batch, make_pool, tmp_path):
    counter = tmp_path / "boots"
    pool = make_pool(nodes=2, slots=1, start_task={"commandLine": f"/bin/sh -c 'echo boot >> {counter}'"})
    wait_for(lambda: pool_ready(batch, pool, 2))
    first, second = sorted(n.id for n in batch.list_nodes(pool))
    # (azure-batch 15.1: optional option bodies must be given and non-empty, as for begin_terminate_job)
    batch.disable_node_scheduling(pool, first, {"nodeDisableSchedulingOption": "requeue"})
    job_id = run_job(batch, pool, [{"id": f"t{i}", "commandLine": "true"} for i in range(3)])
    assert {t.node_info.node_id for t in batch.list_tasks(job_id)} == {second}
    batch.enable_node_scheduling(pool, first)
    assert batch.get_node(pool, first).scheduling_state == "enabled"
    boots = len(counter.read_text().split())
    batch.begin_reboot_node(pool, first, {"nodeRebootOption": "requeue"}, polling_interval=0.05).result()
    wait_for(lambda: batch.get_node(pool, first).state == "idle")
    assert len(counter.read_text().split()) == boots + 1  # the start task ran again
    batch.begin_remove_nodes(pool, {"nodeList": [first]}, polling_interval=0.05).result()
    assert [n.id for n in batch.list_nodes(pool)] == [second]
    assert batch.get_pool(pool).target_dedicated_nodes == 1


def test_running_task_processes_are_capped_machine_wide(tmp_path):
    from .conftest import checked_service, make_clients

    with checked_service(tmp_path / "s", allocation_delay=0.01, max_running_tasks=3) as svc:
        c = svc.connection
        _, arm, batch = make_clients(c)
        arm.pool.create(
            c.resource_group,
            c.account_name,
            "wide",
            {
                "properties": {
                    "vmSize": "a",
                    "taskSlotsPerNode": 4,
                    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2}},
                }
            },
        )
        wait_for(lambda: pool_ready(batch, "wide", 2))
        batch.create_job({"id": "j", "poolInfo": {"poolId": "wide"}})
        batch.create_task_collection(
            "j", {"value": [{"id": f"t{i}", "commandLine": "sleep 1"} for i in range(6)]}
        )
        wait_for(lambda: batch.get_job_task_counts("j").task_counts.running == 3)
        for _ in range(5):  # 8 free slots, but never more than 3 task processes
            assert batch.get_job_task_counts("j").task_counts.running <= 3
            time.sleep(0.1)
        wait_for(lambda: batch.get_job_task_counts("j").task_counts.completed == 6)
