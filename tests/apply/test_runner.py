"""plan/apply/status/destroy orchestration over the in-memory backend."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchspec.apply.backend import PreconditionFailed
from batchspec.apply.plan import ChangeClass, JobAction
from batchspec.apply.redact import REDACTED, Scrubber
from batchspec.apply.render import render_json, render_text
from batchspec.apply.runner import (
    ApplyOptions,
    Console,
    build_plan,
    destroy,
    execute,
    project_secrets,
    status,
)
from batchspec.errors import BatchspecError
from tests.apply.fakes import FakeBackend, FakeJobSpec, FakeProject, FakeStore

POOL = {
    "properties": {
        "vmSize": "STANDARD_D2S_V3",
        "scaleSettings": {
            "autoScale": {"formula": "$TargetDedicatedNodes = 1;", "evaluationInterval": "PT5M"}
        },
        "startTask": {
            "commandLine": "/bin/sh -c 'setup'",
            "environmentSettings": [{"name": "STORAGE_KEY", "value": "s3cr3t-storage-key"}],
        },
    }
}


def project(n_tasks: int = 3, pool: dict | None = None, command: str = "convert") -> FakeProject:
    tasks = [{"id": f"t{i}", "commandLine": f"{command} {i}"} for i in range(n_tasks)]
    job = FakeJobSpec("convert", {"id": "convert", "poolInfo": {"poolId": "qs"}}, tasks)
    return FakeProject("qs", copy.deepcopy(pool or POOL), [job])


def run_apply(p: FakeProject, backend: FakeBackend, **opts: object) -> tuple[int, str]:
    out = io.StringIO()
    console = Console(out, Scrubber(project_secrets(p)))
    plan = build_plan(p, backend)
    options = ApplyOptions(poll_interval=0.0, **opts)  # type: ignore[arg-type]
    code = execute(plan, p, backend, options, console, store=FakeStore, progress_stream=out)
    return code, out.getvalue()


def test_first_apply_creates_everything_and_second_changes_nothing() -> None:
    backend = FakeBackend()
    p = project()
    plan = build_plan(p, backend)
    assert plan.pool.action is ChangeClass.CREATE
    assert plan.jobs[0].action is JobAction.CREATE
    code, log = run_apply(p, backend)
    assert code == 0, log
    assert "all 3 tasks succeeded" in log
    assert len(backend.tasks["convert"]) == 3
    again = build_plan(p, backend)
    assert not again.has_changes
    calls_before = len(backend.calls)
    code, _ = run_apply(p, backend)
    assert code == 0
    assert not [
        c for c in backend.calls[calls_before:] if c[0] in ("create_pool", "update_pool", "create_job", "add")
    ]
    assert "No changes" in render_text(again)


def test_formula_change_is_patched_in_place_with_the_etag() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["scaleSettings"]["autoScale"]["formula"] = "$TargetDedicatedNodes = 4;"
    p = project(pool=pool)
    plan = build_plan(p, backend)
    assert plan.pool.action is ChangeClass.IN_PLACE
    text = render_text(plan)
    assert "update in place" in text and "$TargetDedicatedNodes = 4;" in text
    code, _ = run_apply(p, backend)
    assert code == 0
    patches = [c[1] for c in backend.calls if c[0] == "update_pool"]
    assert patches == [{"properties": {"scaleSettings": pool["properties"]["scaleSettings"]}}]


def test_vm_size_change_is_refused_with_an_explanation() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["vmSize"] = "STANDARD_D4S_V3"
    p = project(pool=pool)
    plan = build_plan(p, backend)
    assert plan.pool.action is ChangeClass.ZERO_NODES
    text = render_text(plan)
    assert "needs zero nodes" in text and "apply would refuse" in text and "--drain" in text
    with pytest.raises(
        BatchspecError, match="can change only while the pool has no nodes, and it has 2"
    ) as info:
        run_apply(p, backend)
    assert info.value.exit_code == 1
    assert backend.pools["qs"].properties["vmSize"] == "STANDARD_D2S_V3"


def test_drain_scales_to_zero_updates_and_restores_autoscale() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["vmSize"] = "STANDARD_D4S_V3"
    code, log = run_apply(project(pool=pool), backend, drain=True)
    assert code == 0, log
    patches = [c[1] for c in backend.calls if c[0] == "update_pool"]
    assert patches[0]["properties"]["scaleSettings"]["fixedScale"]["targetDedicatedNodes"] == 0
    assert patches[1]["properties"]["vmSize"] == "STANDARD_D4S_V3"
    assert "autoScale" in patches[1]["properties"]["scaleSettings"]
    assert backend.pools["qs"].properties["vmSize"] == "STANDARD_D4S_V3"
    assert "autoScale" in backend.pools["qs"].properties["scaleSettings"]


def test_replace_deletes_and_creates_the_pool() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["vmSize"] = "STANDARD_D4S_V3"
    run_apply(project(pool=pool), backend, replace=True)
    names = [c[0] for c in backend.calls]
    assert names.index("delete_pool") < len(names) - names[::-1].index("create_pool")


def test_unknown_property_needs_replace() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["futureThing"] = 1
    with pytest.raises(BatchspecError, match="cannot change on an existing pool; --replace"):
        run_apply(project(pool=pool), backend)


def test_a_concurrent_change_between_plan_and_apply_fails_cleanly() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["scaleSettings"]["autoScale"]["formula"] = "$TargetDedicatedNodes = 4;"
    p = project(pool=pool)
    plan = build_plan(p, backend)
    backend.update_pool(
        "qs", {"properties": {"metadata": [{"name": "x", "value": "y"}]}}, backend.pools["qs"].etag
    )
    with pytest.raises(PreconditionFailed, match="ETag"):
        execute(plan, p, backend, ApplyOptions(poll_interval=0), Console(io.StringIO()))


def test_zero_node_change_goes_ahead_when_the_pool_is_empty() -> None:
    backend = FakeBackend()
    backend.nodes_when_autoscaled = 0
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["taskSlotsPerNode"] = 4
    code, _ = run_apply(project(pool=pool), backend)
    assert code == 0
    assert backend.pools["qs"].properties["taskSlotsPerNode"] == 4


def test_a_different_job_is_refused_unless_replace_jobs() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    p = project()
    p.jobs[0].job_body["priority"] = 100
    with pytest.raises(BatchspecError, match='job "convert" exists and differs from the spec'):
        run_apply(p, backend)
    code, _ = run_apply(p, backend, replace_jobs=True)
    assert code == 0
    assert ("delete_job", "convert") in backend.calls


def test_a_rerun_adds_only_missing_tasks() -> None:
    backend = FakeBackend()
    run_apply(project(n_tasks=3), backend)
    p = project(n_tasks=5)
    plan = build_plan(p, backend)
    assert [t["id"] for t in plan.jobs[0].to_add] == ["t3", "t4"]
    run_apply(p, backend)
    assert [c for c in backend.calls if c[0] == "add"][-1] == ("add", 2)


def test_failed_tasks_exit_1_with_their_stderr() -> None:
    backend = FakeBackend()
    backend.task_stderr["t1"] = b"line one\nTraceback: boom\n"
    code, log = run_apply(project(command="fail"), backend)
    assert code == 1
    assert "task t1 failed with exit code 3" in log
    assert "| Traceback: boom" in log
    assert "3 of 3 tasks failed" in log


def test_start_task_failure_fails_fast_with_its_stderr() -> None:
    backend = FakeBackend()
    backend.start_task_fails = True

    def no_progress(job_id: str):  # type: ignore[no-untyped-def]
        from batchspec.apply.backend import TaskCounts

        return TaskCounts(active=3)

    backend.task_counts = no_progress  # type: ignore[method-assign]
    code, log = run_apply(project(), backend)
    assert code == 1
    assert "start task failed on node node-0" in log
    assert "apt-get: command failed" in log
    # what to do next, without the loop of a plain re-apply that finds the same failed nodes
    assert "Fix it, then run `batchspec apply --drain`" in log


def test_no_wait_returns_after_submission() -> None:
    backend = FakeBackend()
    code, log = run_apply(project(command="fail"), backend, wait=False)
    assert code == 0
    assert "--no-wait" in log


def test_secrets_never_appear_in_plans_or_logs() -> None:
    backend = FakeBackend()
    p = project()
    plan = build_plan(p, backend)
    text = render_text(plan) + render_json(plan)
    assert "s3cr3t-storage-key" not in text
    assert REDACTED in text
    _, log = run_apply(p, backend)
    assert "s3cr3t-storage-key" not in log
    pool = copy.deepcopy(POOL)
    pool["properties"]["startTask"]["environmentSettings"][0]["value"] = "n3w-s3cr3t-value"
    p2 = project(pool=pool)
    plan2 = build_plan(p2, backend)
    text = render_text(plan2) + render_json(plan2)
    assert "n3w-s3cr3t-value" not in text and "s3cr3t-storage-key" not in text
    assert "update in place + node reboot" in text


def test_plan_json_shape() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["vmSize"] = "STANDARD_D4S_V3"
    data = json.loads(render_json(build_plan(project(n_tasks=4, pool=pool), backend)))
    assert data["version"] == 1 and data["has_changes"] is True
    assert data["pool"]["action"] == "needs-zero-nodes"
    assert data["pool"]["changes"][0]["differences"][0] == {
        "path": "properties.vmSize",
        "before": "STANDARD_D2S_V3",
        "after": "STANDARD_D4S_V3",
    }
    assert data["jobs"][0]["tasks"] == {
        "total": 4,
        "present": 3,
        "to_add": 1,
        "conflicting": [],
        "not_in_spec": [],
    }
    assert data["blockers"]
    created = json.loads(render_json(build_plan(project(), FakeBackend())))
    assert created["pool"]["action"] == "create"
    assert created["pool"]["body"]["properties"]["startTask"]["environmentSettings"][0]["value"] == REDACTED


@dataclass
class Input:
    local_path: Path
    container: str
    blob_name: str


@dataclass
class Output:
    job_id: str
    container: str
    prefix: str
    destination: Path


def test_inputs_are_staged_once_and_storage_references_resolved(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    store = FakeStore()
    task = {
        "id": "t0",
        "commandLine": "convert",
        "resourceFiles": [{"autoStorageContainerName": "inputs", "blobPrefix": "a.txt"}],
        "outputFiles": [
            {
                "filePattern": "*.out",
                "destination": {
                    "container": {"containerUrl": "batchspec://containers/results", "path": "t0/"}
                },
                "uploadOptions": {"uploadCondition": "taskCompletion"},
            }
        ],
    }
    job = FakeJobSpec(
        "convert",
        {"id": "convert", "poolInfo": {"poolId": "qs"}},
        [task],
        inputs=[Input(tmp_path / "a.txt", "inputs", "a.txt")],
        outputs=[Output("convert", "results", "", tmp_path / "out")],
    )
    p = FakeProject("qs", copy.deepcopy(POOL), [job])
    backend = FakeBackend()
    out = io.StringIO()
    console = Console(out, Scrubber(project_secrets(p)))
    store.blobs[("results", "t0/a.out")] = b"converted"
    code = execute(
        build_plan(p, backend), p, backend, ApplyOptions(poll_interval=0), console, store=lambda: store
    )
    assert code == 0, out.getvalue()
    live = backend.tasks["convert"]["t0"]
    assert live["resourceFiles"][0]["storageContainerUrl"].startswith(store.endpoint + "/inputs?")
    assert "SECRETSIG" not in out.getvalue()
    assert (tmp_path / "out" / "t0" / "a.out").read_bytes() == b"converted"
    assert store.uploads == 1
    # second run: same input, new SAS tokens: nothing to upload, the task counts as identical
    plan = build_plan(p, backend)
    assert not plan.has_changes
    execute(plan, p, backend, ApplyOptions(poll_interval=0), console, store=lambda: store)
    assert store.uploads == 1


def test_status_and_destroy() -> None:
    backend = FakeBackend()
    p = project()
    assert status(p, backend)["pool"] == {"id": "qs", "exists": False}
    run_apply(p, backend)
    data = status(p, backend)
    assert data["pool"]["currentDedicatedNodes"] == 2
    assert data["jobs"] == [
        {
            "id": "convert",
            "exists": True,
            "state": "active",
            "tasks_in_spec": 3,
            "tasks": {"active": 0, "running": 0, "completed": 3, "succeeded": 3, "failed": 0},
        }
    ]
    destroy(p, backend, Console(io.StringIO()))
    assert backend.pools == {} and backend.jobs == {}


def test_drain_replaces_nodes_for_a_new_start_task() -> None:
    """A new start task reaches existing nodes only after a reboot: --drain replaces them instead."""
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["startTask"]["commandLine"] = "/bin/sh -c 'setup --fixed'"
    p = project(pool=pool)
    plan = build_plan(p, backend)
    assert plan.pool.action is ChangeClass.REBOOT
    assert "apply --drain replaces them" in render_text(plan)
    assert "apply --drain replaces the existing nodes" in render_text(plan, drain=True)
    calls_before = len(backend.calls)
    code, log = run_apply(p, backend, drain=True)
    assert code == 0, log
    patches = [c[1] for c in backend.calls[calls_before:] if c[0] == "update_pool"]
    assert patches[0]["properties"]["scaleSettings"]["fixedScale"]["targetDedicatedNodes"] == 0
    assert patches[1]["properties"]["startTask"]["commandLine"] == "/bin/sh -c 'setup --fixed'"
    assert "autoScale" in patches[1]["properties"]["scaleSettings"]
    assert 'draining pool "qs" to zero nodes (deallocation: TaskCompletion) for: properties.startTask' in log


def test_start_task_change_without_drain_says_how_to_renew_the_nodes() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["startTask"]["commandLine"] = "/bin/sh -c 'setup --fixed'"
    code, log = run_apply(project(pool=pool), backend)
    assert code == 0
    assert "get the new start task or packages only after a reboot or reimage" in log
    assert "apply --drain replaces the existing nodes" in log
    patches = [c[1] for c in backend.calls if c[0] == "update_pool"]
    assert len(patches) == 1 and "fixedScale" not in json.dumps(patches)


def test_failed_start_task_nodes_are_left_alone_without_drain() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    backend.start_task_fails = True
    calls_before = len(backend.calls)
    run_apply(project(), backend)
    assert not [c for c in backend.calls[calls_before:] if c[0] == "update_pool"]


def test_drain_with_failed_start_task_nodes_scales_to_zero_and_back() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    backend.start_task_fails = True
    calls_before = len(backend.calls)
    code, log = run_apply(project(), backend, drain=True)
    assert code == 0, log  # the tasks had finished already (the fake runs them at once)
    patches = [c[1] for c in backend.calls[calls_before:] if c[0] == "update_pool"]
    assert len(patches) == 2, log
    assert patches[0]["properties"]["scaleSettings"]["fixedScale"]["targetDedicatedNodes"] == 0
    assert patches[1] == {"properties": {"scaleSettings": POOL["properties"]["scaleSettings"]}}
    assert "for: 2 nodes whose start task failed (node-0, node-1)" in log
    assert "its nodes are new" in log


def test_plan_and_apply_messages_count_in_words() -> None:
    """'1 task', '3 tasks' - never 'task(s)' - in the plan and in apply's log."""
    backend = FakeBackend()
    one = project(n_tasks=1)
    text = render_text(build_plan(one, backend))
    assert 'job "convert" will be created with 1 task\n' in text
    assert "Plan: pool create; 1 job to create, 1 task to add." in text
    code, log = run_apply(one, backend)
    assert code == 0 and 'job "convert": all 1 task succeeded' in log
    more = project(n_tasks=3)
    text = render_text(build_plan(more, backend))
    assert "exists: 1 of 3 tasks present, 2 to add" in text
    assert "Plan: pool unchanged; 0 jobs to create, 2 tasks to add." in text
    _, log = run_apply(more, backend)
    assert "(s)" not in text + log


def test_status_help_names_exactly_the_json_keys() -> None:
    import re

    from batchspec.cli.status import EPILOG

    backend = FakeBackend()
    p = project()
    run_apply(p, backend)
    data = status(p, backend)
    shape = EPILOG.split("--format json:", 1)[1]
    pool_part, jobs_part = shape.split('"jobs":', 1)
    assert re.findall(r'"(\w+)"', pool_part)[1:] == list(data["pool"])  # [0] is "pool" itself
    job_keys = re.findall(r'"(\w+)"', jobs_part.split("(a pool", 1)[0])
    assert [k for k in job_keys if k not in data["jobs"][0]["tasks"]] == list(data["jobs"][0])
    assert [k for k in job_keys if k in data["jobs"][0]["tasks"]] == list(data["jobs"][0]["tasks"])


def test_tasks_that_differ_are_not_shown_as_no_change() -> None:
    backend = FakeBackend()
    run_apply(project(n_tasks=3), backend)
    p = project(n_tasks=4, command="convert --v2")
    text = render_text(build_plan(p, backend))
    assert '! job "convert" exists; of the spec\'s 4 tasks: 0 present, 3 differing, 1 to add' in text
    assert "= job" not in text
    assert "Plan: pool unchanged; 0 jobs to create, 1 task to add, 3 tasks differing." in text
    assert "--replace-jobs recreates the job" in text


def test_plan_says_what_replace_and_drain_will_do_before_asking() -> None:
    backend = FakeBackend()
    run_apply(project(), backend)
    pool = copy.deepcopy(POOL)
    pool["properties"]["vmSize"] = "STANDARD_D4S_V3"
    plan = build_plan(project(pool=pool), backend)
    assert "--replace: apply deletes pool" not in render_text(plan)
    text = render_text(plan, replace=True)
    assert (
        '-/+ --replace: apply deletes pool "qs" (its 2 nodes and any running tasks go) and creates it again'
        in text
    )
    assert "apply would refuse" not in text
    text = render_text(plan, drain=True)
    assert '--drain: apply scales pool "qs" to zero nodes' in text and "--replace:" not in text
    # --drain wins over --replace for a zero-node change, as apply_pool does
    assert "--drain: apply scales" in render_text(plan, drain=True, replace=True)
    # a formula change needs neither: nothing is said
    pool = copy.deepcopy(POOL)
    pool["properties"]["scaleSettings"]["autoScale"]["formula"] = "$TargetDedicatedNodes = 3;"
    text = render_text(build_plan(project(pool=pool), backend), drain=True, replace=True)
    assert "--drain:" not in text and "--replace:" not in text
