"""A restarted service (same state dir) still knows its pools, jobs, tasks and credentials."""

from __future__ import annotations

from .conftest import checked_service, make_clients, pool_ready, read_file, wait_for


def test_restart_keeps_state_credentials_and_ca(tmp_path):
    state = tmp_path / "state"
    with checked_service(state, allocation_delay=0.05) as svc:
        first = svc.connection
        cred, arm, batch = make_clients(first)
        arm.pool.create(
            first.resource_group,
            first.account_name,
            "Keep",
            {"properties": {"vmSize": "a", "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}}}},
        )
        wait_for(lambda: pool_ready(batch, "Keep", 1))
        batch.create_job({"id": "job1", "poolInfo": {"poolId": "Keep"}})
        batch.create_task_collection(
            "job1",
            {
                "value": [
                    {"id": "done", "commandLine": "echo done"},
                    {"id": "long", "commandLine": "sleep 30"},
                ]
            },
        )
        wait_for(
            lambda: (
                batch.get_task("job1", "long").state == "running"
                and batch.get_task("job1", "done").state == "completed"
            )
        )
        etag = arm.pool.get(first.resource_group, first.account_name, "Keep").etag
    ca = (state / "tls" / "ca.pem").read_bytes()

    with checked_service(state, allocation_delay=0.05) as svc:
        second = svc.connection
        assert (second.client_secret, second.account_key) == (first.client_secret, first.account_key)
        assert (state / "tls" / "ca.pem").read_bytes() == ca
        _, arm, batch = make_clients(second)
        pool = arm.pool.get(second.resource_group, second.account_name, "keep")
        assert pool.name == "Keep" and pool.etag == etag
        assert batch.get_job("JOB1").id == "job1"
        assert batch.get_task("job1", "done").execution_info.exit_code == 0
        assert second.batch_url != first.batch_url  # a new port: every URL the service hands out follows it
        done = batch.get_task("job1", "done")
        assert done.url == f"{second.batch_url}/jobs/job1/tasks/done"
        assert done.node_info.node_url.startswith(f"{second.batch_url}/pools/Keep/nodes/")
        assert batch.get_job("job1").url == f"{second.batch_url}/jobs/job1"
        assert all(f.url.startswith(second.batch_url) for f in batch.list_task_files("job1", "done"))
        assert read_file(batch, "job1", "done") == "done\n"
        # the task that was running when the service stopped is requeued and runs again
        long_task = batch.get_task("job1", "long")
        assert long_task.execution_info.requeue_count == 1
        wait_for(lambda: batch.get_task("job1", "long").state == "running")
        wait_for(lambda: pool_ready(batch, "Keep", 1))
        # a token cached by the first run's credential is still accepted (the signing key is persisted)
        from azure.batch import BatchClient

        cached = BatchClient(second.batch_url, cred, connection_verify=second.ca_file, retry_total=0)
        assert cached.get_job("job1").id == "job1"


def _groups_alive(pgids: set[int]) -> set[int]:
    import os

    alive = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) in pgids:
                alive.add(int(entry))
    return alive


def test_stop_kills_every_task_process_and_its_children(tmp_path):
    with checked_service(tmp_path / "state", allocation_delay=0.05) as svc:
        _, arm, batch = make_clients(svc.connection)
        c = svc.connection
        arm.pool.create(
            c.resource_group,
            c.account_name,
            "p",
            {
                "properties": {
                    "vmSize": "a",
                    "taskSlotsPerNode": 2,
                    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}},
                }
            },
        )
        batch.create_job({"id": "j", "poolInfo": {"poolId": "p"}})
        pids = tmp_path / "pids"
        batch.create_task_collection(
            "j",
            {
                "value": [
                    {"id": "fork", "commandLine": f"/bin/sh -c 'sleep 300 & echo $$ >> {pids}; sleep 300'"},
                    {"id": "plain", "commandLine": f"/bin/sh -c 'echo $$ >> {pids}; exec sleep 300'"},
                ]
            },
        )
        wait_for(lambda: pids.is_file() and len(pids.read_text().split()) == 2)
        groups = {int(p) for p in pids.read_text().split()}  # each task leads its own process group
        assert len(_groups_alive(groups)) >= 3
    wait_for(lambda: not _groups_alive(groups), timeout=5)


def test_corrupt_state_database_is_a_clear_error(tmp_path):
    import pytest

    from batchspec.errors import BatchspecError
    from batchspec.local.service import LocalBatchService

    state = tmp_path / "state"
    state.mkdir()
    (state / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    svc = LocalBatchService(state)
    with pytest.raises(BatchspecError, match="cannot be read"):
        svc.start()


def test_one_service_per_state_directory(tmp_path):
    import pytest

    from batchspec.errors import BatchspecError
    from batchspec.local.service import LocalBatchService

    state = tmp_path / "state"
    with LocalBatchService(state):
        with pytest.raises(BatchspecError, match="another local Batch service .* is using"):
            LocalBatchService(state).start()
    with LocalBatchService(state) as again:  # free once the first one stopped
        assert again.port


def test_store_loads_in_creation_order_after_updates(tmp_path):
    from batchspec.local.store import Store

    store = Store(tmp_path / "s.sqlite3")
    for key in ("a", "b", "c"):
        store.put("task", key, {"id": key, "v": 1})
    store.put("task", "a", {"id": "a", "v": 2})  # an update keeps the row where it was
    store.put_many("task", [("b", {"id": "b", "v": 2})])
    assert [(k, body["v"]) for k, body in store.load("task")] == [("a", 2), ("b", 2), ("c", 1)]
    store.close()


def test_restart_keeps_the_order_tasks_were_added_in(tmp_path):
    state = tmp_path / "state"
    with checked_service(state, allocation_delay=0.05) as svc:
        c = svc.connection
        _, arm, batch = make_clients(c)
        arm.pool.create(
            c.resource_group,
            c.account_name,
            "p",
            {
                "properties": {
                    "vmSize": "a",
                    "taskSlotsPerNode": 2,
                    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}},
                }
            },
        )
        batch.create_job({"id": "j", "poolInfo": {"poolId": "p"}})
        batch.create_task_collection(
            "j", {"value": [{"id": "slow", "commandLine": "sleep 0.5"}, {"id": "fast", "commandLine": "true"}]}
        )
        # "slow" is written last, when it completes
        wait_for(lambda: all(t.state == "completed" for t in batch.list_tasks("j")))
        assert [t.id for t in batch.list_tasks("j")] == ["slow", "fast"]
    with checked_service(state, allocation_delay=0.05) as svc:
        _, _, batch = make_clients(svc.connection)
        assert [t.id for t in batch.list_tasks("j")] == ["slow", "fast"]
