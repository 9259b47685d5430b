"""Autoscale on the service's own metric samples, with batchspec's compiled evaluator and time compression."""

from __future__ import annotations

import pytest

from .conftest import checked_service, make_clients, wait_for

FORMULA = """
// grow with the pending tasks, shrink when idle; let running tasks finish
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 2);
$pending = $samples < 50 ? max(0, $PendingTasks.GetSample(1)) : max($PendingTasks.GetSample(1), 0);
$TargetDedicatedNodes = min(2, $pending);
$NodeDeallocationOption = taskcompletion;
"""


@pytest.fixture(scope="module")
def fast_service(tmp_path_factory):
    # time_scale=300: a 5-minute evaluation interval passes in 1 s, samples every 0.1 s, 60-s latency = 0.2 s
    with checked_service(tmp_path_factory.mktemp("autoscale"), time_scale=300, allocation_delay=0.05) as svc:
        yield svc


def test_pool_follows_its_formula_on_live_metrics(fast_service):
    conn = fast_service.connection
    _, arm, batch = make_clients(conn)
    rg, acct = conn.resource_group, conn.account_name
    pool = arm.pool.create(
        rg,
        acct,
        "auto",
        {
            "properties": {
                "vmSize": "a",
                "taskSlotsPerNode": 1,
                "scaleSettings": {"autoScale": {"formula": FORMULA, "evaluationInterval": "PT5M"}},
            }
        },
    )
    first = pool.auto_scale_run
    assert first.error is None and "$TargetDedicatedNodes=0" in first.results
    assert "$NodeDeallocationOption=taskcompletion" in first.results
    batch.create_job({"id": "work", "poolInfo": {"poolId": "auto"}})
    batch.create_task_collection(
        "work", {"value": [{"id": f"t{i}", "commandLine": "sleep 1.5"} for i in range(3)]}
    )
    wait_for(lambda: arm.pool.get(rg, acct, "auto").current_dedicated_nodes == 2, timeout=15)
    run = arm.pool.get(rg, acct, "auto").auto_scale_run
    assert "$TargetDedicatedNodes=2" in run.results and run.evaluation_time > first.evaluation_time
    wait_for(lambda: batch.get_job_task_counts("work").task_counts.completed == 3, timeout=20)
    # taskcompletion: no task was interrupted by the shrink
    assert all(
        t.execution_info.requeue_count == 0 and t.execution_info.result == "success"
        for t in batch.list_tasks("work")
    )
    wait_for(lambda: arm.pool.get(rg, acct, "auto").current_dedicated_nodes == 0, timeout=15)
    data_view = batch.get_pool("auto")
    assert data_view.enable_auto_scale and "$pending=0" in data_view.auto_scale_run.results


def test_evaluation_errors_are_recorded_and_leave_the_pool_alone(fast_service):
    conn = fast_service.connection
    _, arm, batch = make_clients(conn)
    rg, acct = conn.resource_group, conn.account_name
    formula = "$TargetDedicatedNodes = 1; $x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95));"
    pool = arm.pool.create(
        rg,
        acct,
        "strict",
        {
            "properties": {
                "vmSize": "a",
                "scaleSettings": {"autoScale": {"formula": formula, "evaluationInterval": "PT5M"}},
            }
        },
    )
    err = pool.auto_scale_run.error
    assert err is not None and err.code, pool.auto_scale_run
    assert arm.pool.get(rg, acct, "strict").current_dedicated_nodes == 0
    run = batch.evaluate_pool_auto_scale("strict", {"autoScaleFormula": "$TargetDedicatedNodes = 4;"})
    assert run.results.startswith("$TargetDedicatedNodes=4") and run.error is None
