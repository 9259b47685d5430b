"""``batchspec apply SPEC``: show the plan, ask, then create/update the pool, add the jobs' tasks and follow them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from batchspec.cli.plan import add_common_arguments, load_project, open_session, service_error_guard
from batchspec.errors import BatchspecError


def register(subparsers: Any) -> None:
    from batchspec.apply.runner import DEALLOCATION_OPTIONS

    p = subparsers.add_parser(
        "apply",
        help="create or update the pool, run the jobs and wait for them",
        description=(
            "Show the plan and ask (unless --yes); create the pool (PUT with If-None-Match: *) or update it (PATCH "
            "with If-Match); stage inputs, create the jobs, add their tasks exactly once; follow them to the end. "
            "Exit 0 only when every task succeeded."
        ),
        epilog="""\
examples:
  batchspec apply examples/quickstart/batchspec.yaml --yes   # the quickstart, on the local Batch service
  batchspec apply pools/ --env prod --yes --no-wait          # CI: submit and return
  batchspec apply pools/ --yes --drain                       # a VM size or start-task change on a busy pool

exit codes: 0 every task succeeded (or --no-wait after submission); 1 a task or start task failed, a change was
refused, or the service refused a request; 2 could not run (bad spec, authentication, unreachable endpoint);
130 interrupted (run apply again: it adds only the tasks that are missing).""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--drain",
        action="store_true",
        help="for changes that need zero nodes or reach existing nodes only after a reboot (a new start task), "
        "and to replace nodes whose start task failed: scale the pool to zero, update it, restore its scale "
        "settings",
    )
    p.add_argument(
        "--drain-deallocation",
        choices=DEALLOCATION_OPTIONS,
        default="TaskCompletion",
        help="what happens to running tasks while draining (default: TaskCompletion, let them finish)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="delete the pool (stopping its tasks) and create it again: for changes no update can make, or "
        "instead of --drain",
    )
    p.add_argument(
        "--replace-jobs",
        action="store_true",
        help="delete and recreate jobs that exist but differ from the spec (their tasks are lost)",
    )
    p.add_argument("--no-wait", action="store_true", help="return once the tasks are submitted")
    p.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS", help="stop following after this long"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="add-task requests in flight at once (default 8)",
    )
    p.set_defaults(func=run)


def confirm(question: str, command: str = "apply") -> bool:
    if not sys.stdin.isatty():
        raise BatchspecError(
            f"{command} needs confirmation but stdin is not a terminal; pass --yes to {command} without asking"
        )
    sys.stderr.write(f"{question}\n  Only 'yes' will be accepted: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    return answer == "yes"


def run(args: argparse.Namespace) -> int:
    from batchspec.apply.render import blockers, render_text, use_colour
    from batchspec.apply.runner import ApplyOptions, build_plan, execute

    if args.concurrency < 1 or args.concurrency > 64:
        raise BatchspecError("--concurrency must be between 1 and 64")
    if args.timeout is not None and not args.timeout > 0:  # also refuses nan
        raise BatchspecError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    opts = ApplyOptions(
        drain=args.drain,
        replace=args.replace,
        replace_jobs=args.replace_jobs,
        wait=not args.no_wait,
        concurrency=args.concurrency,
        timeout=args.timeout,
        deallocation=args.drain_deallocation,
    )
    project = load_project(args)
    with open_session(project, args) as session:
        scrub = session.console.scrub
        plan = service_error_guard(lambda: build_plan(project, session.backend), scrub)
        text = render_text(
            plan,
            colour=use_colour(sys.stderr),
            drain=opts.drain,
            replace=opts.replace,
            replace_jobs=opts.replace_jobs,
        )
        # the plan is chatter here (stdout stays empty): apply has no machine-readable output
        sys.stderr.write(scrub(text))
        if blockers(plan, drain=opts.drain, replace=opts.replace, replace_jobs=opts.replace_jobs):
            # refuse before asking: a "yes" would lead nowhere (execute refuses the same plan with the reasons)
            return service_error_guard(
                lambda: execute(plan, project, session.backend, opts, session.console, session.store), scrub
            )
        pool_or_jobs_change = plan.pool.action.value != "no-change" or any(
            j.action.value != "no-change" or j.to_add or j.conflicts for j in plan.jobs
        )
        if pool_or_jobs_change and not args.yes and not confirm("Do you want to perform these actions?"):
            session.console.say("apply cancelled; nothing was changed")
            return 1
        try:
            code = service_error_guard(
                lambda: execute(plan, project, session.backend, opts, session.console, session.store), scrub
            )
        except KeyboardInterrupt:
            session.console.say(
                "\ninterrupted: what was created or submitted stays; run apply again to add only what is missing "
                "and follow the jobs"
            )
            raise
        if args.no_wait and project.target.is_local and plan.jobs:
            session.console.say(
                "note: the local service runs tasks only while it runs: they go on when a batchspec command for "
                "this state directory (or `batchspec local serve`) runs again"
            )
        return code
