"""Plans for people (Terraform-like text, colour on a terminal) and for programs (``--format json``).

Everything shown goes through :func:`batchspec.apply.redact.redact` first: secret values never reach the output.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

from batchspec.apply.backend import counted
from batchspec.apply.plan import ChangeClass, Difference, JobAction, JobPlan, Plan, PoolPlan
from batchspec.apply.redact import REDACTED, redact

PLAN_JSON_VERSION = 1

_COLOURS = {
    "green": "32",
    "yellow": "33",
    "red": "31",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
    "magenta": "35",
}


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal and only when NO_COLOR is unset (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, colour: str, text: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


_SYMBOL = {
    ChangeClass.CREATE: ("+", "green"),
    ChangeClass.IN_PLACE: ("~", "yellow"),
    ChangeClass.REBOOT: ("~", "yellow"),
    ChangeClass.ZERO_NODES: ("!", "magenta"),
    ChangeClass.RECREATE: ("-/+", "red"),
    ChangeClass.NONE: ("=", "dim"),
}


def _value(v: Any) -> str:
    if v is None:
        return "(absent)"
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for k in value:
            out.extend(_flatten(value[k], f"{path}.{k}" if path else str(k)))
        return out
    return [(path, value)]


def _shown(d: Difference) -> tuple[Any, Any]:
    if d.sensitive:
        return (None if d.before is None else REDACTED), (None if d.after is None else REDACTED)
    return redact(d.before), redact(d.after)


def _difference_lines(d: Difference, paint: _Paint, indent: str) -> list[str]:
    before, after = _shown(d)
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        lines = [f"{indent}{paint('yellow', '~')} {d.path}:"]
        a = before.replace("\r\n", "\n").splitlines()
        b = after.replace("\r\n", "\n").splitlines()
        for line in difflib.unified_diff(a, b, lineterm="", n=2):
            if line.startswith(("---", "+++", "@@")):
                continue
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            lines.append(f"{indent}    {paint(colour, line)}")
        return lines
    if d.before is None:
        return [f"{indent}{paint('green', '+')} {d.path} = {_value(after)}"]
    if d.after is None:
        return [f"{indent}{paint('red', '-')} {d.path} = {_value(before)}"]
    return [f"{indent}{paint('yellow', '~')} {d.path}: {_value(before)} -> {_value(after)}"]


def _pool_lines(pool: PoolPlan, paint: _Paint) -> list[str]:
    symbol, colour = _SYMBOL[pool.action]
    head = f"  {paint(colour, symbol)} pool {paint('bold', json.dumps(pool.pool_id))}"
    if pool.action is ChangeClass.NONE:
        return [f"{head}: no change"]
    if pool.action is ChangeClass.CREATE:
        lines = [f"{head} will be created"]
        for path, value in _flatten(redact(pool.desired)):
            if isinstance(value, str) and "\n" in value:
                lines.append(f"      {paint('green', '+')} {path} = <<EOT")
                lines.extend(f"          {line}" for line in value.replace("\r\n", "\n").splitlines())
                lines.append("        EOT")
            else:
                lines.append(f"      {paint('green', '+')} {path} = {_value(value)}")
        return lines
    lines = [f"{head} will change ({pool.action.label}); it has {counted(pool.live_nodes, 'node')} now"]
    for change in pool.changes:
        sym, col = _SYMBOL[change.change_class]
        lines.append(f"      {paint(col, sym)} {change.property}  [{paint(col, change.change_class.label)}]")
        for d in change.differences:
            lines.extend(_difference_lines(d, paint, "          "))
        lines.append(f"          {paint('dim', '# ' + change.reason)}")
    return lines


def _job_lines(job: JobPlan, paint: _Paint) -> list[str]:
    name = paint("bold", json.dumps(job.job_id))
    total = len(job.tasks)
    if job.action is JobAction.CREATE:
        lines = [f"  {paint('green', '+')} job {name} will be created with {counted(total, 'task')}"]
    elif job.action in (JobAction.CONFLICT, JobAction.REPLACE):
        verb = (
            "will be deleted and created again"
            if job.action is JobAction.REPLACE
            else "differs from the spec"
        )
        lines = [f"  {paint('red', '-/+' if job.action is JobAction.REPLACE else '!')} job {name} {verb}"]
        lines.extend(line for d in job.differences for line in _difference_lines(d, paint, "      "))
        if job.action is JobAction.CONFLICT:
            lines.append(f"      {paint('dim', '# apply refuses this unless --replace-jobs is given')}")
    elif job.conflicts:
        # same ids, different bodies: nothing to do in place (tasks cannot change), so not "=" whatever else holds
        lines = [
            f"  {paint('red', '!')} job {name} exists; of the spec's {counted(total, 'task')}: {job.present} "
            f"present, {len(job.conflicts)} differing" + (f", {len(job.to_add)} to add" if job.to_add else "")
        ]
    elif job.to_add:
        lines = [
            f"  {paint('yellow', '~')} job {name} exists: {job.present} of {counted(total, 'task')} present, "
            f"{len(job.to_add)} to add"
        ]
    else:
        lines = [f"  {paint('dim', '=')} job {name}: all {counted(total, 'task')} present"]
    if job.live_state and job.live_state not in ("active",) and job.action is not JobAction.CREATE:
        lines.append(f"      {paint('dim', '# the job is ' + job.live_state)}")
    for conflict in job.conflicts[:5]:
        lines.append(
            f"      {paint('red', '!')} task {json.dumps(conflict.task_id)} exists and differs from the spec:"
        )
        lines.extend(
            line for d in conflict.differences[:5] for line in _difference_lines(d, paint, "          ")
        )
    if len(job.conflicts) > 5:
        lines.append(f"      … and {len(job.conflicts) - 5} more differing tasks")
    if job.extra_task_ids:
        shown = ", ".join(job.extra_task_ids[:5]) + (" …" if len(job.extra_task_ids) > 5 else "")
        extra = counted(len(job.extra_task_ids), "task")
        lines.append(f"      {paint('dim', f'# {extra} in the job not in the spec (left alone): {shown}')}")
    return lines


def summary(plan: Plan) -> dict[str, Any]:
    return {
        "pool": plan.pool.action.value,
        "jobs_to_create": sum(1 for j in plan.jobs if j.action is JobAction.CREATE),
        "jobs_conflicting": sum(1 for j in plan.jobs if j.action in (JobAction.CONFLICT, JobAction.REPLACE)),
        "tasks_to_add": sum(len(j.to_add) for j in plan.jobs if j.action is not JobAction.CONFLICT),
        "tasks_conflicting": sum(len(j.conflicts) for j in plan.jobs),
    }


def blockers(
    plan: Plan, *, drain: bool = False, replace: bool = False, replace_jobs: bool = False
) -> list[str]:
    """Why apply would refuse this plan with these options (empty: it can go ahead)."""
    out = []
    pool = plan.pool
    classes = pool.classes()
    if ChangeClass.RECREATE in classes and not replace:
        props = ", ".join(c.property for c in pool.changes if c.change_class is ChangeClass.RECREATE)
        out.append(
            f'pool "{pool.pool_id}": {props} cannot change on an existing pool; '
            "--replace deletes the pool (and stops its running tasks) and creates it again"
        )
    elif ChangeClass.ZERO_NODES in classes and pool.live_nodes > 0 and not (drain or replace):
        props = ", ".join(c.property for c in pool.changes if c.change_class is ChangeClass.ZERO_NODES)
        out.append(
            f'pool "{pool.pool_id}": {props} can change only while the pool has no nodes, and it has '
            f"{pool.live_nodes}; --drain scales it to zero (letting running tasks finish), updates it and restores "
            "its scale settings; --replace deletes it and creates it again"
        )
    for job in plan.jobs:
        if job.action is JobAction.CONFLICT and not replace_jobs:
            paths = ", ".join(d.path for d in job.differences[:5])
            out.append(
                f'job "{job.job_id}" exists and differs from the spec ({paths}); --replace-jobs deletes it '
                "(with its tasks) and creates it again"
            )
        elif job.conflicts and not replace_jobs:
            ids = ", ".join(c.task_id for c in job.conflicts[:5])
            out.append(
                f'job "{job.job_id}": {counted(len(job.conflicts), "task")} exist with the same id but differ from the spec '
                f"({ids}); tasks cannot be changed once added: --replace-jobs recreates the job"
            )
        elif (
            job.action is JobAction.REUSE
            and job.to_add
            and job.live_state in ("completed", "terminating", "deleting", "disabled", "disabling")
            and not replace_jobs
        ):
            out.append(
                f'job "{job.job_id}" is {job.live_state}, so tasks cannot be added to it; '
                "--replace-jobs creates it again"
            )
    return out


def _option_lines(pool: PoolPlan, paint: _Paint, *, drain: bool, replace: bool) -> list[str]:
    """What --replace / --drain make of the pool's changes (the same conditions as ``runner.apply_pool``), said before
    the confirmation: deleting a pool is not something to learn about afterwards."""
    if pool.live is None:
        return []
    classes = pool.classes()
    needs_zero = ChangeClass.ZERO_NODES in classes and pool.live_nodes > 0
    name = json.dumps(pool.pool_id)
    if (ChangeClass.RECREATE in classes and replace) or (needs_zero and replace and not drain):
        return [
            paint("red", "-/+ ")
            + f"--replace: apply deletes pool {name} (its {counted(pool.live_nodes, 'node')} and any running tasks "
            "go) and creates it again"
        ]
    if drain and (needs_zero or (ChangeClass.REBOOT in classes and pool.live_nodes > 0)):
        return [
            f"--drain: apply scales pool {name} to zero nodes (running tasks finish unless --drain-deallocation "
            "says otherwise), updates it, then restores its scale settings"
        ]
    return []


def render_text(
    plan: Plan,
    *,
    colour: bool = False,
    drain: bool = False,
    replace: bool = False,
    replace_jobs: bool = False,
) -> str:
    paint = _Paint(colour)
    lines = [f"Target: {plan.target}", ""]
    lines.extend(_pool_lines(plan.pool, paint))
    for job in plan.jobs:
        lines.extend(_job_lines(job, paint))
    s = summary(plan)
    lines.append("")
    if not plan.has_changes:
        lines.append(paint("green", "No changes. The pool and jobs match the spec."))
    else:
        lines.append(
            paint("bold", "Plan:")
            + f" pool {'unchanged' if plan.pool.action is ChangeClass.NONE else plan.pool.action.label}; {counted(s['jobs_to_create'], 'job')} to create, "
            f"{counted(s['tasks_to_add'], 'task')} to add"
            + (f", {counted(s['jobs_conflicting'], 'job')} differing" if s["jobs_conflicting"] else "")
            + (f", {counted(s['tasks_conflicting'], 'task')} differing" if s["tasks_conflicting"] else "")
            + "."
        )
    problems = blockers(plan, drain=drain, replace=replace, replace_jobs=replace_jobs)
    for p in problems:
        lines.append(paint("red", "apply would refuse: ") + p)
    lines.extend(_option_lines(plan.pool, paint, drain=drain, replace=replace))
    if (
        ChangeClass.ZERO_NODES in plan.pool.classes()
        and plan.pool.live is not None
        and not plan.pool.live_nodes
    ):
        lines.append(
            paint(
                "dim",
                "note: the pool has no nodes now, so apply makes the zero-node changes directly "
                "(the service refuses them if nodes appear in the meantime)",
            )
        )
    if ChangeClass.REBOOT in plan.pool.classes() and plan.pool.live_nodes:
        lines.append(
            paint(
                "dim",
                "note: apply --drain replaces the existing nodes, so that they all run the new start task/packages"
                if drain
                else "note: existing nodes keep the old start task/packages until they are rebooted or reimaged "
                "(apply --drain replaces them)",
            )
        )
    return "\n".join(lines) + "\n"


def _diff_json(d: Difference) -> dict[str, Any]:
    before, after = _shown(d)
    return {"path": d.path, "before": before, "after": after}


def plan_json(plan: Plan, **options: bool) -> dict[str, Any]:
    return {
        "version": PLAN_JSON_VERSION,
        "target": plan.target,
        "has_changes": plan.has_changes,
        "pool": {
            "id": plan.pool.pool_id,
            "action": plan.pool.action.value,
            "live_nodes": plan.pool.live_nodes if plan.pool.live else None,
            **({"body": redact(plan.pool.desired)} if plan.pool.action is ChangeClass.CREATE else {}),
            "changes": [
                {
                    "property": c.property,
                    "class": c.change_class.value,
                    "reason": c.reason,
                    "differences": [_diff_json(d) for d in c.differences],
                }
                for c in plan.pool.changes
            ],
        },
        "jobs": [
            {
                "id": j.job_id,
                "action": j.action.value,
                "live_state": j.live_state,
                "differences": [_diff_json(d) for d in j.differences],
                "tasks": {
                    "total": len(j.tasks),
                    "present": j.present,
                    "to_add": len(j.to_add),
                    "conflicting": [c.task_id for c in j.conflicts],
                    "not_in_spec": j.extra_task_ids,
                },
            }
            for j in plan.jobs
        ],
        "summary": summary(plan),
        "blockers": blockers(plan, **options),
    }


def render_json(plan: Plan, **options: bool) -> str:
    return json.dumps(plan_json(plan, **options), indent=2, sort_keys=False) + "\n"
