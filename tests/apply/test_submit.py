"""The submission engine against an in-memory fake of add-task-collection (faults included).

The same guarantees are exercised through the real SDKs against the local service in test_reliability.py.
"""

from __future__ import annotations

import json
import random
import threading

import pytest

from batchspec.apply.backend import AddResult, ServiceError
from batchspec.apply.submit import (
    MAX_REQUEST_BYTES,
    RetryPolicy,
    SubmitError,
    chunk_tasks,
    submit_tasks,
    task_size,
)
from batchspec.errors import BatchspecError

FAST = RetryPolicy(max_attempts=8, backoff_base=0.0, backoff_max=0.0)


class FakeJob:
    """Add-collection with the service's rules and optional faults. Thread-safe like the real service."""

    def __init__(
        self,
        *,
        seed: int = 1,
        throttle: float = 0.0,
        server_error: float = 0.0,
        drop: float = 0.0,
        partial: float = 0.0,
        max_tasks: int = 100,
        retry_after: float | None = 0.0,
    ) -> None:
        self.tasks: dict[str, dict] = {}
        self.rng = random.Random(seed)
        self.throttle, self.server_error, self.drop, self.partial = throttle, server_error, drop, partial
        self.max_tasks = max_tasks
        self.retry_after = retry_after
        self.calls = 0
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, job_id: str, tasks: list[dict]) -> list[AddResult]:
        with self.lock:
            self.calls += 1
            self.sizes.append(len(tasks))
            body = len(json.dumps({"value": tasks}).encode())
            assert len(tasks) <= 100 and body < 1_000_000, "the engine sent a request over the service limits"
            if len(tasks) > self.max_tasks:
                raise ServiceError("too large", status=413, code="RequestBodyTooLarge")
            roll = self.rng.random()
            if roll < self.throttle:
                raise ServiceError(
                    "throttled",
                    status=429,
                    code="TooManyRequests",
                    retry_after=self.retry_after,
                    transient=True,
                )
            if roll < self.throttle + self.server_error:
                raise ServiceError(
                    "server busy", status=503, code="ServerBusy", retry_after=self.retry_after, transient=True
                )
            results = []
            for t in tasks:
                key = t["id"].lower()
                if self.rng.random() < self.partial:
                    results.append(AddResult(t["id"], "servererror", "InternalError", "try again"))
                elif key in self.tasks:
                    results.append(
                        AddResult(t["id"], "clienterror", "TaskExists", "The specified task already exists.")
                    )
                elif "bad" in t:
                    results.append(AddResult(t["id"], "clienterror", "InvalidPropertyValue", "bad value"))
                else:
                    self.tasks[key] = t
                    results.append(AddResult(t["id"], "success"))
            self.rng.shuffle(results)  # results come back in any order
            if self.rng.random() < self.drop:
                # the tasks were added but the answer is lost on the way back
                raise ServiceError("connection dropped", transient=True)
            return results


def make_tasks(n: int, pad: int = 0) -> list[dict]:
    return [{"id": f"task-{i:05d}", "commandLine": "echo " + "x" * pad + str(i)} for i in range(n)]


def test_chunks_respect_count_and_size() -> None:
    chunks, too_large = chunk_tasks(make_tasks(250))
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert too_large == []
    big = make_tasks(40, pad=60_000)  # ~60 KB each: 16 fit under 1 MB
    chunks, _ = chunk_tasks(big)
    assert all(len(json.dumps({"value": c}).encode()) < MAX_REQUEST_BYTES for c in chunks)
    assert sum(len(c) for c in chunks) == 40
    assert max(len(c) for c in chunks) < 17


def test_task_size_matches_the_sdk_encoding() -> None:
    tasks = make_tasks(3)
    assert (
        len(json.dumps({"value": tasks}).encode())
        == len(json.dumps({"value": []}).encode()) + sum(task_size(t) for t in tasks) - 2
    )


def test_a_single_oversized_task_is_reported_not_sent() -> None:
    job = FakeJob()
    tasks = [*make_tasks(3), {"id": "huge", "commandLine": "x" * 1_100_000}]
    report = submit_tasks(job, "j", tasks, policy=FAST)
    assert set(report.failed) == {"huge"}
    assert "RequestBodyTooLarge" in report.failed["huge"]
    assert len(job.tasks) == 3


def test_all_tasks_added_exactly_once_in_parallel() -> None:
    job = FakeJob()
    report = submit_tasks(job, "j", make_tasks(1234), concurrency=6, policy=FAST)
    assert len(job.tasks) == 1234
    assert sorted(report.added) == sorted(t["id"] for t in make_tasks(1234))
    assert report.failed == {} and report.existed == []
    assert job.calls == 13


def test_faults_end_with_every_task_exactly_once() -> None:
    job = FakeJob(throttle=0.05, server_error=0.05, drop=0.05, partial=0.02, seed=7)
    tasks = make_tasks(5000)
    report = submit_tasks(job, "j", tasks, concurrency=8, policy=FAST)
    assert len(job.tasks) == 5000
    assert set(job.tasks) == {t["id"].lower() for t in tasks}
    assert report.failed == {}
    assert report.accepted == 5000  # added + TaskExists after lost answers
    assert report.retries > 0


def test_rerun_counts_existing_tasks_as_done() -> None:
    job = FakeJob()
    tasks = make_tasks(300)
    submit_tasks(job, "j", tasks[:120], policy=FAST)
    report = submit_tasks(job, "j", tasks, policy=FAST)
    assert len(report.added) == 180
    assert len(report.existed) == 120
    assert len(job.tasks) == 300


def test_request_body_too_large_splits_the_chunk() -> None:
    job = FakeJob(max_tasks=30)
    report = submit_tasks(job, "j", make_tasks(250), policy=FAST)
    assert len(job.tasks) == 250
    assert report.splits > 0
    assert max(s for s in job.sizes[-3:]) <= 30


def test_per_task_client_errors_are_reported_and_others_still_added() -> None:
    job = FakeJob()
    tasks = make_tasks(10)
    tasks[3]["bad"] = True
    report = submit_tasks(job, "j", tasks, policy=FAST)
    assert report.failed == {"task-00003": "InvalidPropertyValue: bad value"}
    assert len(job.tasks) == 9


def test_retry_after_pauses_submission() -> None:
    slept: list[float] = []
    clock = [0.0]

    def fake_sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    calls = {"n": 0}

    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ServiceError("slow down", status=429, retry_after=3.0, transient=True)
        return [AddResult(t["id"], "success") for t in tasks]

    report = submit_tasks(
        add, "j", make_tasks(5), concurrency=1, policy=FAST, clock=lambda: clock[0], sleep=fake_sleep
    )
    assert len(report.added) == 5
    assert sum(slept) >= 3.0


def test_persistent_server_errors_give_up_within_the_bound() -> None:
    calls = {"n": 0}

    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        calls["n"] += 1
        raise ServiceError("down", status=500, transient=True)

    with pytest.raises(SubmitError) as info:
        submit_tasks(add, "j", make_tasks(150), policy=RetryPolicy(max_attempts=4, backoff_base=0.0))
    assert calls["n"] == 2 * 4  # two chunks, four attempts each, then stop
    assert "150 of 150 tasks were not accepted" in str(info.value)
    assert "run apply again" in str(info.value)


def test_persistent_server_error_items_give_up_too() -> None:
    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        return [
            AddResult(t["id"], "success" if t["id"] != "task-00001" else "servererror", "Internal", "x")
            for t in tasks
        ]

    with pytest.raises(SubmitError) as info:
        submit_tasks(add, "j", make_tasks(3), policy=RetryPolicy(max_attempts=3, backoff_base=0.0))
    assert set(info.value.report.failed) == {"task-00001"}
    assert len(info.value.report.added) == 2


def test_a_request_level_client_error_stops_everything() -> None:
    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        raise ServiceError(
            'could not add tasks to job "j": The specified job does not exist.',
            status=404,
            code="JobNotFound",
        )

    with pytest.raises(SubmitError, match="job does not exist"):
        submit_tasks(add, "j", make_tasks(500), policy=FAST)


def test_authentication_failures_propagate_as_they_are() -> None:
    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        raise BatchspecError("authentication failed")

    with pytest.raises(BatchspecError, match="authentication failed"):
        submit_tasks(add, "j", make_tasks(10), policy=FAST)


def test_tasks_missing_from_a_response_are_sent_again() -> None:
    job = FakeJob()
    dropped_once = {"done": False}

    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        results = job(job_id, tasks)
        if not dropped_once["done"]:
            dropped_once["done"] = True
            return results[:-5]
        return results

    report = submit_tasks(add, "j", make_tasks(100), policy=FAST)
    assert report.accepted == 100 and len(job.tasks) == 100
    assert len(report.existed) == 5


def test_deadline_bounds_the_whole_submission() -> None:
    clock = [0.0]

    def add(job_id: str, tasks: list[dict]) -> list[AddResult]:
        clock[0] += 10
        raise ServiceError("busy", status=503, transient=True)

    with pytest.raises(SubmitError, match="did not finish within 25 s"):
        submit_tasks(
            add,
            "j",
            make_tasks(10),
            concurrency=1,
            policy=RetryPolicy(max_attempts=100, backoff_base=0.0, deadline=25),
            clock=lambda: clock[0],
            sleep=lambda s: None,
        )
