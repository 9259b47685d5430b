"""Fault injection for the local service, configured by ``BATCHSPEC_LOCAL_FAULTS``.

Syntax: comma-separated ``key=value`` items, e.g. ``429=0.05,503=0.05,reset=0.01,partial=0.02,latency=50ms,seed=7``.

- ``429=p`` / ``500=p`` / ``503=p`` (any 4xx/5xx status): answer that status with probability p, in the plane's
  error shape; 429 and 503 carry ``Retry-After`` (``retry-after=<seconds>``, default 1) as real throttling does.
- ``reset=p``: drop the connection without an answer (after reading the request, so the request had no effect).
- ``partial=p``: in an add-collection answer, mark each task ``servererror`` with probability p (not added).
- ``preempt=p``: each sample period (30 s of service time), each low-priority node is preempted with probability p:
  its running tasks are requeued, it shows as ``preempted`` (``$PreemptedNodeCount``) and returns 2 minutes later.
- ``latency=50ms`` (or ``0.05s``/``0.05``): added to every answer.
- ``seed=N``: makes the sequence of injected faults reproducible.

Faults apply to the Batch API routes only, never to the token endpoint.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

from batchspec.errors import BatchspecError

ENV_VAR = "BATCHSPEC_LOCAL_FAULTS"


@dataclass
class Faults:
    statuses: dict[int, float] = field(default_factory=dict)
    reset: float = 0.0
    partial: float = 0.0
    preempt: float = 0.0  # per low-priority node and sample period (acts in the scheduler, not on requests)
    latency: float = 0.0
    retry_after: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.reset or self.partial or self.latency)

    def _roll(self, p: float) -> bool:
        if p <= 0:
            return False
        with self._lock:
            return self._rng.random() < p

    def pick_request_fault(self) -> int | str | None:
        """``"reset"``, an HTTP status to answer with, or None."""
        if self._roll(self.reset):
            return "reset"
        for status, p in self.statuses.items():
            if self._roll(p):
                return status
        return None

    def task_server_error(self) -> bool:
        return self._roll(self.partial)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def _seconds(text: str, key: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise BatchspecError(f'{ENV_VAR}: "{key}" expects a duration such as 50ms or 0.5s, got "{text}"')
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def _probability(text: str, key: str) -> float:
    try:
        p = float(text)
    except ValueError:
        p = -1
    if not 0 <= p <= 1:
        raise BatchspecError(f'{ENV_VAR}: "{key}" expects a probability between 0 and 1, got "{text}"')
    return p


def parse_faults(spec: str | None) -> Faults:
    """Parse the ``BATCHSPEC_LOCAL_FAULTS`` syntax; raise BatchspecError with the offending item."""
    faults = Faults()
    if not spec or not spec.strip():
        return faults
    kwargs: dict = {"statuses": {}}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep:
            raise BatchspecError(f'{ENV_VAR}: expected key=value, got "{item}"')
        if key.isdigit() and 400 <= int(key) <= 599:
            kwargs["statuses"][int(key)] = _probability(value, key)
        elif key in ("reset", "partial", "preempt"):
            kwargs[key] = _probability(value, key)
        elif key == "latency":
            kwargs["latency"] = _seconds(value, key)
        elif key == "retry-after":
            kwargs["retry_after"] = _seconds(value, key)
        elif key == "seed":
            try:
                kwargs["seed"] = int(value)
            except ValueError:
                raise BatchspecError(f'{ENV_VAR}: "seed" expects an integer, got "{value}"') from None
        else:
            raise BatchspecError(
                f'{ENV_VAR}: unknown fault "{key}"; expected an HTTP status (429, 500, 503, ...), reset, partial, '
                "preempt, latency, retry-after or seed"
            )
    return Faults(**kwargs)
