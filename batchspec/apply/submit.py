"""The task submission engine: many tasks, fast, exactly once (reference §3.5 and §3.6).

* Chunks of at most 100 tasks and under 1 MB of JSON (measured with the SDK's encoding, with a safety margin);
  a chunk the service still finds too large (``RequestBodyTooLarge``) is split in half and re-sent.
* Several chunks in flight at once (a thread pool), because each add-collection call is a round trip.
* Bounded retries with exponential backoff and jitter for throttling, server errors and dropped connections; a
  ``Retry-After`` from the service pauses *every* worker until then (that is what throttling asks for).
* Deterministic task ids (from the spec) make re-sending safe: ``TaskExists`` means the task is there, whether an
  earlier attempt whose answer was lost added it, or a previous run did. The caller verifies that such tasks are
  identical to the spec (:func:`batchspec.apply.plan.task_differences`).
* Never the SDK's ``create_tasks`` helper: it retries server errors forever (§3.6).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from batchspec.apply.backend import AddResult, Json, ServiceError
from batchspec.errors import BatchspecError

MAX_TASKS_PER_REQUEST = 100
MAX_REQUEST_BYTES = 1_000_000 - 16_384  # the service limit is 1 MB; keep a margin for headers and encoding
_ENVELOPE = len(json.dumps({"value": []}).encode())


def task_size(task: Json) -> int:
    """Bytes a task adds to an add-collection body (the SDK's json.dumps separators, plus ", ")."""
    return len(json.dumps(task).encode()) + 2


def chunk_tasks(
    tasks: Sequence[Json], max_count: int = MAX_TASKS_PER_REQUEST, max_bytes: int = MAX_REQUEST_BYTES
) -> tuple[list[list[Json]], list[Json]]:
    """Split into chunks within both limits. Returns (chunks, tasks too large to send even alone)."""
    chunks: list[list[Json]] = []
    too_large: list[Json] = []
    chunk: list[Json] = []
    size = _ENVELOPE
    for task in tasks:
        n = task_size(task)
        if _ENVELOPE + n > max_bytes:
            too_large.append(task)
            continue
        if chunk and (len(chunk) >= max_count or size + n > max_bytes):
            chunks.append(chunk)
            chunk, size = [], _ENVELOPE
        chunk.append(task)
        size += n
    if chunk:
        chunks.append(chunk)
    return chunks, too_large


@dataclass
class SubmitReport:
    total: int
    added: list[str] = field(default_factory=list)
    existed: list[str] = field(default_factory=list)  # TaskExists answers: verify they match the spec
    failed: dict[str, str] = field(default_factory=dict)  # task id -> "Code: message"
    requests: int = 0
    retries: int = 0
    splits: int = 0
    elapsed: float = 0.0

    @property
    def accepted(self) -> int:
        return len(self.added) + len(self.existed)


class SubmitError(BatchspecError):
    """Submission stopped: some tasks were not accepted. ``report`` says what was."""

    def __init__(self, message: str, report: SubmitReport, *, exit_code: int = 1) -> None:
        super().__init__(message, exit_code=exit_code)
        self.report = report


@dataclass
class _Work:
    tasks: list[Json]
    attempt: int = 0
    not_before: float = 0.0


@dataclass
class RetryPolicy:
    max_attempts: int = 8  # per task: the first send plus 7 retries
    backoff_base: float = 0.25
    backoff_max: float = 20.0
    deadline: float = 900.0  # seconds for the whole submission
    max_retry_after: float = 60.0  # never wait longer than this on one Retry-After

    def backoff(self, attempt: int, rng: random.Random) -> float:
        # "full jitter" exponential backoff: spreads out workers that failed together
        return rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))


AddCollection = Callable[[str, list[Json]], list[AddResult]]


def submit_tasks(
    add_collection: AddCollection,
    job_id: str,
    tasks: Sequence[Json],
    *,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    max_count: int = MAX_TASKS_PER_REQUEST,
    max_bytes: int = MAX_REQUEST_BYTES,
    on_progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    seed: int = 0,
) -> SubmitReport:
    """Add ``tasks`` to ``job_id``; return a report, or raise SubmitError if some could not be added.

    Tasks the service rejects for a reason of their own (a bad property: ``clienterror`` other than ``TaskExists``)
    are listed in ``report.failed``; the caller decides. Transient trouble that outlasts the retry budget, or an
    error that concerns the whole request (``JobNotFound``, ``JobCompleted``, 403…), raises SubmitError.
    """
    policy = policy or RetryPolicy()
    rng = random.Random(seed)
    start = clock()
    report = SubmitReport(total=len(tasks))
    chunks, too_large = chunk_tasks(tasks, max_count, max_bytes)
    for task in too_large:
        report.failed[str(task.get("id"))] = (
            f"RequestBodyTooLarge: the task alone is {task_size(task)} bytes of JSON; one request must stay under "
            f"{max_bytes} bytes"
        )
    queue: list[_Work] = [_Work(c) for c in chunks]
    pause_until = 0.0  # a Retry-After pauses every worker
    fatal: BaseException | None = None
    last_transient = ""
    exhausted: list[str] = []
    lock = threading.Lock()

    def progress() -> None:
        if on_progress is not None:
            on_progress(report.accepted, report.total)

    def requeue(tasks_: list[Json], attempt: int, delay: float, why: str) -> None:
        nonlocal last_transient
        last_transient = why
        if attempt >= policy.max_attempts:
            for t in tasks_:
                report.failed[str(t.get("id"))] = f"not accepted after {attempt} attempts (last: {why})"
                exhausted.append(str(t.get("id")))
            return
        report.retries += 1
        queue.append(_Work(tasks_, attempt, clock() + delay))

    def send(work: _Work) -> list[AddResult]:
        return add_collection(job_id, work.tasks)

    in_flight: dict[Future[list[AddResult]], _Work] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="batchspec-submit") as pool:
        while queue or in_flight:
            now = clock()
            if fatal is None and now - start > policy.deadline:
                fatal = SubmitError(
                    f'task submission to job "{job_id}" did not finish within {policy.deadline:.0f} s'
                    + (f" (last error: {last_transient})" if last_transient else ""),
                    report,
                )
            if fatal is not None:
                queue.clear()
            # start what is ready, up to the concurrency limit
            ready = [w for w in queue if w.not_before <= now and pause_until <= now]
            ready.sort(key=lambda w: w.not_before)
            while ready and len(in_flight) < concurrency:
                work = ready.pop(0)
                queue.remove(work)
                report.requests += 1
                in_flight[pool.submit(send, work)] = work
            if not in_flight:
                if not queue:
                    break
                wake = max(min(w.not_before for w in queue), pause_until)
                sleep(max(0.0, min(wake - clock(), 1.0)))
                continue
            timeout = None
            if queue:
                wake = max(min(w.not_before for w in queue), pause_until)
                timeout = max(0.0, wake - clock())
            done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in done:
                work = in_flight.pop(fut)
                try:
                    results = fut.result()
                except ServiceError as exc:
                    with lock:
                        if exc.code == "RequestBodyTooLarge" or exc.status == 413:
                            if len(work.tasks) > 1:
                                half = len(work.tasks) // 2
                                report.splits += 1
                                queue.append(_Work(work.tasks[:half], work.attempt, clock()))
                                queue.append(_Work(work.tasks[half:], work.attempt, clock()))
                            else:
                                report.failed[str(work.tasks[0].get("id"))] = (
                                    "RequestBodyTooLarge: the service refused this task even on its own"
                                )
                        elif exc.transient:
                            delay = policy.backoff(work.attempt, rng)
                            if exc.retry_after is not None:
                                wait_for = min(exc.retry_after, policy.max_retry_after)
                                pause_until = max(pause_until, clock() + wait_for)
                                delay = max(delay, wait_for)
                            requeue(work.tasks, work.attempt + 1, delay, str(exc))
                        elif fatal is None:
                            fatal = SubmitError(str(exc), report, exit_code=1)
                    continue
                except BatchspecError as exc:  # authentication, unreachable endpoint: the user must act
                    if fatal is None:
                        fatal = exc
                    continue
                _absorb(results, work, report, requeue, policy, rng)
                progress()
    report.elapsed = clock() - start
    if fatal is None and exhausted:
        fatal = SubmitError(
            f'{len(exhausted)} of {report.total} tasks were not accepted by job "{job_id}" after '
            f"{policy.max_attempts} attempts (last error: {last_transient}); run apply again to add only those",
            report,
        )
    if fatal is not None:
        if isinstance(fatal, SubmitError):
            fatal.report = report
        raise fatal
    return report


def _absorb(
    results: list[AddResult],
    work: _Work,
    report: SubmitReport,
    requeue: Callable[[list[Json], int, float, str], None],
    policy: RetryPolicy,
    rng: random.Random,
) -> None:
    by_id = {str(t.get("id")).lower(): t for t in work.tasks}
    seen: set[str] = set()
    retry: list[Json] = []
    why = ""
    for item in results:
        key = item.task_id.lower()
        task = by_id.get(key)
        if task is None or key in seen:
            continue  # an answer about a task we did not send (or twice): ignore
        seen.add(key)
        if item.status == "success":
            report.added.append(str(task.get("id")))
        elif item.code == "TaskExists":
            report.existed.append(str(task.get("id")))
        elif item.status == "servererror":
            retry.append(task)
            why = f"{item.code or 'servererror'}: {item.message or ''}".strip()
        else:
            report.failed[str(task.get("id"))] = f"{item.code or item.status}: {item.message or ''}".rstrip(
                ": "
            )
    # a task the response did not mention is in an unknown state: send it again (TaskExists settles it)
    for key, task in by_id.items():
        if key not in seen:
            retry.append(task)
            why = why or "the response did not mention every task"
    if retry:
        requeue(retry, work.attempt + 1, policy.backoff(work.attempt, rng), why)
