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
        description="Delete every job of the spec (their tasks go with them), then the pool. Asks unless --yes.",
    )
    add_common_arguments(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchspec.apply.runner import destroy
    from batchspec.cli.apply import confirm

    project = load_project(args)
    with open_session(project, args) as session:
        jobs = ", ".join(f'"{j.id}"' for j in project.jobs) or "none"
        sys.stderr.write(
            f'{session.backend.account.description}\n  will delete jobs {jobs} and pool "{project.pool_id}"\n'
        )
        if not args.yes and not confirm("Do you really want to destroy them?"):
            session.console.say("destroy cancelled; nothing was deleted")
            return 1
        service_error_guard(lambda: destroy(project, session.backend, session.console), session.console.scrub)
    return 0
