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
    missing = [
        (name, key, env)
        for name, key, env, value in (
            ("subscription", "subscriptionId", "AZURE_SUBSCRIPTION_ID", sub),
            ("resource group", "resourceGroup", "BATCHSPEC_RESOURCE_GROUP", rg),
            ("account", "name", "BATCHSPEC_ACCOUNT_NAME", account),
        )
        if not value
    ]
    if missing:
        raise BatchspecError(
            "the spec targets an Azure Batch account but does not say which "
            + ", ".join(name for name, _, _ in missing)
            + ": set "
            + ", ".join(f"account.{key}" for _, key, _ in missing)
            + " in the spec, or the environment variable"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(env for _, _, env in missing)
        )
    return Target(kind="azure", subscription_id=str(sub), resource_group=str(rg), account_name=str(account))


def _alive(conn: dict[str, Any]) -> bool:
    """Does the service described by ``conn`` answer HTTPS requests (a stale file points at nothing)?"""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    try:
        url = urlsplit(str(conn["management_url"]))
        context = ssl.create_default_context(cafile=str(conn["ca_file"]))
        client = http.client.HTTPSConnection(
            url.hostname or "127.0.0.1", url.port or 443, context=context, timeout=2
        )
        try:
            client.request("GET", "/")
            client.getresponse().read()
        finally:
            client.close()
        return True
    except (OSError, KeyError, ValueError, http.client.HTTPException):
        return False


def _read_connection(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _running_local_service(state_dir: Path, stack: contextlib.ExitStack) -> tuple[dict[str, Any], str, Any]:
    """Connection details of the local service for ``state_dir``, where it runs, and (when this process started
    it) its LocalConnection.

    In order: the file named by BATCHSPEC_LOCAL_CONNECTION; a service already serving ``state_dir`` (``batchspec
    local serve``, or another batchspec command's in-process service: both leave ``connection.json`` there); else
    a service started in this process. One state directory is only ever served by one process: an exclusive lock
    guards the in-process start, and the loser of a race connects to the winner's service.
    """
    conn_file = os.environ.get(ENV_CONNECTION)
    if conn_file:
        conn = _read_connection(Path(conn_file))
        if conn is None:
            raise BatchspecError(f"{ENV_CONNECTION}={conn_file}: not a readable connection file")
        return conn, f"connection file {conn_file}", None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchspecError(f"cannot use state directory {state_dir}: {exc.strerror or exc}") from None
    served = state_dir / "connection.json"
    import fcntl
    import time

    lock = open(state_dir / ".service.lock", "a+")  # noqa: SIM115 (held for the whole command)
    stack.callback(lock.close)
    deadline = time.monotonic() + 15
    while True:
        existing = _read_connection(served)
        if existing is not None and _alive(existing):
            return existing, f"running, state in {state_dir}", None
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            pass  # another process is starting (or runs) the service: wait for its connection file
        if time.monotonic() > deadline:
            raise BatchspecError(
                f"the local service state in {state_dir} is locked by another process that does not serve it; "
                f"remove {state_dir / '.service.lock'} if no batchspec command is running"
            )
        time.sleep(0.1)
    existing = _read_connection(served)  # a `local serve` does not take the lock
    if existing is not None and _alive(existing):
        return existing, f"running, state in {state_dir}", None
    from batchspec.cli.local import write_connection_files
    from batchspec.local.service import LocalBatchService

    try:
        time_scale = float(os.environ.get(ENV_TIME_SCALE) or DEFAULT_LOCAL_TIME_SCALE)
    except ValueError:
        raise BatchspecError(f"{ENV_TIME_SCALE} must be a number") from None
    service = LocalBatchService(state_dir, time_scale=time_scale)
    service.start()
    stack.callback(service.stop)
    write_connection_files(state_dir, service.connection)
    stack.callback(lambda: served.unlink(missing_ok=True))
    stack.callback(lambda: (state_dir / "connection.env").unlink(missing_ok=True))
    import dataclasses

    return dataclasses.asdict(service.connection), f"state in {state_dir}", service.connection


@contextlib.contextmanager
def open_session(project: Any, args: argparse.Namespace) -> Iterator[Session]:
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
                state_dir = (args.state_dir or default_state_dir()).expanduser().resolve()
                conn, where, owned = _running_local_service(state_dir, stack)
                target = _local_target_from_connection(conn)
                backend = connect(target)
                stack.callback(backend.close)
                backend.account.description = f"local Batch service ({where})"
                served_storage = conn.get("storage_connection_string") if isinstance(conn, dict) else None

                azurite: list[Any] = []

                def local_store() -> Any:
                    if not azurite:
                        connection_string = served_storage
                        if not connection_string and not owned and not os.environ.get(ENV_CONNECTION):
                            # the service another command runs may have started blob storage since
                            latest = _read_connection(state_dir / "connection.json") or {}
                            connection_string = latest.get("storage_connection_string")
                        if not connection_string:  # start Azurite for this command
                            from batchspec.local.azurite import start_azurite

                            workdir = state_dir / "azurite"
                            workdir.mkdir(parents=True, exist_ok=True)
                            az = start_azurite(workdir)
                            stack.callback(az.stop)
                            connection_string = az.connection_string
                            if owned:  # commands sharing this service share its blob storage too
                                from batchspec.cli.local import write_connection_files

                                write_connection_files(state_dir, owned, connection_string)
                        store = AzureBlobStore(connection_string=connection_string)
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
        description="Read the live pool and jobs, diff them against the rendered spec and label every change "
        "with what it takes. Changes nothing. Secret values are shown as (sensitive).",
        epilog="""\
symbols:
  +    create                          ~    update in place (+ node reboot for a start task)
  !    needs zero nodes (--drain)      -/+  needs recreation (--replace)
  =    no change

examples:
  batchspec plan examples/quickstart
  batchspec plan pools/batchspec.yaml --env prod --detailed-exitcode   # CI: 0 no changes, 2 changes, 1 error
  batchspec plan pools/ --format json | jq .summary

The target is the spec's Azure Batch account, or the local Batch service without one (docs/apply.md).""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
