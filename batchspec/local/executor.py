"""Running one command on a local "node": no shell, a wall-clock limit, output caps, process-group cleanup.

Batch runs a command line without a shell (use ``/bin/sh -c "..."`` for expansion or pipes), so the line is split with
``shlex`` and executed directly. Every run leads its own process group (``start_new_session``): on exit, timeout,
cancellation or an output flood the whole group is killed, so forked children do not outlive the task. Elevation
and user identities are recorded by the service but not enforced: everything runs as the service's own user.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Variables handed through from the service's environment; everything else is Batch's own AZ_BATCH_* set plus the
# task's environmentSettings (the service's own configuration, e.g. BATCHSPEC_LOCAL_FAULTS, does not leak in).
PASSTHROUGH_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "HOME",
    "USER",
    "LOGNAME",
    "SYSTEMROOT",
)


@dataclass
class RunResult:
    exit_code: int | None
    start: float
    end: float
    timed_out: bool = False
    cancelled: bool = False
    output_exceeded: bool = False
    launch_error: str | None = None  # the command could not be started ("prog: No such file or directory")
    program_missing: bool = False  # ... because the program does not exist


def split_command_line(command_line: str) -> list[str]:
    """POSIX word splitting, as the Batch node agent does on Linux. Raises ValueError on unbalanced quotes."""
    try:
        argv = shlex.split(command_line)
    except ValueError as exc:  # shlex says "No closing quotation" / "No escaped character"
        what = "an unclosed quote" if "quotation" in str(exc) else "a trailing backslash"
        raise ValueError(f"the command line has {what}: {command_line}") from None
    if not argv:
        raise ValueError("the command line is empty")
    return argv


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout_path: Path,
    stderr_path: Path,
    timeout: float | None,
    output_cap: int,
    cancel: threading.Event,
    on_start=None,
) -> RunResult:
    """Run ``argv`` to completion (or until killed). ``on_start(pid)`` is called once the process exists."""
    start = time.time()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=str(cwd),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            msg = f"{argv[0]}: {reason}"
            err.write(f"{msg}\n".encode())
            return RunResult(
                None,
                start,
                time.time(),
                launch_error=msg,
                program_missing=isinstance(exc, (FileNotFoundError, NotADirectoryError)),
            )
        if on_start is not None:
            on_start(proc.pid)
        deadline = None if timeout is None else start + timeout
        result = RunResult(None, start, start)
        poll = 0.002
        while True:
            try:
                code = proc.wait(timeout=poll)
                result.exit_code = code
                break
            except subprocess.TimeoutExpired:
                pass
            poll = min(poll * 2, 0.1)
            now = time.time()
            if cancel.is_set():
                result.cancelled = True
            elif deadline is not None and now >= deadline:
                result.timed_out = True
            elif os.fstat(out.fileno()).st_size > output_cap or os.fstat(err.fileno()).st_size > output_cap:
                result.output_exceeded = True
            else:
                continue
            _kill_group(proc.pid)
            result.exit_code = proc.wait()
            break
        _kill_group(proc.pid)  # children that forked off and are still in the group
        result.end = time.time()
        return result
