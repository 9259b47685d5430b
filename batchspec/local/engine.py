"""The local service's state and its scheduler: pools, nodes (local workers), jobs and tasks.

All state sits in memory under one lock (``Engine.lock``) and is written through to SQLite (``store.py``). One
scheduler thread drives time: node allocation and removal, start tasks, autoscale evaluations, metric samples and task
dispatch. Each running task or start task has its own thread that waits for its process (``executor.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
from collections import deque
from pathlib import Path

from batchspec.local import autoscale, executor
from batchspec.local.model import iso, new_etag, parse_duration, public
from batchspec.local.store import Store
from batchspec.sim.state import PoolState

DEFAULT_OUTPUT_CAP = 64 * 1024 * 1024  # bytes per stdout/stderr file before the task is killed
MAX_NODES_PER_POOL = 64  # every node is a set of real processes on this machine


def _key(name: str) -> str:
    return name.lower()


class Engine:
    def __init__(
        self,
        state_dir: Path,
        *,
        account_name: str,
        account_url: str,
        time_scale: float,
        allocation_delay: float,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        preempt: float = 0.0,
        seed: int | None = None,
        max_running_tasks: int | None = None,
    ) -> None:
        import random

        # every node shares this machine: however many nodes x slots a formula asks for, at most this many task
        # processes run at once (the rest wait, active, as on a busy pool)
        self.max_running_tasks = max_running_tasks or max(16, 4 * (os.cpu_count() or 1))
        self.state_dir = state_dir
        self.preempt = (
            preempt  # chance per sample period that a low-priority node is preempted (fault injection)
        )
        self._rng = random.Random(seed)
        self.account_name = account_name
        self.account_url = account_url
        self.allocation_delay = allocation_delay
        self.output_cap = output_cap
        self.clock = autoscale.ServiceClock(time_scale)
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.store = Store(state_dir / "state.sqlite3")
        self.nodes_root = state_dir / "nodes"
        self.pools: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.tasks: dict[str, dict[str, dict]] = {}
        self.nodes: dict[str, dict] = {}
        self.queues: dict[str, deque[str]] = {}  # job key -> ready task keys, FIFO
        self.blocked: dict[str, list[str]] = {}  # job key -> task keys waiting on dependencies
        self.running: dict[
            str, dict[tuple[str, str], threading.Event]
        ] = {}  # node id -> running (job,task) -> cancel
        self.history: dict[str, autoscale.MetricHistory] = {}
        self.start_tasks: dict[str, threading.Event] = {}  # node id -> cancels its running start task
        self.metrics_time: dict[str, float] = {}
        self._stop = threading.Event()
        self._node_seq = 0
        self._threads: set[threading.Thread] = set()
        self._load()
        self._thread = threading.Thread(target=self._loop, name="batchspec-local-scheduler", daemon=True)

    # --- persistence ---------------------------------------------------------------------------------------------
    def _rebase_urls(self, doc: dict) -> dict:
        """URLs stored by a previous run name its port; a restarted service listens elsewhere (port 0 = any)."""
        prefix = re.compile(r"^https://127\.0\.0\.1:\d+/accounts/" + re.escape(self.account_name) + r"(?=/|$)")

        def fix(value):
            if isinstance(value, str):
                return prefix.sub(lambda _: self.account_url, value, count=1)
            if isinstance(value, dict):
                return {k: fix(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fix(v) for v in value]
            return value

        return fix(doc)

    def _load(self) -> None:
        for key, pool in self.store.load("pool"):
            pool = self._rebase_urls(pool)
            self.pools[key] = pool
            self.history[key] = autoscale.MetricHistory()
        for key, job in self.store.load("job"):
            job = self._rebase_urls(job)
            self.jobs[key] = job
            self.tasks[key] = {}
            self.queues[key] = deque()
            self.blocked[key] = []
        requeue: list[tuple[str, str]] = []
        for key, task in self.store.load("task"):
            job_key, _, task_key = key.partition("/")
            if job_key not in self.tasks:
                continue
            task = self._rebase_urls(task)
            self.tasks[job_key][task_key] = task
            if task["state"] in ("running", "preparing"):
                requeue.append((job_key, task_key))  # its process died with the previous service
            elif task["state"] == "active":
                (self.blocked if task.get("dependsOn") else self.queues)[job_key].append(task_key)
        for job_key, task_key in requeue:
            task = self.tasks[job_key][task_key]
            info = task.setdefault("executionInfo", {"retryCount": 0, "requeueCount": 0})
            info["requeueCount"] = info.get("requeueCount", 0) + 1
            self._set_task_state(task, "active")
            task.pop("nodeInfo", None)
            self.queues[job_key].appendleft(task_key)
            self.save_task(job_key, task)
        for node_id, node in self.store.load("node"):
            node = self._rebase_urls(node)
            self.nodes[node_id] = node
            self.running[node_id] = {}
            node["runningTasksCount"] = 0
            node["runningTaskSlotsCount"] = 0
            if node["state"] in ("running", "idle"):
                node["state"] = "idle"
            elif node["state"] in ("starting", "waitingforstarttask", "preempted", "rebooting") or (
                node.get("startTaskInfo", {}).get("state") == "running"
            ):
                node["state"] = "creating"  # boots again (its start task ran in the previous service)
                node["schedulingState"] = "enabled"
                node["_ready_at"] = time.time()
            self._node_seq = max(self._node_seq, int(node.get("_seq", 0)))
            self.save_node(node)

    def save_pool(self, pool: dict) -> None:
        self.store.put("pool", _key(pool["name"]), pool)

    def save_job(self, job: dict) -> None:
        self.store.put("job", _key(job["id"]), job)

    def save_task(self, job_key: str, task: dict) -> None:
        self.store.put("task", f"{job_key}/{_key(task['id'])}", task)

    def save_node(self, node: dict) -> None:
        self.store.put("node", node["id"], node)

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.cond:
            for running in self.running.values():
                for cancel in running.values():
                    cancel.set()
            self.cond.notify_all()
        self._thread.join(timeout=10)
        for t in list(self._threads):
            t.join(timeout=10)
        self.store.close()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=self._run_tracked, args=(target, *args), daemon=True)
        self._threads.add(t)
        t.start()

    def _run_tracked(self, target, *args) -> None:
        try:
            target(*args)
        finally:
            self._threads.discard(threading.current_thread())

    # --- the scheduler loop --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.cond:
                try:
                    next_due = self._tick()
                except Exception:  # a bug must not stop the whole service: report it and keep scheduling
                    import sys
                    import traceback

                    print("batchspec-local: scheduler error (please report):", file=sys.stderr)
                    traceback.print_exc()
                    next_due = time.time() + 0.5
                timeout = max(0.0, min(next_due - time.time(), 0.5))
                if timeout > 0:
                    self.cond.wait(timeout)

    def _tick(self) -> float:
        """One pass over everything time-driven; returns when the next timer is due (wall clock)."""
        now = time.time()
        due = now + 0.5
        for pool_key, pool in list(self.pools.items()):
            if pool["state"] == "deleting":
                if self._finish_pool_delete(pool_key, pool):
                    continue
                due = min(due, now + 0.05)
                continue
            due = min(due, self._autoscale_tick(pool_key, pool, now))
            due = min(due, self._sample_tick(pool_key, pool, now))
            self._resize_tick(pool_key, pool, now)
        for node in list(self.nodes.values()):
            if node["state"] == "rebooting" and not self.running.get(node["id"]):
                start_task = self.start_tasks.pop(node["id"], None)
                if start_task is not None:
                    start_task.set()
                self._set_node_state(node, "creating")  # boots again: start task and all
                node["schedulingState"] = "enabled"
                node["_ready_at"] = now + self.allocation_delay
                self.save_node(node)
            if node["state"] == "creating" and now >= node.get("_ready_at", now):
                self._node_ready(node)
            elif node["state"] == "creating":
                due = min(due, node["_ready_at"])
        for job_key, job in list(self.jobs.items()):
            if job["state"] == "deleting" and not self._job_running(job_key):
                self._drop_job(job_key)
            elif job["state"] == "terminating" and not self._job_running(job_key):
                self._set_job_state(job, "completed")
                job.setdefault("executionInfo", {})["endTime"] = iso()
                self.save_job(job)
            elif job["state"] == "active":
                if job.get("onAllTasksComplete") == "terminatejob" and not self.queues.get(job_key):
                    self._check_all_complete(job_key)  # e.g. the last tasks were terminated, not run
                limit = job.get("_deadline")
                if limit and now >= limit:
                    self.terminate_job(job, "MaxWallClockTimeExpiry")
                elif limit:
                    due = min(due, limit)
        self._dispatch()
        return due

    # --- pools and nodes -----------------------------------------------------------------------------------------
    def pool_nodes(self, pool_key: str) -> list[dict]:
        return [n for n in self.nodes.values() if n["_pool"] == pool_key]

    def current_counts(self, pool_key: str) -> tuple[int, int]:
        nodes = [n for n in self.pool_nodes(pool_key) if n["state"] != "leavingpool"]
        dedicated = sum(1 for n in nodes if n["isDedicated"])
        return dedicated, len(nodes) - dedicated

    def set_allocation_state(self, pool: dict, state: str) -> None:
        if pool["allocationState"] != state:
            pool["allocationState"] = state
            pool["allocationStateTransitionTime"] = iso()

    def _resize_tick(self, pool_key: str, pool: dict, now: float) -> None:
        want = {
            True: min(pool["targetDedicated"], MAX_NODES_PER_POOL),
            False: min(pool["targetLowPriority"], MAX_NODES_PER_POOL),
        }
        nodes = [n for n in self.pool_nodes(pool_key) if n["state"] != "leavingpool"]
        changed = False
        over = [
            k
            for k, v in (("dedicated", pool["targetDedicated"]), ("low-priority", pool["targetLowPriority"]))
            if v > MAX_NODES_PER_POOL
        ]
        errors = (
            [
                {
                    "code": "AccountCoreQuotaReached",
                    "message": f"The local service runs at most {MAX_NODES_PER_POOL} {over[0]} nodes per pool; the pool "
                    f"was resized to {MAX_NODES_PER_POOL}.",
                }
            ]
            if over
            else None
        )
        if errors != pool.get("resizeErrors"):
            if errors:
                pool["resizeErrors"] = errors
            else:
                pool.pop("resizeErrors", None)
            changed = True
        if pool["allocationState"] == "stopping":
            self.set_allocation_state(pool, "steady")
            changed = True
        for dedicated in (True, False):
            have = [n for n in nodes if n["isDedicated"] == dedicated]
            if len(have) < want[dedicated]:
                for _ in range(want[dedicated] - len(have)):
                    self._add_node(pool_key, pool, dedicated, now)
                changed = True
            elif len(have) > want[dedicated]:
                self._remove_nodes(pool, have, len(have) - want[dedicated])
                changed = True
        leaving = [n for n in self.pool_nodes(pool_key) if n["state"] == "leavingpool"]
        for node in leaving:
            if not self.running.get(node["id"]):
                self._drop_node(node)
                changed = True
        creating = any(n["state"] == "creating" for n in self.pool_nodes(pool_key))
        still_leaving = any(n["state"] == "leavingpool" for n in self.pool_nodes(pool_key))
        state = "resizing" if creating or still_leaving else "steady"
        if state != pool["allocationState"]:
            self.set_allocation_state(pool, state)
            changed = True
        if changed:
            self.save_pool(pool)

    def _add_node(self, pool_key: str, pool: dict, dedicated: bool, now: float) -> None:
        self._node_seq += 1
        suffix = "d" if dedicated else "p"
        node_id = f"tvmps_{self._node_seq:06d}{abs(hash(pool_key)) % 10**8:08d}_{suffix}"
        directory = self.nodes_root / pool_key / node_id
        node = {
            "id": node_id,
            "url": f"{self.account_url}/pools/{pool['name']}/nodes/{node_id}",
            "state": "creating",
            "schedulingState": "enabled",
            "stateTransitionTime": iso(),
            "allocationTime": iso(),
            "lastBootTime": iso(),
            "ipAddress": "127.0.0.1",
            "ipv6Address": "::1",
            "virtualMachineInfo": {"imageReference": _data_image(pool)},
            "affinityId": f"TVM:{node_id}",
            "vmSize": pool["properties"].get("vmSize", ""),
            "totalTasksRun": 0,
            "totalTasksSucceeded": 0,
            "runningTasksCount": 0,
            "runningTaskSlotsCount": 0,
            "isDedicated": dedicated,
            "nodeAgentInfo": {"version": "batchspec-local", "lastUpdateTime": iso()},
            "_pool": pool_key,
            "_dir": str(directory),
            "_seq": self._node_seq,
            "_ready_at": now + self.allocation_delay,
        }
        for sub in ("shared", "startup", "workitems", "applications", "fsmounts", "volatile"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.nodes[node_id] = node
        self.running[node_id] = {}
        self.save_node(node)

    def _remove_nodes(self, pool: dict, nodes: list[dict], count: int) -> None:
        option = (pool.get("_deallocation") or "requeue").lower()
        order = sorted(
            nodes,
            key=lambda n: (
                n["state"] not in ("creating", "starttaskfailed", "unusable", "preempted"),
                len(self.running.get(n["id"], {})),
                -n["_seq"],
            ),
        )
        for node in order[:count]:
            self.evict(node, "leavingpool", option)

    def evict(self, node: dict, state: str, option: str) -> None:
        """Take a node out of scheduling (leaving the pool, rebooting, ...); ``option`` says what happens to its
        running tasks: requeue or terminate them now, or let them finish (taskcompletion, retaineddata)."""
        self._set_node_state(node, state)
        node["schedulingState"] = "disabled"
        self.stop_tasks_on(node, option)
        self.save_node(node)

    def stop_tasks_on(self, node: dict, option: str) -> None:
        if option not in ("requeue", "terminate"):
            return
        for (job_key, task_key), cancel in self.running.get(node["id"], {}).items():
            task = self.tasks.get(job_key, {}).get(task_key)
            if task is not None:
                task["_cancel_reason"] = option
                cancel.set()

    def _drop_node(self, node: dict) -> None:
        start_task = self.start_tasks.pop(node["id"], None)
        if start_task is not None:
            start_task.set()  # a start task still running on a node that leaves the pool is killed
        self.nodes.pop(node["id"], None)
        self.running.pop(node["id"], None)
        self.store.delete("node", node["id"])

    def _set_node_state(self, node: dict, state: str) -> None:
        if node["state"] != state:
            node["state"] = state
            node["stateTransitionTime"] = iso()

    def _node_ready(self, node: dict) -> None:
        pool = self.pools.get(node["_pool"])
        if pool is None:
            return
        node["lastBootTime"] = iso()
        start_task = pool["properties"].get("startTask") or {}
        if not start_task.get("commandLine"):
            node.pop("startTask", None)
            node.pop("startTaskInfo", None)
            self._set_node_state(node, "idle")
        else:
            from batchspec.local.dataplane import _start_task_to_data

            node["startTask"] = _start_task_to_data(start_task)  # nodes are a data-plane resource
            wait = start_task.get("waitForSuccess", True)
            self._set_node_state(node, "waitingforstarttask" if wait else "idle")
            node["startTaskInfo"] = {"state": "running", "startTime": iso(), "retryCount": 0}
            cancel = threading.Event()
            self.start_tasks[node["id"]] = cancel
            self._spawn(self._run_start_task, node["id"], dict(start_task), cancel)
        self.save_node(node)
        self.cond.notify_all()

    def node_env(self, node: dict, pool: dict) -> dict[str, str]:
        root = Path(node["_dir"])
        env = {k: os.environ[k] for k in executor.PASSTHROUGH_ENV if k in os.environ}
        env.update(
            {
                "AZ_BATCH_ACCOUNT_NAME": self.account_name,
                "AZ_BATCH_ACCOUNT_URL": self.account_url,
                "AZ_BATCH_POOL_ID": pool["name"],
                "AZ_BATCH_NODE_ID": node["id"],
                "AZ_BATCH_NODE_IS_DEDICATED": "true" if node["isDedicated"] else "false",
                "AZ_BATCH_NODE_ROOT_DIR": str(root),
                "AZ_BATCH_NODE_SHARED_DIR": str(root / "shared"),
                "AZ_BATCH_NODE_STARTUP_DIR": str(root / "startup"),
                "AZ_BATCH_NODE_MOUNTS_DIR": str(root / "fsmounts"),
                "AZ_BATCH_TASK_SHARED_DIR": str(root / "shared"),
            }
        )
        return env

    def _run_start_task(self, node_id: str, start_task: dict, cancel: threading.Event) -> None:
        from batchspec.local import transfer

        with self.lock:
            node = self.nodes.get(node_id)
            pool = self.pools.get(node["_pool"]) if node else None
            if node is None or pool is None:
                return
            env = self.node_env(node, pool)
        root = Path(node["_dir"])
        task_dir = root / "startup"
        wd = task_dir / "wd"
        wd.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "AZ_BATCH_TASK_DIR": str(task_dir),
                "AZ_BATCH_TASK_WORKING_DIR": str(wd),
                "AZ_BATCH_NODE_STARTUP_WORKING_DIR": str(wd),
                "AZ_BATCH_TASK_USER_IDENTITY": _identity_label(start_task.get("userIdentity")),
            }
        )
        for item in start_task.get("environmentSettings") or []:
            if isinstance(item, dict) and item.get("name"):
                env[str(item["name"])] = str(item.get("value") or "")
        max_retries = int(start_task.get("maxTaskRetryCount", 0) or 0)
        attempt = 0
        while True:
            failure = None
            try:
                transfer.download_resource_files(start_task.get("resourceFiles") or [], wd)
            except transfer.TransferError as exc:
                failure = {"category": exc.category, "code": exc.code, "message": str(exc)}
                result = None
            else:
                try:
                    argv = executor.split_command_line(start_task["commandLine"])
                except ValueError as exc:
                    argv = None
                    failure = _launch_failed(str(exc))
                result = None
                if argv is not None:
                    result = executor.run(
                        argv,
                        cwd=wd,
                        env=env,
                        stdout_path=task_dir / "stdout.txt",
                        stderr_path=task_dir / "stderr.txt",
                        timeout=None,
                        output_cap=self.output_cap,
                        cancel=self._stop_event_for(cancel),
                    )
                    failure = _failure_of(result)
            with self.lock:
                node = self.nodes.get(node_id)
                if node is None or self._stop.is_set() or cancel.is_set():
                    return
                info = node["startTaskInfo"]
                info["retryCount"] = attempt
                if failure is None:
                    info.update(state="completed", endTime=iso(), exitCode=result.exit_code, result="success")
                    info.pop("failureInfo", None)
                    if node["state"] == "waitingforstarttask":
                        self._set_node_state(node, "idle")
                    self.start_tasks.pop(node_id, None)
                    self.save_node(node)
                    self.cond.notify_all()
                    return
                if max_retries == -1 or attempt < max_retries:
                    attempt += 1
                    info["lastRetryTime"] = iso()
                    self.save_node(node)
                    continue
                info.update(state="completed", endTime=iso(), result="failure", failureInfo=failure)
                if result is not None and result.exit_code is not None:
                    info["exitCode"] = result.exit_code
                self.start_tasks.pop(node_id, None)
                if node["state"] != "leavingpool":
                    self._set_node_state(node, "starttaskfailed")
                    node["schedulingState"] = "disabled"
                self.save_node(node)
                self.cond.notify_all()
                return

    def _stop_event_for(self, cancel: threading.Event) -> threading.Event:
        """An event set when either ``cancel`` or the service stops (polled by the executor)."""
        stop = self._stop

        class _Either(threading.Event):
            def is_set(self) -> bool:  # type: ignore[override]
                return cancel.is_set() or stop.is_set()

        return _Either()

    # --- autoscale -----------------------------------------------------------------------------------------------
    def pool_state(self, pool_key: str, pool: dict) -> PoolState:
        ded, low = self.current_counts(pool_key)
        usable = sum(1 for n in self.pool_nodes(pool_key) if n["state"] in ("idle", "running"))
        return PoolState(
            target_dedicated_nodes=pool["targetDedicated"],
            target_low_priority_nodes=pool["targetLowPriority"],
            current_dedicated_nodes=ded,
            current_low_priority_nodes=low,
            preempted_node_count=sum(1 for n in self.pool_nodes(pool_key) if n["state"] == "preempted"),
            usable_node_count=usable,
            task_slots_per_node=int(pool["properties"].get("taskSlotsPerNode", 1)),
            node_deallocation_option=(pool.get("_deallocation") or "requeue").lower(),
        )

    def evaluate(self, pool_key: str, pool: dict, formula: str):
        state = autoscale.eval_state(
            self.clock.now(),
            self.pool_state(pool_key, pool),
            self.history.setdefault(pool_key, autoscale.MetricHistory()),
        )
        return autoscale.evaluate(formula, state)

    def run_autoscale(self, pool_key: str, pool: dict) -> None:
        """Evaluate the pool's formula now and apply the result, as the service does each interval."""
        settings = pool["properties"].get("scaleSettings", {}).get("autoScale")
        if not settings:
            return
        result = self.evaluate(pool_key, pool, settings["formula"])
        run: dict = {"evaluationTime": iso(), "results": result.results}
        if result.error is not None:
            err: dict = {"code": result.error.code, "message": result.error.message}
            if result.error.values:
                err["details"] = [{"code": v.name, "message": v.value} for v in result.error.values]
            run["error"] = err
            run["results"] = result.results or ""
        else:
            pool["targetDedicated"] = max(0, int(result.target_dedicated_nodes))
            pool["targetLowPriority"] = max(0, int(result.target_low_priority_nodes))
            pool["_deallocation"] = result.node_deallocation_option or "requeue"
            if (pool["targetDedicated"], pool["targetLowPriority"]) != self.current_counts(pool_key):
                self.set_allocation_state(pool, "resizing")
        pool["autoScaleRun"] = run
        interval = parse_duration(settings.get("evaluationInterval") or "PT15M") or dt.timedelta(minutes=15)
        pool["_next_eval"] = time.time() + self.clock.real_seconds(interval)
        self.save_pool(pool)

    def _autoscale_tick(self, pool_key: str, pool: dict, now: float) -> float:
        if not pool["properties"].get("scaleSettings", {}).get("autoScale"):
            return now + 3600
        if now >= pool.get("_next_eval", 0):
            self.run_autoscale(pool_key, pool)
        return pool["_next_eval"]

    def _sample_tick(self, pool_key: str, pool: dict, now: float) -> float:
        period = self.clock.real_seconds(autoscale.SAMPLE_PERIOD)
        last = self.metrics_time.get(pool_key)
        if last is not None and now < last + period:
            return last + period
        self.metrics_time[pool_key] = now
        if self.preempt:
            self._preempt_tick(pool_key, now, period)
        self.history.setdefault(pool_key, autoscale.MetricHistory()).add(self._sample(pool_key, pool))
        return now + period

    def _preempt_tick(self, pool_key: str, now: float, period: float) -> None:
        """Spot/low-priority eviction: the node keeps its place in the pool as "preempted", its running tasks are
        requeued, and it comes back (start task and all) a few sample periods later."""
        for node in self.pool_nodes(pool_key):
            if node["isDedicated"]:
                continue
            if node["state"] == "preempted":
                if now >= node.get("_recover_at", now):
                    self._set_node_state(node, "creating")
                    node["schedulingState"] = "enabled"
                    node["_ready_at"] = now + self.allocation_delay
                    self.save_node(node)
                continue
            if (
                node["state"] in ("idle", "running", "waitingforstarttask", "starting")
                and self._rng.random() < self.preempt
            ):
                for (job_key, task_key), cancel in self.running.get(node["id"], {}).items():
                    task = self.tasks.get(job_key, {}).get(task_key)
                    if task is not None:
                        task["_cancel_reason"] = "requeue"
                    cancel.set()
                start_task = self.start_tasks.pop(node["id"], None)
                if start_task is not None:
                    start_task.set()
                self._set_node_state(node, "preempted")
                node["schedulingState"] = "disabled"
                node["_recover_at"] = now + 4 * period
                self.save_node(node)

    def _sample(self, pool_key: str, pool: dict) -> autoscale.Sample:
        active = running = succeeded = failed = 0
        for job_key, job in self.jobs.items():
            if job.get("poolInfo", {}).get("poolId", "").lower() != pool_key or job["state"] != "active":
                continue
            waiting = set(self.blocked.get(job_key, ()))  # dependencies not met: not "ready to run"
            for task_key, task in self.tasks[job_key].items():
                state = task["state"]
                if state == "active":
                    active += task_key not in waiting
                elif state in ("running", "preparing"):
                    running += 1
                elif task.get("executionInfo", {}).get("result") == "failure":
                    failed += 1
                else:
                    succeeded += 1
        nodes = [n for n in self.pool_nodes(pool_key) if n["state"] != "leavingpool"]
        slots = max(1, len(nodes) * int(pool["properties"].get("taskSlotsPerNode", 1)))
        used = sum(n["runningTaskSlotsCount"] for n in nodes)
        values = {name: 0.0 for name in autoscale.METRICS}
        values.update(
            {
                "$ActiveTasks": float(active),
                "$RunningTasks": float(running),
                "$PendingTasks": float(active + running),
                "$SucceededTasks": float(succeeded),
                "$FailedTasks": float(failed),
                "$CPUPercent": 100.0 * used / slots if nodes else 0.0,
                "$SampleNodeCount": float(len(nodes)),
                "$PreemptedNodeCount": float(sum(1 for n in nodes if n["state"] == "preempted")),
                "$WallClockSeconds": 30.0 * len(nodes),
            }
        )
        return autoscale.Sample(self.clock.now(), values)

    def _finish_pool_delete(self, pool_key: str, pool: dict) -> bool:
        nodes = self.pool_nodes(pool_key)
        for node in nodes:
            if node["state"] != "leavingpool":
                self._set_node_state(node, "leavingpool")
                for cancel in self.running.get(node["id"], {}).values():
                    cancel.set()
        if any(self.running.get(n["id"]) for n in nodes):
            return False
        for node in nodes:
            self._drop_node(node)
        self.pools.pop(pool_key, None)
        self.history.pop(pool_key, None)
        self.store.delete("pool", pool_key)
        shutil.rmtree(self.nodes_root / pool_key, ignore_errors=True)
        return True

    # --- jobs ----------------------------------------------------------------------------------------------------
    def _set_job_state(self, job: dict, state: str) -> None:
        if job["state"] != state:
            job["previousState"] = job["state"]
            job["previousStateTransitionTime"] = job.get("stateTransitionTime")
            job["state"] = state
            job["stateTransitionTime"] = iso()
            job["eTag"] = new_etag()
            job["lastModified"] = iso()

    def _job_running(self, job_key: str) -> bool:
        return any(k[0] == job_key for running in self.running.values() for k in running)

    def terminate_job(self, job: dict, reason: str) -> None:
        job_key = _key(job["id"])
        self._set_job_state(job, "terminating")
        job.setdefault("executionInfo", {})["terminateReason"] = reason
        for task_key in list(self.queues.get(job_key, ())) + list(self.blocked.get(job_key, ())):
            task = self.tasks[job_key].get(task_key)
            if task is not None and task["state"] == "active":
                self._set_task_state(task, "completed")
                self.save_task(job_key, task)
        self.queues[job_key] = deque()
        self.blocked[job_key] = []
        for running in self.running.values():
            for (jk, tk), cancel in running.items():
                if jk == job_key:
                    self.tasks[jk][tk]["_cancel_reason"] = "terminate"
                    cancel.set()
        self.save_job(job)
        self.cond.notify_all()

    def delete_job(self, job: dict) -> None:
        self.terminate_job(job, job.get("executionInfo", {}).get("terminateReason") or "UserTerminate")
        self._set_job_state(job, "deleting")
        self.save_job(job)

    def _drop_job(self, job_key: str) -> None:
        self.jobs.pop(job_key, None)
        self.tasks.pop(job_key, None)
        self.queues.pop(job_key, None)
        self.blocked.pop(job_key, None)
        self.store.delete("job", job_key)
        self.store.delete_prefix("task", job_key + "/")

    def _check_all_complete(self, job_key: str) -> None:
        job = self.jobs.get(job_key)
        if (
            job is None
            or job["state"] != "active"
            or job.get("onAllTasksComplete", "noaction") != "terminatejob"
        ):
            return
        # cheap exits first: this runs after every task completion (a full scan each time would be quadratic)
        queue = self.queues.get(job_key)
        if queue and self.tasks[job_key].get(queue[0], {}).get("state") == "active":
            return
        if any(
            self.tasks[job_key].get(k, {}).get("state") == "active" for k in self.blocked.get(job_key, ())
        ):
            return
        if self._job_running(job_key):
            return
        tasks = self.tasks[job_key]
        if tasks and all(t["state"] == "completed" for t in tasks.values()):
            self.terminate_job(job, "AllTasksComplete")

    # --- tasks ---------------------------------------------------------------------------------------------------
    def _set_task_state(self, task: dict, state: str) -> None:
        if task["state"] != state:
            task["previousState"] = task["state"]
            task["previousStateTransitionTime"] = task.get("stateTransitionTime")
            task["state"] = state
            task["stateTransitionTime"] = iso()

    def add_tasks(self, job_key: str, tasks: list[dict]) -> None:
        """Store new tasks (already validated) and queue them; one SQLite transaction for the lot."""
        table = self.tasks[job_key]
        for task in tasks:
            table[_key(task["id"])] = task
            (self.blocked if task.get("dependsOn") else self.queues)[job_key].append(_key(task["id"]))
        self.store.put_many("task", ((f"{job_key}/{_key(t['id'])}", t) for t in tasks))
        self.cond.notify_all()

    def _deps_state(self, job_key: str, task: dict) -> str:
        """ "ready", "wait" or "blocked" (a dependency failed)."""
        deps = task.get("dependsOn") or {}
        ids = [str(i) for i in deps.get("taskIds") or []]
        for rng in deps.get("taskIdRanges") or []:
            ids.extend(str(i) for i in range(int(rng["start"]), int(rng["end"]) + 1))
        table = self.tasks[job_key]
        for dep_id in ids:
            dep = table.get(_key(dep_id))
            if dep is None or dep["state"] != "completed":
                return "wait"
            if dep.get("executionInfo", {}).get("result") != "success" and not dep.get(
                "_satisfies_dependents"
            ):
                return "blocked"
        return "ready"

    def _release_blocked(self, job_key: str) -> None:
        waiting = self.blocked.get(job_key)
        if not waiting:
            return
        keep = []
        for task_key in waiting:
            task = self.tasks[job_key].get(task_key)
            if task is None or task["state"] != "active":
                continue
            if self._deps_state(job_key, task) == "ready":
                self.queues[job_key].append(task_key)
            else:
                keep.append(task_key)
        self.blocked[job_key] = keep

    def _dispatch(self) -> None:
        budget = self.max_running_tasks - sum(len(r) for r in self.running.values())
        for pool_key, pool in self.pools.items():
            if budget <= 0:
                return
            if pool["state"] != "active":
                continue
            jobs = [
                (k, j)
                for k, j in self.jobs.items()
                if j["state"] == "active"
                and j.get("poolInfo", {}).get("poolId", "").lower() == pool_key
                and self.queues.get(k)
            ]
            if not jobs:
                continue
            jobs.sort(key=lambda kj: (-int(kj[1].get("priority", 0)), kj[1]["creationTime"]))
            slots_per_node = int(pool["properties"].get("taskSlotsPerNode", 1))
            fill = (
                (pool["properties"].get("taskSchedulingPolicy") or {}).get("nodeFillType") or "Spread"
            ).lower()
            nodes = [
                n
                for n in self.pool_nodes(pool_key)
                if n["state"] in ("idle", "running") and n["schedulingState"] == "enabled"
            ]
            if not nodes:
                continue
            for job_key, job in jobs:
                queue = self.queues[job_key]
                max_parallel = int(job.get("maxParallelTasks", -1))
                while queue:
                    if max_parallel > 0 and self._running_in_job(job_key) >= max_parallel:
                        break
                    task = self.tasks[job_key].get(queue[0])
                    if task is None or task["state"] != "active":
                        queue.popleft()
                        continue
                    need = int(task.get("requiredSlots", 1))
                    free = [n for n in nodes if slots_per_node - n["runningTaskSlotsCount"] >= need]
                    if not free:
                        break
                    if fill == "pack":
                        node = min(
                            free, key=lambda n: (slots_per_node - n["runningTaskSlotsCount"], n["_seq"])
                        )
                    else:
                        node = min(free, key=lambda n: (n["runningTaskSlotsCount"], n["_seq"]))
                    queue.popleft()
                    self._launch(job_key, job, task, node, pool, need)
                    budget -= 1
                    if budget <= 0:
                        return

    def _running_in_job(self, job_key: str) -> int:
        return sum(1 for running in self.running.values() for k in running if k[0] == job_key)

    def _launch(self, job_key: str, job: dict, task: dict, node: dict, pool: dict, slots: int) -> None:
        task_key = _key(task["id"])
        cancel = threading.Event()
        self.running[node["id"]][(job_key, task_key)] = cancel
        node["runningTasksCount"] += 1
        node["runningTaskSlotsCount"] += slots
        node["totalTasksRun"] += 1
        self._set_node_state(node, "running")
        root = Path(node["_dir"])
        task_dir = root / "workitems" / job["id"] / "job-1" / task["id"]
        self._set_task_state(task, "running")
        info = task.setdefault("executionInfo", {"retryCount": 0, "requeueCount": 0})
        info["startTime"] = iso()
        for k in ("endTime", "exitCode", "failureInfo", "result"):
            info.pop(k, None)
        task["nodeInfo"] = {
            "affinityId": node["affinityId"],
            "nodeUrl": node["url"],
            "poolId": pool["name"],
            "nodeId": node["id"],
            "taskRootDirectory": f"workitems/{job['id']}/job-1/{task['id']}",
            "taskRootDirectoryUrl": f"{node['url']}/files/workitems/{job['id']}/job-1/{task['id']}",
        }
        task["_dir"] = str(task_dir)
        task.pop("_cancel_reason", None)
        self.save_task(job_key, task)
        env = self.node_env(node, pool)
        env.update(
            {
                "AZ_BATCH_JOB_ID": job["id"],
                "AZ_BATCH_TASK_ID": task["id"],
                "AZ_BATCH_TASK_DIR": str(task_dir),
                "AZ_BATCH_TASK_WORKING_DIR": str(task_dir / "wd"),
                "AZ_BATCH_TASK_USER_IDENTITY": _identity_label(task.get("userIdentity")),
                "AZ_BATCH_TASK_RETRY_COUNT": str(info.get("retryCount", 0)),
            }
        )
        for item in (job.get("commonEnvironmentSettings") or []) + (task.get("environmentSettings") or []):
            if isinstance(item, dict) and item.get("name"):
                env[str(item["name"])] = str(item.get("value") or "")
        limit = parse_duration((task.get("constraints") or {}).get("maxWallClockTime") or "")
        job_url = f"{self.account_url}/jobs/{job['id']}"
        self._spawn(
            self._run_task,
            job_key,
            task_key,
            node["id"],
            dict(task),
            env,
            task_dir,
            limit,
            cancel,
            slots,
            job_url,
        )

    def _run_task(
        self, job_key, task_key, node_id, task, env, task_dir: Path, limit, cancel, slots, job_url
    ) -> None:
        try:
            self._run_task_inner(job_key, task_key, node_id, task, env, task_dir, limit, cancel, slots)
        except Exception as exc:  # never leave a task "running" with its slot taken because of a service bug
            import sys
            import traceback

            print("batchspec-local: task runner error (please report):", file=sys.stderr)
            traceback.print_exc()
            self._finish_task(
                job_key,
                task_key,
                node_id,
                None,
                {
                    "category": "servererror",
                    "code": "InternalError",
                    "message": f"The local service failed to run the task: {type(exc).__name__}: {exc}",
                },
                None,
                slots,
            )

    def _run_task_inner(
        self, job_key, task_key, node_id, task, env, task_dir: Path, limit, cancel, slots
    ) -> None:
        from batchspec.local import transfer

        wd = task_dir / "wd"
        wd.mkdir(parents=True, exist_ok=True)
        failure = None
        result = None
        try:
            transfer.download_resource_files(task.get("resourceFiles") or [], wd)
        except transfer.TransferError as exc:
            failure = {"category": exc.category, "code": exc.code, "message": str(exc)}
            (task_dir / "stderr.txt").write_text(f"{exc}\n")
            (task_dir / "stdout.txt").write_bytes(b"")
        if failure is None:
            try:
                argv = executor.split_command_line(task["commandLine"])
            except ValueError as exc:
                argv = None
                failure = _launch_failed(str(exc))
            if argv is not None:
                result = executor.run(
                    argv,
                    cwd=wd,
                    env=env,
                    stdout_path=task_dir / "stdout.txt",
                    stderr_path=task_dir / "stderr.txt",
                    timeout=limit.total_seconds() if limit else None,
                    output_cap=self.output_cap,
                    cancel=self._stop_event_for(cancel),
                )
                failure = _failure_of(result)
        if self._stop.is_set():
            return  # the service is stopping: the task is requeued when it starts again
        with self.lock:
            current = self.tasks.get(job_key, {}).get(task_key)
            reason = current.get("_cancel_reason") if current else None
        upload_errors: list[str] = []
        if current is not None and reason is None:
            succeeded = failure is None
            upload_errors = transfer.upload_output_files(
                task.get("outputFiles") or [], task_dir, wd, succeeded
            )
            if upload_errors and failure is None:
                failure = {"category": "usererror", "code": "FileUploadFailed", "message": upload_errors[0]}
        self._finish_task(job_key, task_key, node_id, result, failure, reason, slots)

    def _finish_task(self, job_key, task_key, node_id, result, failure, reason, slots) -> None:
        with self.cond:
            node = self.nodes.get(node_id)
            if node is not None:
                self.running.get(node_id, {}).pop((job_key, task_key), None)
                node["runningTasksCount"] = max(0, node["runningTasksCount"] - 1)
                node["runningTaskSlotsCount"] = max(0, node["runningTaskSlotsCount"] - slots)
                if failure is None and reason is None:
                    node["totalTasksSucceeded"] += 1
                if node["runningTasksCount"] == 0 and node["state"] == "running":
                    self._set_node_state(node, "idle")
                self.save_node(node)
            task = self.tasks.get(job_key, {}).get(task_key)
            if task is None:
                self.cond.notify_all()
                return
            info = task.setdefault("executionInfo", {"retryCount": 0, "requeueCount": 0})
            job = self.jobs.get(job_key)
            if reason == "requeue" and job is not None and job["state"] == "active":
                info["requeueCount"] = info.get("requeueCount", 0) + 1
                self._set_task_state(task, "active")
                task.pop("nodeInfo", None)
                task.pop("_cancel_reason", None)
                self.queues[job_key].appendleft(task_key)
                self.save_task(job_key, task)
                self.cond.notify_all()
                return
            info["endTime"] = iso()
            if result is not None and result.exit_code is not None:
                info["exitCode"] = result.exit_code
            if reason is not None:
                failure = {
                    "category": "usererror",
                    "code": "TaskEnded",
                    "message": "The task was terminated before it completed",
                }
            if failure is not None:
                info["result"] = "failure"
                info["failureInfo"] = failure
                retries = int((task.get("constraints") or {}).get("maxTaskRetryCount", 0) or 0)
                retriable = reason is None and not (result is not None and result.timed_out)
                if retriable and (retries == -1 or info.get("retryCount", 0) < retries):
                    info["retryCount"] = info.get("retryCount", 0) + 1
                    info["lastRetryTime"] = iso()
                    self._set_task_state(task, "active")
                    self.queues[job_key].appendleft(task_key)
                    self.save_task(job_key, task)
                    self.cond.notify_all()
                    return
            else:
                info["result"] = "success"
                info.pop("failureInfo", None)
            action = _exit_options(task, info.get("exitCode"), failure)
            task["_satisfies_dependents"] = action.get("dependencyAction", "").lower() == "satisfy"
            self._set_task_state(task, "completed")
            task["eTag"] = new_etag()
            task["lastModified"] = iso()
            self.save_task(job_key, task)
            self._release_blocked(job_key)
            if job is not None and job["state"] == "active":
                job_action = action.get("jobAction", "none").lower()
                if (
                    failure is not None
                    and job.get("onTaskFailure") == "performexitoptionsjobaction"
                    and job_action == "terminate"
                ):
                    self.terminate_job(job, "TaskFailed")
                elif (
                    failure is not None
                    and job.get("onTaskFailure") == "performexitoptionsjobaction"
                    and job_action == "disable"
                ):
                    self._set_job_state(job, "disabled")
                    self.save_job(job)
                else:
                    self._check_all_complete(job_key)
            self.cond.notify_all()

    def task_counts(self, job_key: str) -> dict:
        counts = {"active": 0, "running": 0, "completed": 0, "succeeded": 0, "failed": 0}
        slots = dict(counts)
        for task in self.tasks.get(job_key, {}).values():
            state = task["state"]
            n = int(task.get("requiredSlots", 1))
            bucket = "running" if state == "preparing" else state
            counts[bucket] += 1
            slots[bucket] += n
            if state == "completed":
                res = "failed" if task.get("executionInfo", {}).get("result") == "failure" else "succeeded"
                counts[res] += 1
                slots[res] += n
        return {"taskCounts": counts, "taskSlotCounts": slots}

    def node_view(self, node: dict) -> dict:
        out = public(node)
        running = self.running.get(node["id"], {})
        recent = []
        for job_key, task_key in list(running)[:10]:
            task = self.tasks.get(job_key, {}).get(task_key)
            job = self.jobs.get(job_key)
            if task and job:
                recent.append(
                    {
                        "taskUrl": f"{self.account_url}/jobs/{job['id']}/tasks/{task['id']}",
                        "jobId": job["id"],
                        "taskId": task["id"],
                        "taskState": task["state"],
                        "executionInfo": task.get("executionInfo", {}),
                    }
                )
        if recent:
            out["recentTasks"] = recent
        return out


def _launch_failed(reason: str) -> dict:
    return {
        "category": "usererror",
        "code": "CommandLaunchFailed",
        "message": "The task command could not be started",
        "details": [{"name": "Message", "value": reason}],
    }


def _failure_of(result: executor.RunResult) -> dict | None:
    if result.launch_error is not None:
        # Batch's wording; the operating system's reason goes in the details, as the node agent reports it
        if result.program_missing:
            code, message = "CommandProgramNotFound", "The specified command program is not found"
        else:
            code, message = "CommandLaunchFailed", "The task command could not be started"
        return {
            "category": "usererror",
            "code": code,
            "message": message,
            "details": [{"name": "Message", "value": result.launch_error}],
        }
    if result.timed_out:
        return {
            "category": "usererror",
            "code": "TaskEnded",
            "message": "The task exceeded its maximum wall clock time and was terminated",
            "details": [{"name": "Reason", "value": "MaxWallClockTimeExpiry"}],
        }
    if result.output_exceeded:
        return {
            "category": "usererror",
            "code": "TaskOutputTooLarge",
            "message": "The task wrote more to stdout/stderr than the local service allows and was terminated",
        }
    if result.cancelled:
        return {"category": "usererror", "code": "TaskEnded", "message": "The task was terminated"}
    if result.exit_code != 0:
        return {
            "category": "usererror",
            "code": "FailureExitCode",
            "message": "The task exited with an exit code representing a failure",
            "details": [{"name": "Message", "value": f"The task exited with exit code {result.exit_code}"}],
        }
    return None


def _exit_options(task: dict, exit_code: int | None, failure: dict | None) -> dict:
    conditions = task.get("exitConditions") or {}
    if exit_code is not None:
        for item in conditions.get("exitCodes") or []:
            if item.get("code") == exit_code:
                return item.get("exitOptions") or {}
        for item in conditions.get("exitCodeRanges") or []:
            if item.get("start", 0) <= exit_code <= item.get("end", -1):
                return item.get("exitOptions") or {}
    if failure is not None and exit_code is None and conditions.get("preProcessingError"):
        return conditions["preProcessingError"]
    if (failure is not None and exit_code not in (None, 0)) or failure is not None:
        default = conditions.get("default")
        if default:
            return default
    return {}


def _data_image(pool: dict) -> dict:
    """The pool's image reference in data-plane spelling (the node reports the image it runs)."""
    vm = (pool["properties"].get("deploymentConfiguration") or {}).get("virtualMachineConfiguration") or {}
    image = dict(vm.get("imageReference") or {})
    if "id" in image:
        image["virtualMachineImageId"] = image.pop("id")
    return image


def _identity_label(identity: dict | None) -> str:
    if not identity:
        return "PoolNonAdmin"
    if identity.get("userName"):
        return str(identity["userName"])
    auto = identity.get("autoUser") or {}
    scope = str(auto.get("scope", "pool")).lower()
    admin = str(auto.get("elevationLevel", "nonadmin")).lower() == "admin"
    return ("Task" if scope == "task" else "Pool") + ("Admin" if admin else "NonAdmin")
