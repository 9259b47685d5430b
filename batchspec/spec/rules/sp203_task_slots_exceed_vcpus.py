from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.spec.rules.base import Example, PoolContext, SpecRule
from batchspec.spec.rules.vmsizes import vcpus


class TaskSlotsExceedVcpus(SpecRule):
    """taskSlotsPerNode above what the VM size allows.

    The service accepts at most min(4 x vCPUs, 256) task slots per node and rejects the pool otherwise. The
    vCPU count comes from a table of common sizes; an unknown size is never reported.
    """

    code = "SP203"
    name = "task-slots-exceed-vcpus"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad='{"properties": {"vmSize": "Standard_D2s_v3", "taskSlotsPerNode": 16}}',
            good='{"properties": {"vmSize": "Standard_D2s_v3", "taskSlotsPerNode": 8}}',
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        slots = ctx.get(ctx.path("slots"))
        size = ctx.get(ctx.path("vmSize"))
        n = vcpus(size)
        if not isinstance(slots, int) or isinstance(slots, bool) or n is None:
            return
        limit = min(4 * n, 256)
        if slots > limit:
            yield self.report(
                ctx,
                ctx.path("slots"),
                f'taskSlotsPerNode is {slots} but "{size}" has {n} vCPUs; the service allows at most {limit}',
                hint=f"use at most {limit}, or a larger VM size",
            )
