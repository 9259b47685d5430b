"""``batchspec render SPEC [--env E] [--pool] [--plane data] [-o DIR]``: print or write the rendered REST bodies."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from batchspec.diagnostics.model import Diagnostic, sort_and_dedupe
from batchspec.errors import BatchspecError


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    diags = sort_and_dedupe(diagnostics)
    try:
        from batchspec.diagnostics.render import render  # FRONTEND's renderer

        text = render(diags, "text", files_checked=len({d.span.path for d in diags}))
    except Exception:  # renderer not available (or a different signature): plain concise lines
        lines = []
        for d in diags:
            s = d.span
            lines.append(f"{s.path}:{s.start.line}:{s.start.col}: {d.severity.label}[{d.code}] {d.message}")
            if d.hint:
                lines.append(f"  = hint: {d.hint}")
        text = "\n".join(lines)
    sys.stderr.write(text.rstrip("\n") + "\n")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "render",
        help="render a spec into the exact pool, job and task REST bodies",
        description="Render SPEC (a batchspec.yaml or its folder) into REST bodies. Without -o, prints one JSON "
        "document with every body; --pool prints only the management-plane pool body.",
    )
    p.add_argument("spec", help="batchspec.yaml, or a folder holding one")
    p.add_argument("--env", help="environment overlay to apply (from the spec's environments)")
    p.add_argument("--pool", action="store_true", help="print only the pool body")
    p.add_argument(
        "--plane",
        choices=("management", "data"),
        default="management",
        help="spelling of the pool body: management plane (ARM, default) or data plane (az batch --json-file)",
    )
    p.add_argument(
        "-o", "--output", metavar="DIR", help="write pool.json and jobs/<id>.json, jobs/<id>.tasks.json"
    )
    p.set_defaults(func=run)


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    from batchspec.spec.project import SpecError, load_project

    try:
        project = load_project(Path(args.spec), args.env)
    except SpecError as exc:
        print_diagnostics(exc.diagnostics)
        return 2
    if project.diagnostics:
        print_diagnostics(project.diagnostics)
    pool_body = project.pool_body
    if args.plane == "data":
        from batchspec.spec.planes import management_to_data

        if "identity" in pool_body or "tags" in pool_body:
            print(
                "batchspec: note: identity and tags exist only on the management plane; the data-plane body leaves them out",
                file=sys.stderr,
            )
        pool_body = management_to_data(project.pool_id, pool_body)
    if args.output:
        out = Path(args.output)
        try:
            (out / "jobs").mkdir(parents=True, exist_ok=True)
            written = [out / "pool.json"]
            (out / "pool.json").write_text(_dump(pool_body), encoding="utf-8")
            if not args.pool:
                jobs_dir = (out / "jobs").resolve()
                for job in project.jobs:
                    if (jobs_dir / f"{job.id}.json").resolve().parent != jobs_dir:  # ids are checked; be sure
                        raise BatchspecError(f'job id "{job.id}" cannot name a file inside {out / "jobs"}')
                    (out / "jobs" / f"{job.id}.json").write_text(_dump(job.job_body), encoding="utf-8")
                    (out / "jobs" / f"{job.id}.tasks.json").write_text(_dump(job.tasks), encoding="utf-8")
                    written += [out / "jobs" / f"{job.id}.json", out / "jobs" / f"{job.id}.tasks.json"]
        except OSError as exc:
            raise BatchspecError(f"{out}: cannot write ({exc.strerror})") from None
        for f in written:
            print(f"wrote {f.as_posix()}", file=sys.stderr)
        return 0
    tasks = sum(len(j.tasks) for j in project.jobs)
    print(
        f"rendered pool {project.pool_id}, {len(project.jobs)} job(s), {tasks} task(s)"
        + (f" (--env {args.env})" if args.env else ""),
        file=sys.stderr,
    )
    if args.pool:
        sys.stdout.write(_dump(pool_body))
        return 0
    document = {
        "target": {
            "kind": project.target.kind,
            **(
                {}
                if project.target.is_local
                else {
                    "subscriptionId": project.target.subscription_id,
                    "resourceGroup": project.target.resource_group,
                    "accountName": project.target.account_name,
                }
            ),
        },
        "pool": {"id": project.pool_id, "body": pool_body},
        "jobs": [
            {
                "id": j.id,
                "body": j.job_body,
                "tasks": j.tasks,
                "inputs": [
                    {
                        "file": i.local_path.relative_to(project.root.resolve()).as_posix()
                        if i.local_path.is_relative_to(project.root.resolve())
                        else i.local_path.as_posix(),
                        "container": i.container,
                        "blob": i.blob_name,
                    }
                    for i in j.inputs
                ],
                "outputs": [
                    {"container": o.container, "prefix": o.prefix, "download": o.destination.as_posix()}
                    for o in j.outputs
                ],
            }
            for j in project.jobs
        ],
    }
    sys.stdout.write(_dump(document))
    return 0
