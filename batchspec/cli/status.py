"""``batchspec status SPEC``: the pool's state, its last autoscale run and each job's task counts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from batchspec.cli.plan import add_common_arguments, load_project, open_session, service_error_guard


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "status",
        help="show the pool, its last autoscale run and the jobs' task counts",
        description='JSON shape: {"pool": {...}, "jobs": [{"id", "state", "tasks": {"active", "running", '
        '"completed", "succeeded", "failed"}}]}',
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
