"""plan / apply / status / destroy over a Backend: the orchestration, independent of how the target was opened.

Safety rules (issue 8, prior-art.md §5.4):

* a pool is created with PUT guarded by ``If-None-Match: *`` and changed only by minimal PATCH bodies guarded by
  ``If-Match``: a pool is never PUT over, and a concurrent change makes this run stop cleanly instead of
  overwriting it;
* changes that need zero nodes or a new pool are refused with an explanation unless ``--drain`` (scale to zero,
  update, restore the scale settings) or ``--replace`` (delete and create) says otherwise;
* an identical existing job is reused and only the tasks it lacks are added; a different one is an error unless
  ``--replace-jobs``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from batchspec.apply.backend import Backend, Json, LivePool, PreconditionFailed, ServiceError, counted
from batchspec.apply.follow import FollowResult, Progress, follow_job, format_failures
from batchspec.apply.plan import (
    ChangeClass,
    JobAction,
    JobPlan,
    Plan,
    PoolPlan,
    plan_job,
    plan_pool,
    task_differences,
)
from batchspec.apply.redact import Scrubber, collect_secrets
from batchspec.apply.render import blockers
from batchspec.apply.staging import BlobStore, download_outputs, resolve_storage, stage_inputs, uses_storage
from batchspec.apply.submit import SubmitError, submit_tasks
from batchspec.errors import BatchspecError

DEALLOCATION_OPTIONS = ("TaskCompletion", "Requeue", "Terminate", "RetainedData")

T = TypeVar("T")


def retry_transient(
    call: Callable[[], T],
    *,
    attempts: int = 6,
    base: float = 0.2,
    cap: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``, retrying throttling, server errors and dropped connections a bounded number of times.

    The SDK retry policy does not retry a POST or PATCH whose connection dropped (reference §4); these calls are
    safe to repeat because every one of them is guarded (If-Match, If-None-Match, JobExists compared to the spec).
    """
    for attempt in range(attempts):
        try:
            return call()
        except ServiceError as exc:
            if not exc.transient or attempt == attempts - 1:
                raise
            delay = min(cap, base * 2**attempt)
            if exc.retry_after is not None:
                delay = max(delay, min(exc.retry_after, 60.0))
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class ApplyOptions:
    drain: bool = False
    replace: bool = False
    replace_jobs: bool = False
    wait: bool = True
    concurrency: int = 8
    timeout: float | None = None  # seconds to follow the jobs; None: until done
    deallocation: str = "TaskCompletion"
    drain_timeout: float = 3600.0
    poll_interval: float = 1.0


class Console:
    """Chatter on stderr, with secrets scrubbed from every line."""

    def __init__(self, stream: TextIO | None = None, scrubber: Scrubber | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.scrub = scrubber or Scrubber()

    def say(self, message: str) -> None:
        self.stream.write(self.scrub(message) + "\n")
        self.stream.flush()


def project_secrets(project: Any) -> set[str]:
    """Secret strings in the rendered pool, jobs and tasks (for scrubbing any text batchspec prints)."""
    found = collect_secrets(project.pool_body)
    for job in project.jobs:
        collect_secrets(job.job_body, found)
        for task in job.tasks:
            collect_secrets(task, found)
    return found


def build_plan(project: Any, backend: Backend) -> Plan:
    live = backend.get_pool(project.pool_id)
    pool_plan = plan_pool(project.pool_id, project.pool_body, live)
    jobs = []
    for job in project.jobs:
        live_job = backend.get_job(job.id)
        live_tasks = backend.list_tasks(job.id) if live_job is not None else None
        jobs.append(plan_job(job.job_body, job.tasks, live_job, live_tasks))
    return Plan(backend.account.description, pool_plan, jobs)


# -- pool -----------------------------------------------------------------------------------------------------------


def _wait_for_zero_nodes(
    backend: Backend,
    pool_id: str,
    timeout: float,
    console: Console,
    poll: float,
    clock: Callable[[], float] = time.monotonic,
) -> LivePool:
    deadline = clock() + timeout
    last = -1
    while True:
        pool = backend.get_pool(pool_id)
        if pool is None:
            raise BatchspecError(f'pool "{pool_id}" disappeared while it was being drained', exit_code=1)
        if pool.node_count == 0 and pool.allocation_state.lower() == "steady":
            return pool
        if pool.node_count != last:
            console.say(f'draining pool "{pool_id}": {counted(pool.node_count, "node")} left')
            last = pool.node_count
        if clock() > deadline:
            raise BatchspecError(
                f'pool "{pool_id}" still has {counted(pool.node_count, "node")} after {timeout:.0f} s of draining; it stays at '
                "fixed scale 0 (re-run apply to finish, or change the scale settings back)",
                exit_code=1,
            )
        time.sleep(poll)


def _failed_start_task_nodes(backend: Backend, pool_id: str) -> list[str]:
    return sorted(n.id for n in backend.list_nodes(pool_id) if n.state == "starttaskfailed")


def apply_pool(pool: PoolPlan, backend: Backend, opts: ApplyOptions, console: Console) -> None:
    pid = pool.pool_id
    if pool.action is ChangeClass.NONE:
        # --drain also replaces nodes whose start task failed: they keep failing until rebooted or reimaged, even
        # once the spec's start task is fixed (a plain apply would find the same failed nodes again)
        if opts.drain and pool.live is not None and pool.live_nodes > 0:
            failed = _failed_start_task_nodes(backend, pid)
            if failed:
                _drain_and_update(
                    pool,
                    backend,
                    opts,
                    console,
                    f"{counted(len(failed), 'node')} whose start task failed ({', '.join(failed[:3])}"
                    + (", …" if len(failed) > 3 else "")
                    + ")",
                )
        return
    if pool.action is ChangeClass.CREATE:
        attempts: list[int] = []

        def create() -> LivePool:
            attempts.append(1)
            return backend.create_pool(pid, pool.desired)

        try:
            retry_transient(create)
        except PreconditionFailed:
            # after a lost answer, the earlier attempt may have created it: then it is ours and identical.
            # On a first attempt the pool is someone else's (a concurrent apply): stop cleanly.
            live = backend.get_pool(pid) if len(attempts) > 1 else None
            if live is None or plan_pool(pid, pool.desired, live).action is not ChangeClass.NONE:
                raise
        console.say(f'created pool "{pid}"')
        return
    assert pool.live is not None
    classes = pool.classes()
    needs_zero = ChangeClass.ZERO_NODES in classes and pool.live_nodes > 0
    # a new start task (or packages) reaches existing nodes only after a reboot or reimage: with --drain, the
    # nodes are replaced so that all of them run it (what a user who just fixed a failing start task needs)
    renew_nodes = ChangeClass.REBOOT in classes and pool.live_nodes > 0
    if ChangeClass.RECREATE in classes or (needs_zero and opts.replace and not opts.drain):
        console.say(f'replacing pool "{pid}": deleting it (its running tasks stop)…')
        retry_transient(lambda: backend.delete_pool(pid))
        retry_transient(lambda: backend.create_pool(pid, pool.desired))
        console.say(f'created pool "{pid}" again')
        return
    if (needs_zero or renew_nodes) and opts.drain:
        drained_for = (ChangeClass.ZERO_NODES, ChangeClass.REBOOT)
        _drain_and_update(
            pool,
            backend,
            opts,
            console,
            ", ".join(c.property for c in pool.changes if c.change_class in drained_for),
        )
        return
    live_etag = pool.live.etag
    retry_transient(lambda: backend.update_pool(pid, pool.patch(), live_etag))
    console.say(
        f'updated pool "{pid}": ' + ", ".join(f"{c.property} ({c.change_class.label})" for c in pool.changes)
    )
    if renew_nodes:
        console.say(
            f'note: the existing {counted(pool.live_nodes, "node")} of pool "{pid}" get the new start task or packages only '
            "after a reboot or reimage; new nodes get them at once (apply --drain replaces the existing nodes)"
        )


def _drain_and_update(
    pool: PoolPlan, backend: Backend, opts: ApplyOptions, console: Console, why: str
) -> None:
    """Scale the pool to zero nodes, wait, then PATCH the plan's changes together with the spec's scale settings."""
    assert pool.live is not None
    pid = pool.pool_id
    console.say(f'draining pool "{pid}" to zero nodes (deallocation: {opts.deallocation}) for: {why}')
    etag = pool.live.etag
    retry_transient(
        lambda: backend.update_pool(
            pid,
            {
                "properties": {
                    "scaleSettings": {
                        "fixedScale": {
                            "targetDedicatedNodes": 0,
                            "targetLowPriorityNodes": 0,
                            "nodeDeallocationOption": opts.deallocation,
                        }
                    }
                }
            },
            etag,
        )
    )
    drained = _wait_for_zero_nodes(backend, pid, opts.drain_timeout, console, opts.poll_interval)
    patch = pool.patch()
    restore = (pool.desired.get("properties") or {}).get("scaleSettings") or pool.live.properties.get(
        "scaleSettings"
    )
    if restore:
        patch.setdefault("properties", {})["scaleSettings"] = restore
    try:
        retry_transient(lambda: backend.update_pool(pid, patch, drained.etag))
    except (ServiceError, PreconditionFailed) as exc:
        raise BatchspecError(
            f'pool "{pid}" was drained to zero nodes but the update failed: {exc}; it stays at fixed scale 0 '
            "until apply is run again",
            exit_code=1,
        ) from None
    console.say(f'updated pool "{pid}" and restored its scale settings; its nodes are new')


# -- jobs -----------------------------------------------------------------------------------------------------------


def _verify_existing(backend: Backend, job_id: str, desired: list[Json], ids: list[str]) -> list[str]:
    """Task ids among ``ids`` whose live task differs from the spec (TaskExists must mean *this* task)."""
    if not ids:
        return []
    wanted = {t["id"].lower(): t for t in desired}
    check = {i.lower() for i in ids}
    bad = []
    for live in backend.list_tasks(job_id):
        key = str(live.get("id", "")).lower()
        if key in check and key in wanted and task_differences(wanted[key], live):
            bad.append(str(live.get("id")))
    return sorted(bad)


def _create_job(backend: Backend, job: JobPlan, console: Console) -> list[Json]:
    """Create the job; if it appeared meanwhile and is identical, carry on. Returns the tasks still to add."""
    try:
        retry_transient(lambda: backend.create_job(job.desired))
        console.say(f'created job "{job.job_id}"')
        return list(job.tasks)
    except ServiceError as exc:
        if exc.code != "JobExists":
            raise
    live = backend.get_job(job.job_id)
    again = plan_job(job.desired, job.tasks, live, backend.list_tasks(job.job_id) if live else None)
    if again.action is not JobAction.REUSE or again.conflicts:
        raise PreconditionFailed(
            f'job "{job.job_id}" was created by someone else since the plan was made and differs from the spec; '
            "nothing was added to it"
        )
    console.say(f'job "{job.job_id}" was created meanwhile (by another apply?); it matches the spec: reused')
    return again.to_add


def apply_job(
    job: JobPlan,
    rendered: Any,
    backend: Backend,
    store: Callable[[], BlobStore] | None,
    opts: ApplyOptions,
    console: Console,
) -> int:
    """Create/reuse the job and add its missing tasks. Returns the number of tasks added."""
    jid = job.job_id
    to_add = list(job.to_add)
    if (
        job.action is JobAction.CONFLICT
        or job.conflicts
        or (job.to_add and job.live_state in ("completed", "terminating", "disabled", "disabling"))
    ):
        # refused earlier unless --replace-jobs
        console.say(f'deleting job "{jid}" to create it again…')
        retry_transient(lambda: backend.delete_job(jid))
        job = plan_job(job.desired, job.tasks, None, None)
        to_add = list(job.tasks)
    # inputs matter only to tasks that have yet to be added (tasks cannot change once added)
    needs_store = bool(to_add) and (bool(getattr(rendered, "inputs", None)) or uses_storage(to_add))
    blob_store = store() if (needs_store and store is not None) else None
    if needs_store and blob_store is None:
        raise BatchspecError(f'job "{jid}" stages files, but no blob storage is available for this target')
    if blob_store is not None and getattr(rendered, "inputs", None):
        report = stage_inputs(blob_store, rendered.inputs)
        console.say(
            f'staged inputs of job "{jid}": {report.uploaded} uploaded, {report.unchanged} already up to date'
        )
    if job.action is JobAction.CREATE:
        to_add = _create_job(backend, job, console)
    if not to_add:
        return 0
    sendable = resolve_storage(to_add, blob_store) if blob_store is not None else to_add
    progress = _SubmitProgress(console, jid)
    try:
        report = submit_tasks(
            backend.add_task_collection, jid, sendable, concurrency=opts.concurrency, on_progress=progress
        )
    except SubmitError as exc:
        raise SubmitError(console.scrub(str(exc)), exc.report) from None
    progress.done(report.accepted, report.total, report.elapsed)
    if report.failed:
        shown = "; ".join(f"{tid}: {why}" for tid, why in sorted(report.failed.items())[:5])
        raise BatchspecError(
            console.scrub(f'job "{jid}": the service refused {counted(len(report.failed), "task")}: {shown}'),
            exit_code=1,
        )
    bad = _verify_existing(backend, jid, job.tasks, report.existed)
    if bad:
        raise BatchspecError(
            f'job "{jid}": {counted(len(bad), "task")} already existed with different contents ({", ".join(bad[:5])}); '
            "--replace-jobs recreates the job",
            exit_code=1,
        )
    return len(report.added)


class _SubmitProgress:
    def __init__(self, console: Console, job_id: str) -> None:
        self.console = console
        self.job_id = job_id
        self.tty = bool(getattr(console.stream, "isatty", lambda: False)())
        self.last = 0.0

    def __call__(self, accepted: int, total: int) -> None:
        now = time.monotonic()
        if self.tty:
            self.console.stream.write(f'\r\x1b[2Kadding tasks to job "{self.job_id}": {accepted}/{total}')
            self.console.stream.flush()
        elif now - self.last > 5:
            self.last = now
            self.console.say(f'adding tasks to job "{self.job_id}": {accepted}/{total}')

    def done(self, accepted: int, total: int, elapsed: float) -> None:
        if self.tty:
            self.console.stream.write("\r\x1b[2K")
        self.console.say(
            f'added tasks to job "{self.job_id}": {accepted}/{total} accepted in {elapsed:.1f} s'
        )


# -- apply ----------------------------------------------------------------------------------------------------------


def execute(
    plan: Plan,
    project: Any,
    backend: Backend,
    opts: ApplyOptions,
    console: Console,
    store: Callable[[], BlobStore] | None = None,
    progress_stream: TextIO | None = None,
) -> int:
    """Carry out ``plan``. Returns the exit code: 0 when every task succeeded (or --no-wait), 1 otherwise."""
    problems = blockers(plan, drain=opts.drain, replace=opts.replace, replace_jobs=opts.replace_jobs)
    if problems:
        raise BatchspecError("apply refused; nothing was changed:\n  " + "\n  ".join(problems), exit_code=1)
    apply_pool(plan.pool, backend, opts, console)
    rendered_by_id = {j.id.lower(): j for j in project.jobs}
    added: dict[str, int] = {}
    for job in plan.jobs:
        added[job.job_id] = apply_job(job, rendered_by_id[job.job_id.lower()], backend, store, opts, console)
    if not opts.wait or not plan.jobs:
        if plan.jobs:
            console.say("not waiting for the tasks (--no-wait); batchspec status shows their progress")
        return 0
    exit_code = 0
    for job in plan.jobs:
        result = follow_job(
            backend,
            job.job_id,
            project.pool_id,
            len(job.tasks),
            progress=Progress(progress_stream if progress_stream is not None else console.stream),
            poll_interval=opts.poll_interval,
            timeout=opts.timeout,
            on_stall=lambda message: console.say("\n" + message),
        )
        exit_code = max(exit_code, _report(result, console))
        if result.start_task_failures:
            return 1
        rendered = rendered_by_id[job.job_id.lower()]
        outputs = list(getattr(rendered, "outputs", []) or [])
        if outputs and store is not None:
            files = download_outputs(store(), outputs)
            where = ", ".join(sorted({str(o.destination) for o in outputs}))
            if files or added[job.job_id] or not result.already_complete:
                console.say(
                    f'downloaded {counted(len(files), "output file")} of job "{job.job_id}" to {where}'
                )
            else:
                console.say(
                    f'job "{job.job_id}": no task ran this time, so there were no new outputs; the apply that ran the '
                    f"tasks downloaded theirs to {where}"
                )
    return exit_code


def _report(result: FollowResult, console: Console) -> int:
    if result.ok:
        console.say(f'job "{result.job_id}": all {counted(result.counts.succeeded, "task")} succeeded')
        return 0
    text = format_failures(result, console.scrub)
    if text:
        console.say(text)
    if not result.start_task_failures and not result.timed_out:
        console.say(
            f'job "{result.job_id}": {result.counts.failed} of {counted(result.total, "task")} failed, '
            f"{result.counts.succeeded} succeeded"
        )
    return 1


# -- status and destroy ---------------------------------------------------------------------------------------------


def status(project: Any, backend: Backend) -> dict[str, Any]:
    live = backend.get_pool(project.pool_id)
    pool: dict[str, Any] = {"id": project.pool_id, "exists": live is not None}
    if live is not None:
        p = live.properties
        scale = p.get("scaleSettings") or {}
        pool.update(
            {
                "vmSize": p.get("vmSize"),
                "provisioningState": p.get("provisioningState"),
                "allocationState": p.get("allocationState"),
                "currentDedicatedNodes": p.get("currentDedicatedNodes", 0),
                "currentLowPriorityNodes": p.get("currentLowPriorityNodes", 0),
                "scaleMode": "autoScale"
                if "autoScale" in scale
                else "fixedScale"
                if "fixedScale" in scale
                else None,
                "autoScaleRun": p.get("autoScaleRun"),
            }
        )
        nodes: dict[str, int] = {}
        for node in backend.list_nodes(project.pool_id):
            nodes[node.state] = nodes.get(node.state, 0) + 1
        pool["nodes"] = dict(sorted(nodes.items()))
    jobs = []
    for job in project.jobs:
        live_job = backend.get_job(job.id)
        entry: dict[str, Any] = {"id": job.id, "exists": live_job is not None}
        if live_job is not None:
            entry["state"] = live_job.get("state")
            entry["tasks"] = backend.task_counts(job.id).as_dict()
        else:
            entry["state"] = None
            entry["tasks"] = {"active": 0, "running": 0, "completed": 0, "succeeded": 0, "failed": 0}
        entry["tasks_in_spec"] = len(job.tasks)
        jobs.append(entry)
    return {"pool": pool, "jobs": jobs}


def render_status(data: dict[str, Any]) -> str:
    pool = data["pool"]
    lines = []
    if not pool["exists"]:
        lines.append(f'pool "{pool["id"]}": does not exist')
    else:
        lines.append(
            f'pool "{pool["id"]}": {pool.get("vmSize")}, {pool.get("allocationState")}, '
            f"{pool.get('currentDedicatedNodes', 0)} dedicated + {pool.get('currentLowPriorityNodes', 0)} low-priority nodes"
            + (f", {pool['scaleMode']}" if pool.get("scaleMode") else "")
        )
        if pool.get("nodes"):
            lines.append("  nodes: " + ", ".join(f"{n} {s}" for s, n in pool["nodes"].items()))
        run = pool.get("autoScaleRun") or {}
        if run:
            when = run.get("evaluationTime") or run.get("timestamp") or "?"
            error = run.get("error")
            lines.append(
                f"  autoscale last run {when}: "
                + (
                    f"error {error.get('code')}: {error.get('message')}"
                    if error
                    else str(run.get("results", ""))
                )
            )
            if error:
                # the detail says where and why ("Line 1, Col 52: Insufficient data from data set: ..."): the
                # management plane calls it details[].message, the data plane values[].value
                for item in list(error.get("details") or []) + list(error.get("values") or []):
                    if isinstance(item, dict) and (item.get("message") or item.get("value")):
                        lines.append(f"    {item.get('message') or item.get('value')}")
                if run.get("results"):
                    lines.append(f"    results before the failure: {run['results']}")
    for job in data["jobs"]:
        if not job["exists"]:
            lines.append(
                f'job "{job["id"]}": does not exist ({counted(job["tasks_in_spec"], "task")} in the spec)'
            )
            continue
        t = job["tasks"]
        lines.append(
            f'job "{job["id"]}" ({job.get("state")}): {t["completed"]} completed ({t["succeeded"]} succeeded, '
            f"{t['failed']} failed), {t['running']} running, {t['active']} queued"
        )
    return "\n".join(lines) + "\n"


def destroy(project: Any, backend: Backend, console: Console) -> None:
    for job in project.jobs:
        if backend.get_job(job.id) is not None:
            backend.delete_job(job.id)
            console.say(f'deleted job "{job.id}"')
    if backend.get_pool(project.pool_id) is not None:
        backend.delete_pool(project.pool_id)
        console.say(f'deleted pool "{project.pool_id}"')
