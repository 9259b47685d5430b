"""``batchspec plan SPEC``: what apply would change, labelled by what each change takes.

Also home of what plan/apply/status/destroy share: loading the spec and opening the target (an Azure Batch
account, or the local Batch service started in-process with Azurite for blobs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from batchspec.errors import BatchspecError

T = TypeVar("T")

ENV_STATE_DIR = "BATCHSPEC_LOCAL_STATE_DIR"
ENV_CONNECTION = "BATCHSPEC_LOCAL_CONNECTION"
ENV_TIME_SCALE = "BATCHSPEC_LOCAL_TIME_SCALE"
# service time runs 60x faster than real time in the in-process local service: a 5-minute autoscale evaluation
# interval takes 5 s, so a pool that autoscales from zero gets its nodes within seconds
DEFAULT_LOCAL_TIME_SCALE = 60.0


def default_state_dir() -> Path:
    """Where the local Batch service keeps its state when neither --state-dir nor BATCHSPEC_LOCAL_STATE_DIR is given.

    One directory per user, like one Batch account: every spec applied locally shares it, whatever the working
    directory, and it persists between runs (a second apply sees the first one's pool and jobs).
    """
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "batchspec" / "local"


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="batchspec.yaml, or a folder holding one")
    parser.add_argument("--env", default=None, help="environment overlay of the spec (e.g. prod)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"state of the local Batch service (default: ${ENV_STATE_DIR} or ~/.local/state/batchspec/local)",
    )


def load_project(args: argparse.Namespace) -> Any:
    from batchspec.spec.project import load_project as _load

    path = Path(args.spec)
    if not path.exists():
        raise BatchspecError(f"{args.spec}: no such file or directory")
    return _load(path, args.env)


@dataclass
class Session:
    backend: Any
    store: Callable[[], Any] | None
    console: Any


def _local_target_from_connection(conn: Any) -> Any:
    from batchspec.apply.azure import Target

    def field(name: str) -> Any:
        return conn[name] if isinstance(conn, dict) else getattr(conn, name)

    return Target(
        kind="local",
        subscription_id=str(field("subscription_id")),
        resource_group=str(field("resource_group")),
        account_name=str(field("account_name")),
        management_url=str(field("management_url")),
        ca_file=str(field("ca_file")),
        tenant_id=str(field("tenant_id")),
        client_id=str(field("client_id")),
        client_secret=str(field("client_secret")),
        authority_host=str(field("authority_host")),
    )


def _azure_target(project: Any) -> Any:
    from batchspec.apply.azure import Target

    t = project.target
    sub = t.subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID")
    rg = t.resource_group or os.environ.get("BATCHSPEC_RESOURCE_GROUP")
    account = t.account_name or os.environ.get("BATCHSPEC_ACCOUNT_NAME")
    missing = [n for n, v in (("subscription", sub), ("resource group", rg), ("account", account)) if not v]
    if missing:
        raise BatchspecError(
            "the spec targets an Azure Batch account but does not say which "
            + ", ".join(missing)
            + " (set them under target: in the spec, or AZURE_SUBSCRIPTION_ID, BATCHSPEC_RESOURCE_GROUP, "
            "BATCHSPEC_ACCOUNT_NAME)"
        )
    return Target(kind="azure", subscription_id=str(sub), resource_group=str(rg), account_name=str(account))


@contextlib.contextmanager
def open_session(project: Any, args: argparse.Namespace, *, need_store: bool = False) -> Iterator[Session]:
    """Connect to the spec's target. Local: reuse a running service (BATCHSPEC_LOCAL_CONNECTION) or start one."""
    from batchspec.apply.azure import AzureBlobStore, auto_storage_store, connect
    from batchspec.apply.redact import Scrubber, ScrubbingFilter
    from batchspec.apply.runner import Console, project_secrets

    scrubber = Scrubber(project_secrets(project))
    console = Console(sys.stderr, scrubber)
    log_filter = ScrubbingFilter(scrubber)
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_filter)
    # azure-identity logs each failed token request as a warning; batchspec reports the failure itself, once
    logging.getLogger("azure").setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack:
        try:
            if project.target.is_local:
                conn_file = os.environ.get(ENV_CONNECTION)
                state_dir = (args.state_dir or default_state_dir()).expanduser().resolve()
                if conn_file:
                    try:
                        conn = json.loads(Path(conn_file).read_text())
                    except (OSError, ValueError) as exc:
                        raise BatchspecError(f"{ENV_CONNECTION}={conn_file}: cannot read it ({exc})") from None
                    target = _local_target_from_connection(conn)
                else:
                    from batchspec.local.service import LocalBatchService

                    state_dir.mkdir(parents=True, exist_ok=True)
                    try:
                        time_scale = float(os.environ.get(ENV_TIME_SCALE) or DEFAULT_LOCAL_TIME_SCALE)
                    except ValueError:
                        raise BatchspecError(f"{ENV_TIME_SCALE} must be a number") from None
                    service = LocalBatchService(state_dir, time_scale=time_scale)
                    service.start()
                    stack.callback(service.stop)
                    target = _local_target_from_connection(service.connection)
                backend = connect(target)
                stack.callback(backend.close)
                if not conn_file:
                    backend.account.description = f"local Batch service (state in {state_dir})"

                azurite: list[Any] = []

                def local_store() -> Any:
                    if not azurite:
                        from batchspec.local.azurite import start_azurite

                        workdir = state_dir / "azurite"
                        workdir.mkdir(parents=True, exist_ok=True)
                        az = start_azurite(workdir)
                        stack.callback(az.stop)
                        store = AzureBlobStore(connection_string=az.connection_string)
                        stack.callback(store.close)
                        azurite.append(store)
                    return azurite[0]

                store_factory: Callable[[], Any] | None = local_store
            else:
                backend = connect(_azure_target(project))
                stack.callback(backend.close)
                stores: list[Any] = []

                def azure_store() -> Any:
                    if not stores:
                        stores.append(auto_storage_store(backend))
                        stack.callback(stores[0].close)
                    return stores[0]

                store_factory = azure_store
            yield Session(backend, store_factory, console)
        except BatchspecError as exc:
            # secrets never reach an error message, even one the service echoed back
            exc.args = (scrubber(str(exc)),)
            raise


def service_error_guard(fn: Callable[[], T], scrub: Callable[[str], str] | None = None) -> T:
    """Run ``fn``; a request that failed after retries becomes a clean message (exit 1)."""
    from batchspec.apply.backend import ServiceError

    try:
        return fn()
    except ServiceError as exc:
        text = str(exc)
        if scrub is not None:
            text = scrub(text)
        raise BatchspecError(text, exit_code=1) from None


# -- the plan command -----------------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plan",
        help="show what apply would change (and what each change takes)",
        description="Read the live pool and jobs, diff them against the rendered spec and label every change.",
    )
    add_common_arguments(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there is nothing to change, 2 when there are changes, 1 on error (as Terraform does)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from batchspec.apply.render import render_json, render_text, use_colour
    from batchspec.apply.runner import build_plan

    try:
        project = load_project(args)
        with open_session(project, args) as session:
            plan = service_error_guard(lambda: build_plan(project, session.backend), session.console.scrub)
            if args.format == "json":
                out = render_json(plan)
            else:
                out = render_text(plan, colour=use_colour(sys.stdout))
            sys.stdout.write(session.console.scrub(out))
    except BatchspecError as exc:
        if args.detailed_exitcode:
            exc.exit_code = 1  # Terraform's convention: 1 error, 2 changes
        raise
    if args.detailed_exitcode:
        return 2 if plan.has_changes else 0
    return 0
