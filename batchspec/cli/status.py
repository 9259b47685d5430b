"""``batchspec status SPEC``: the pool's state, its last autoscale run and each job's task counts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from batchspec.cli.plan import add_common_arguments, load_project, open_session, service_error_guard

EPILOG = """\
examples:
  batchspec status examples/quickstart
  batchspec status pools/ --env prod --format json | jq '.jobs[].tasks'

--format json: {"pool": {"id", "exists", "vmSize", "provisioningState", "allocationState",
"currentDedicatedNodes", "currentLowPriorityNodes", "scaleMode", "autoScaleRun", "nodes"}, "jobs": [{"id",
"exists", "state", "tasks": {"active", "running", "completed", "succeeded", "failed"}, "tasks_in_spec"}]}
(a pool that does not exist has only "id" and "exists")"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "status",
        help="show the pool, its last autoscale run and the jobs' task counts",
        description="Show the pool (allocation state, node counts by state, scale mode, the last autoscale run) and "
        "each of the spec's jobs with its task counts. Changes nothing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchspec.apply.runner import render_status, status

    project = load_project(args)
    with open_session(project, args) as session:
        data = service_error_guard(lambda: status(project, session.backend), session.console.scrub)
        if args.format == "json":
            out = json.dumps(data, indent=2) + "\n"
        else:
            out = render_status(data)
        sys.stdout.write(session.console.scrub(out))
    return 0
