"""Task submission (issue 8): batchspec's engine vs a sequential ``create_task`` loop, same SDK, same run.

Both go through the real azure-batch client over HTTPS to the local Batch service, run as its own process
(``batchspec local serve``, as a real service is remote: the client's and the server's work do not share one
interpreter lock), with no faults and a pool with no nodes, so that nothing runs and only submission is timed. The engine adds 10,000 tasks in chunks of 100,
eight requests in flight. The baseline, one ``create_task`` call per task with the same client, is measured on a
subset (it would take minutes for 10,000) and extrapolated linearly to 10,000: per-task cost is flat because each
call is one independent request. Both jobs' task counts are checked afterwards.

    python -m bench.submit [--quick]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Result, Stats

POOL_BODY = {
    "properties": {
        "vmSize": "STANDARD_D2S_V3",
        "deploymentConfiguration": {
            "virtualMachineConfiguration": {
                "imageReference": {
                    "publisher": "canonical",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts",
                    "version": "latest",
                },
                "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            }
        },
        "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
    }
}


def _tasks(n: int, prefix: str) -> list[dict]:
    # a realistic small task: command line, environment and a resource file
    return [
        {
            "id": f"{prefix}-{i:06d}",
            "commandLine": f"/bin/bash -c 'convert input-{i}.csv output-{i}.json'",
            "environmentSettings": [{"name": "ITEM", "value": str(i)}],
            "resourceFiles": [
                {"httpUrl": f"https://example.invalid/data/input-{i}.csv", "filePath": f"input-{i}.csv"}
            ],
        }
        for i in range(n)
    ]


def run(quick: bool) -> list[Result]:
    from batchspec.apply.azure import connect
    from batchspec.apply.submit import submit_tasks
    from batchspec.cli.plan import _local_target_from_connection

    n = 2_000 if quick else 10_000
    runs = 1 if quick else 3
    sequential_n = 100 if quick else 300
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
        env = dict(os.environ)
        env.pop("BATCHSPEC_LOCAL_FAULTS", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchspec",
                "local",
                "serve",
                "--state-dir",
                str(Path(tmp) / "state"),
                "--time-scale",
                "60",
                "--allocation-delay",
                "0.05",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            lines = []
            assert server.stdout is not None
            for line in server.stdout:  # the connection details, one JSON object
                lines.append(line)
                if line.startswith("}"):
                    break
            backend = connect(_local_target_from_connection(json.loads("".join(lines))))
            backend.create_pool("bench", POOL_BODY)
            times = []
            for r in range(runs):
                job = f"engine-{r}"
                backend.create_job({"id": job, "poolInfo": {"poolId": "bench"}})
                tasks = _tasks(n, "t")
                t0 = time.perf_counter()
                report = submit_tasks(backend.add_task_collection, job, tasks, concurrency=8)
                times.append(time.perf_counter() - t0)
                counts = backend.task_counts(job)
                assert report.accepted == n and counts.active == n, (report.accepted, counts)
            engine = Stats(statistics.median(times), min(times), max(times), runs)

            backend.create_job({"id": "sequential", "poolInfo": {"poolId": "bench"}})
            client = backend._batch  # the same azure-batch BatchClient the engine used
            seq_tasks = _tasks(sequential_n, "s")
            t0 = time.perf_counter()
            for task in seq_tasks:
                client.create_task("sequential", task)
            seq_elapsed = time.perf_counter() - t0
            assert backend.task_counts("sequential").active == sequential_n
            backend.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    seq_rate = sequential_n / seq_elapsed
    seq_extrapolated = n / seq_rate
    speedup = seq_extrapolated / engine.median
    return [
        Result(
            issue=8,
            name=f"submit {n:,} tasks to the local service (chunks of 100, 8 in flight)",
            figure=f"{engine.fmt('s')}; {n / engine.median:,.0f} tasks/s",
            target="< 15 s for 10,000 tasks",
            met=(engine.high < 15.0) if not quick else None,
        ),
        Result(
            issue=8,
            name="submission engine vs sequential create_task loop (same SDK client, same run)",
            figure=f"{engine.median:.2f} s for {n:,} tasks",
            baseline=(
                f"{seq_rate:,.0f} tasks/s over {sequential_n} sequential create_task calls, extrapolated to "
                f"{n:,}: {seq_extrapolated:.1f} s"
            ),
            ratio=f"{speedup:.1f}x",
            target=">= 10x",
            met=speedup >= 10,
            notes=[
                f"the sequential baseline was measured on {sequential_n} tasks and extrapolated linearly to {n:,} "
                "(each create_task is one independent request)"
            ],
        ),
    ]


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(
            f"{r.name}: {r.figure} — baseline {r.baseline or '-'} ({r.ratio or '-'}) — target {r.target}: "
            f"{'met' if r.met else 'NOT met' if r.met is False else '-'}"
        )
        for note in r.notes:
            print("   ", note)
