"""``batchspec destroy SPEC``: delete the spec's jobs (with their tasks) and its pool, after confirmation."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from batchspec.cli.plan import add_common_arguments, load_project, open_session, service_error_guard


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "destroy",
        help="delete the spec's jobs and pool",
        description="Delete every job of the spec (their tasks go with them), then the pool. Lists what exists "
        "and asks unless --yes; says so when there is nothing to delete.",
        epilog="""\
examples:
  batchspec destroy examples/quickstart
  batchspec destroy pools/ --env staging --yes""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchspec.apply.runner import destroy
    from batchspec.cli.apply import confirm

    project = load_project(args)
    with open_session(project, args) as session:
        scrub = session.console.scrub
        lines = service_error_guard(lambda: _what_would_go(project, session.backend), scrub)
        sys.stderr.write(f"Target: {session.backend.account.description}\n\n")
        if not lines:
            names = [f'job "{j.id}"' for j in project.jobs] + [f'pool "{project.pool_id}"']
            verb = "does not exist" if len(names) == 1 else "do not exist"
            sys.stderr.write(f"Nothing to destroy: {', '.join(names)} {verb}.\n")
            return 0
        sys.stderr.write(scrub("".join(f"  - {line}\n" for line in lines)) + "\n")
        if not args.yes and not confirm("Do you really want to delete them?", command="destroy"):
            session.console.say("destroy cancelled; nothing was deleted")
            return 1
        service_error_guard(lambda: destroy(project, session.backend, session.console), scrub)
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _what_would_go(project: Any, backend: Any) -> list[str]:
    """One line per job and pool that exists and would be deleted (none: nothing to do)."""
    lines = []
    for job in project.jobs:
        if backend.get_job(job.id) is None:
            continue
        counts = backend.task_counts(job.id)
        total = counts.active + counts.running + counts.completed
        running = f", {counts.running} running (they stop)" if counts.running else ""
        lines.append(f'job "{job.id}" will be deleted with its {_plural(total, "task")}{running}')
    pool = backend.get_pool(project.pool_id)
    if pool is not None:
        nodes = pool.node_count
        lines.append(
            f'pool "{project.pool_id}" will be deleted'
            + (f" with its {_plural(nodes, 'node')}" if nodes else " (it has no nodes)")
        )
    return lines
