"""Scheduling rules: priority, maxParallelTasks, Pack/Spread, id ranges, exit conditions, job limits."""

from __future__ import annotations

import time

from .conftest import pool_ready, read_file, run_job, unique, wait_for


def _nodes_used(batch, job_id):
    return {t.node_info.node_id for t in batch.list_tasks(job_id)}


def test_pack_fills_one_node_spread_uses_all(batch, make_pool):
    packed = make_pool(nodes=2, slots=4, taskSchedulingPolicy={"nodeFillType": "Pack"})
    spread = make_pool(nodes=2, slots=4)
    wait_for(lambda: pool_ready(batch, packed, 2) and pool_ready(batch, spread, 2))
    tasks = [{"id": f"t{i}", "commandLine": "sleep 0.3"} for i in range(4)]
    assert len(_nodes_used(batch, run_job(batch, packed, tasks))) == 1
    assert len(_nodes_used(batch, run_job(batch, spread, tasks))) == 2


def test_max_parallel_tasks_and_priority(batch, make_pool):
    pool = make_pool(nodes=1, slots=4)
    wait_for(lambda: pool_ready(batch, pool, 1))
    stamp = "/bin/sh -c 'date +%s.%N; sleep 0.2'"
    job_id = run_job(
        batch, pool, [{"id": f"t{i}", "commandLine": stamp} for i in range(4)], maxParallelTasks=1
    )
    starts = sorted(t.execution_info.start_time for t in batch.list_tasks(job_id))
    ends = sorted(t.execution_info.end_time for t in batch.list_tasks(job_id))
    assert all(starts[i + 1] >= ends[i] for i in range(3)), "maxParallelTasks=1 must serialise the tasks"
    idle = make_pool(nodes=0, slots=4)
    low, high = unique("low"), unique("high")
    batch.create_job({"id": low, "poolInfo": {"poolId": idle}, "priority": -5})
    batch.create_job({"id": high, "poolInfo": {"poolId": idle}, "priority": 100})
    for job in (low, high):
        batch.create_task_collection(
            job, {"value": [{"id": f"t{i}", "commandLine": "sleep 0.2"} for i in range(4)]}
        )
    # when the first node arrives, the higher priority job gets its slots first
    batch.begin_resize_pool(idle, {"targetDedicatedNodes": 1}, polling_interval=0.05).result()
    wait_for(lambda: batch.get_job_task_counts(low).task_counts.completed == 4, timeout=20)
    first_low = min(t.execution_info.start_time for t in batch.list_tasks(low))
    last_high = max(t.execution_info.start_time for t in batch.list_tasks(high))
    assert last_high <= first_low


def test_id_ranges_and_satisfying_exit_conditions(batch, make_pool):
    pool = make_pool(nodes=1, slots=4)
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": pool}, "usesTaskDependencies": True})
    batch.create_task_collection(
        job_id,
        {
            "value": [
                {"id": "1", "commandLine": "true"},
                {
                    "id": "2",
                    "commandLine": "/bin/sh -c 'exit 4'",
                    "exitConditions": {
                        "exitCodes": [{"code": 4, "exitOptions": {"dependencyAction": "satisfy"}}]
                    },
                },
                {
                    "id": "after",
                    "commandLine": "echo ran",
                    "dependsOn": {"taskIdRanges": [{"start": 1, "end": 2}]},
                },
            ]
        },
    )
    wait_for(lambda: batch.get_task(job_id, "after").state == "completed")
    assert read_file(batch, job_id, "after") == "ran\n"


def test_task_failure_can_terminate_the_job(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = unique("job")
    batch.create_job(
        {"id": job_id, "poolInfo": {"poolId": pool}, "onTaskFailure": "performexitoptionsjobaction"}
    )
    batch.create_task(
        job_id,
        {"id": "bad", "commandLine": "false", "exitConditions": {"default": {"jobAction": "terminate"}}},
    )
    wait_for(lambda: batch.get_job(job_id).state == "completed")
    assert batch.get_job(job_id).execution_info.termination_reason == "TaskFailed"


def test_job_wall_clock_limit_terminates_it(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = unique("job")
    batch.create_job(
        {"id": job_id, "poolInfo": {"poolId": pool}, "constraints": {"maxWallClockTime": "PT1S"}}
    )
    batch.create_task(job_id, {"id": "long", "commandLine": "sleep 60"})
    started = time.monotonic()
    wait_for(lambda: batch.get_job(job_id).state == "completed", timeout=10)
    assert time.monotonic() - started < 8
    assert batch.get_job(job_id).execution_info.termination_reason == "MaxWallClockTimeExpiry"
    assert batch.get_task(job_id, "long").state == "completed"


def test_task_file_properties(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(batch, pool, [{"id": "t", "commandLine": "echo 12345"}])
    props = batch.get_task_file_properties(job_id, "t", "stdout.txt")
    assert props.content_length == 6 and props.is_directory is False
    assert props.url.endswith(f"/jobs/{job_id}/tasks/t/files/stdout.txt")
