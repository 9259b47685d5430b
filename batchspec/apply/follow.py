"""Follow a job to the end: progress from the task-counts API, fail fast on start-task failures, report failures.

Progress comes from ``GET /jobs/{id}/taskcounts`` (one small call per poll, whatever the number of tasks), never
from listing every task; the service documents the counts as possibly lagging, so once they say "done" the final
verdict comes from one listing of the job's tasks (``id``, ``state``, ``executionInfo`` only).

A pool whose start task fails on a node (``starttaskfailed``) would leave the tasks queued forever (the complaint
in Azure/aztk#607): following stops at once and shows the node's start-task stderr instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from batchspec.apply.backend import Backend, NodeInfo, ServiceError, TaskCounts, counted

TAIL_BYTES = 2048
MAX_FAILED_SHOWN = 10


@dataclass
class FailedTask:
    task_id: str
    exit_code: int | None
    failure: str | None  # failureInfo "Code: message" (e.g. a resource file that could not be downloaded)
    stderr_tail: str = ""


@dataclass
class StartTaskFailure:
    node_id: str
    exit_code: int | None
    failure: str | None
    stderr_tail: str = ""


@dataclass
class FollowResult:
    job_id: str
    counts: TaskCounts
    total: int
    failed: list[FailedTask] = field(default_factory=list)
    start_task_failures: list[StartTaskFailure] = field(default_factory=list)
    timed_out: bool = False
    already_complete: bool = False  # every task had completed before following began

    @property
    def ok(self) -> bool:
        return (
            not self.failed
            and not self.start_task_failures
            and not self.timed_out
            and self.counts.failed == 0
        )


class Progress:
    """A one-line progress bar on a terminal; occasional plain lines otherwise (CI logs)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        width: int = 30,
        min_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.width = width
        self.min_interval = min_interval
        self.clock = clock
        self._last_line = ""
        self._last_time = -1e9
        self._start = clock()

    def line(self, label: str, counts: TaskCounts, total: int) -> str:
        total = max(total, 1)
        done = min(counts.completed, total)
        filled = int(self.width * done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = int(self.clock() - self._start)
        return (
            f"{label} [{bar}] {counts.completed}/{total} done, {counts.running} running, {counts.active} queued, "
            f"{counts.failed} failed  {elapsed // 60:02d}:{elapsed % 60:02d}"
        )

    def update(self, label: str, counts: TaskCounts, total: int) -> None:
        text = self.line(label, counts, total)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            self._last_line = text
            return
        key = text.rsplit("  ", 1)[0]  # without the clock
        now = self.clock()
        if key != self._last_line and now - self._last_time >= self.min_interval:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_line, self._last_time = key, now

    def finish(self, label: str, counts: TaskCounts, total: int) -> None:
        text = self.line(label, counts, total)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + "\n")
        elif text.rsplit("  ", 1)[0] != self._last_line:
            self.stream.write(text + "\n")
        self.stream.flush()


def _decode_tail(data: bytes | None) -> str:
    if not data:
        return ""
    return data.decode("utf-8", errors="replace").rstrip("\n")


def follow_job(
    backend: Backend,
    job_id: str,
    pool_id: str,
    expected: int,
    *,
    progress: Progress | None = None,
    poll_interval: float = 1.0,
    node_check_every: float = 3.0,
    timeout: float | None = None,
    stall_after: float = 120.0,
    on_stall: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FollowResult:
    """Poll until every task of the job has completed (or a start task fails, or ``timeout`` passes).

    When tasks wait while the pool has no node at all for ``stall_after`` seconds, ``on_stall`` gets one hint (a
    pool that never grows is the classic "waits forever" of Batch tooling).
    """
    start = clock()
    last_node_check = -1e9
    no_nodes_since: float | None = None
    stall_reported = False
    counts = TaskCounts()
    transient_failures = 0
    label = f'job "{job_id}"'
    polls = 0
    while True:
        try:
            counts = backend.task_counts(job_id)
            transient_failures = 0
        except ServiceError as exc:
            if not exc.transient or transient_failures >= 10:
                raise
            transient_failures += 1
            sleep(poll_interval)
            continue
        total = max(expected, counts.active + counts.running + counts.completed)
        if progress is not None:
            progress.update(label, counts, total)
        polls += 1
        if counts.active == 0 and counts.running == 0 and counts.completed >= total:
            break
        now = clock()
        if now - last_node_check >= node_check_every:
            last_node_check = now
            nodes = backend.list_nodes(pool_id)
            bad = [n for n in nodes if n.state == "starttaskfailed"]
            if nodes or counts.active == 0:
                no_nodes_since = None
            elif no_nodes_since is None:
                no_nodes_since = now
            elif not stall_reported and on_stall is not None and now - no_nodes_since >= stall_after:
                stall_reported = True
                on_stall(
                    f'{counted(counts.active, "task")} of job "{job_id}" waiting, but pool "{pool_id}" has had no nodes for '
                    f"{int(now - no_nodes_since)} s; check its scale settings and last autoscale run "
                    "(batchspec status) — still waiting"
                )
            if bad:
                if progress is not None:
                    progress.finish(label, counts, total)
                return FollowResult(
                    job_id,
                    counts,
                    total,
                    start_task_failures=[_start_task_failure(backend, pool_id, n) for n in bad],
                )
        if timeout is not None and now - start > timeout:
            if progress is not None:
                progress.finish(label, counts, total)
            return FollowResult(job_id, counts, total, timed_out=True)
        sleep(poll_interval)
    if progress is not None:
        progress.finish(label, counts, total)
    return FollowResult(
        job_id, counts, total, failed=failed_tasks(backend, job_id), already_complete=polls == 1
    )


def _start_task_failure(backend: Backend, pool_id: str, node: NodeInfo) -> StartTaskFailure:
    tail = backend.read_node_file(pool_id, node.id, "startup/stderr.txt", TAIL_BYTES)
    return StartTaskFailure(node.id, node.start_task_exit_code, node.start_task_failure, _decode_tail(tail))


def failed_tasks(backend: Backend, job_id: str, limit: int = MAX_FAILED_SHOWN) -> list[FailedTask]:
    """The job's failed tasks (exact, from a listing), the first ``limit`` with the tail of their stderr."""
    failed: list[FailedTask] = []
    for task in backend.list_tasks(job_id, select=["id", "state", "executionInfo"]):
        info = task.get("executionInfo") or {}
        if (
            str(task.get("state", "")).lower() != "completed"
            or str(info.get("result", "")).lower() != "failure"
        ):
            continue
        fi = info.get("failureInfo") or {}
        failure = None
        if fi:
            failure = f"{fi.get('code', '')}: {fi.get('message', '')}".strip(": ")
        failed.append(FailedTask(str(task.get("id")), info.get("exitCode"), failure))
    failed.sort(key=lambda f: f.task_id)
    for item in failed[:limit]:
        item.stderr_tail = _decode_tail(
            backend.read_task_file(job_id, item.task_id, "stderr.txt", TAIL_BYTES)
        )
    return failed


def format_failures(result: FollowResult, scrub: Callable[[str], str] = lambda s: s) -> str:
    """What a person needs to see about failures: which, why, and the end of stderr."""
    lines: list[str] = []
    for node in result.start_task_failures:
        lines.append(
            f"start task failed on node {node.node_id}"
            + (f" (exit code {node.exit_code})" if node.exit_code is not None else "")
            + (f": {node.failure}" if node.failure else "")
        )
        lines.extend(_indent_tail(node.stderr_tail, "startup/stderr.txt"))
    if result.start_task_failures:
        lines.append(
            "the pool's nodes cannot run tasks until the start task succeeds. Fix it, then run "
            "`batchspec apply --drain`: nodes whose start task failed keep failing until they are rebooted or "
            "reimaged (a changed start task reaches existing nodes only then), and --drain replaces them"
        )
    for task in result.failed[:MAX_FAILED_SHOWN]:
        lines.append(
            f"task {task.task_id} failed"
            + (f" with exit code {task.exit_code}" if task.exit_code is not None else "")
            + (f": {task.failure}" if task.failure else "")
        )
        lines.extend(_indent_tail(task.stderr_tail, "stderr.txt"))
    if len(result.failed) > MAX_FAILED_SHOWN:
        lines.append(
            f"… and {len(result.failed) - MAX_FAILED_SHOWN} more failed tasks (batchspec status shows counts)"
        )
    if result.timed_out:
        lines.append(
            f'gave up waiting for job "{result.job_id}" (--timeout) with {result.counts.completed}/{result.total} '
            f"done, {result.counts.running} running, {result.counts.active} queued; the tasks go on: "
            "`batchspec status` shows them and `batchspec apply` again follows them to the end"
        )
    return scrub("\n".join(lines))


def _indent_tail(text: str, name: str) -> list[str]:
    if not text:
        return [f"  ({name} is empty)"]
    tail = text.splitlines()[-20:]
    return [f"  | {line}" for line in tail]
