from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.spec.rules.base import Example, PoolContext, SpecRule


class RequiredSlotsExceedPool(SpecRule):
    """Task that needs more slots than a node of the pool has.

    A task with ``requiredSlots`` above the pool's ``taskSlotsPerNode`` can never be scheduled: it stays active
    forever and the job never finishes (no error is reported by the service). Only specs carry both the pool and
    the tasks, so only specs are checked.
    """

    code = "SP207"
    name = "required-slots-exceed-pool"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad="batchspec: 1\npool:\n  id: p\n  vmSize: Standard_D8s_v5\n  taskSlotsPerNode: 2\n"
            "  fixedScale: {targetDedicatedNodes: 1}\njobs:\n  - id: j\n    tasks:\n"
            "      - {id: big, commandLine: run, requiredSlots: 4}\n",
            good="batchspec: 1\npool:\n  id: p\n  vmSize: Standard_D8s_v5\n  taskSlotsPerNode: 4\n"
            "  fixedScale: {targetDedicatedNodes: 1}\njobs:\n  - id: j\n    tasks:\n"
            "      - {id: big, commandLine: run, requiredSlots: 4}\n",
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        slots = ctx.get(ctx.path("slots"))
        slots = 1 if slots is None else slots
        if not isinstance(slots, int) or isinstance(slots, bool):
            return
        reported: set[tuple[str, object]] = set()
        for job_id, task, span in ctx.extras.get("tasks", ()):
            need = task.get("requiredSlots", 1)
            if not isinstance(need, int) or isinstance(need, bool) or need <= slots:
                continue
            key = (job_id, span)
            if key in reported:  # one report per spec location (a factory template expands to many tasks)
                continue
            reported.add(key)
            yield self.report_span(
                span,
                f'task "{task.get("id")}" of job "{job_id}" needs {need} slots but the pool\'s nodes have '
                f"{slots} (taskSlotsPerNode); it would never be scheduled",
                hint=f"raise taskSlotsPerNode to at least {need}, or lower requiredSlots",
            )
