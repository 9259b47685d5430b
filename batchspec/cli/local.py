"""``batchspec local serve``: run the local Batch service in the foreground.

It writes ``connection.json`` and ``connection.env`` into the state directory (endpoints, CA file, credentials) and
prints the same details on stdout (``--format json`` or ``env``), so scripts can use the real Azure SDKs against it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from batchspec.errors import BatchspecError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run the local Batch service (HTTPS, real SDK clients)",
        description="Run the local Batch service that the Azure SDKs talk to.",
    )
    sub = parser.add_subparsers(dest="local_command", metavar="SUBCOMMAND")
    serve = sub.add_parser(
        "serve",
        help="start the service in the foreground (Ctrl-C stops it)",
        description="Start the local Batch service on 127.0.0.1 and print its connection details.",
    )
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where pools, jobs, tasks, node directories and the CA live (default: $BATCHSPEC_LOCAL_STATE_DIR or "
        "~/.local/state/batchspec/local, the directory `batchspec apply` uses, so apply finds this service)",
    )
    serve.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="compress service time for autoscale (default: $BATCHSPEC_LOCAL_TIME_SCALE or 60, as apply's "
        "in-process service; 60: a 5-minute evaluation interval takes 5 s)",
    )
    serve.add_argument(
        "--allocation-delay",
        type=float,
        default=1.0,
        help="seconds a new node takes before it is usable (default: 1)",
    )
    serve.add_argument(
        "--format",
        choices=("json", "env"),
        default="json",
        help="how to print the connection details on stdout (default: json)",
    )
    serve.add_argument(
        "--azurite",
        action="store_true",
        help="also start Azurite (blob storage) and add AZURE_STORAGE_CONNECTION_STRING to the details",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request on stderr")
    serve.set_defaults(func=_serve)
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])


def _sh_quote(value: str) -> str:
    """Quoted for POSIX shells (``set -a; . connection.env``): the storage connection string contains ``;``."""
    import shlex

    return shlex.quote(value)


def connection_details(conn, storage_connection_string: str | None = None) -> tuple[dict, dict]:
    """(JSON object, environment variables) describing the service (and Azurite, when it runs)."""
    import dataclasses

    data = dataclasses.asdict(conn)
    env = conn.environment()
    if storage_connection_string:
        data["storage_connection_string"] = storage_connection_string
        env["AZURE_STORAGE_CONNECTION_STRING"] = storage_connection_string
    return data, env


def write_connection_files(
    state_dir: Path, conn, storage_connection_string: str | None = None
) -> tuple[Path, Path]:
    """Write ``connection.json`` and ``connection.env`` (mode 0600: they hold the client secret)."""
    import json

    data, env = connection_details(conn, storage_connection_string)
    json_path = state_dir / "connection.json"
    env_path = state_dir / "connection.env"
    for path, text in (
        (json_path, json.dumps(data, indent=2) + "\n"),
        (env_path, "".join(f"{k}={_sh_quote(v)}\n" for k, v in env.items())),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the client secret
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    return json_path, env_path


def _serve(args: argparse.Namespace) -> int:
    from batchspec.cli.plan import DEFAULT_LOCAL_TIME_SCALE, ENV_TIME_SCALE, default_state_dir
    from batchspec.local.service import LocalBatchService

    if args.state_dir is None:
        args.state_dir = default_state_dir()
    if args.time_scale is None:
        try:
            args.time_scale = float(os.environ.get(ENV_TIME_SCALE) or DEFAULT_LOCAL_TIME_SCALE)
        except ValueError:
            raise BatchspecError(f"{ENV_TIME_SCALE} must be a number") from None

    if not 0 <= args.port <= 65535:
        raise BatchspecError(f"--port must be from 0 to 65535, got {args.port}")
    if args.time_scale <= 0:
        raise BatchspecError(f"--time-scale must be positive, got {args.time_scale}")
    if args.allocation_delay < 0:
        raise BatchspecError(f"--allocation-delay must not be negative, got {args.allocation_delay}")
    svc = LocalBatchService(
        args.state_dir,
        port=args.port,
        time_scale=args.time_scale,
        allocation_delay=args.allocation_delay,
        verbose=args.verbose,
    )
    stop = threading.Event()
    svc.start()
    # Ctrl-C and `kill` both stop cleanly. SIGINT is set explicitly: a shell starts a background job
    # (`batchspec local serve &`, as the docs show) with SIGINT ignored, and `kill -INT` must still stop it.
    # A closed terminal (SIGHUP) stops cleanly too (else Azurite and task processes are left running), unless
    # SIGHUP is ignored on purpose (`nohup batchspec local serve &`).
    signals = [signal.SIGTERM, signal.SIGINT]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signals.append(signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    azurite = None
    try:
        storage = None
        if args.azurite:
            from batchspec.local.azurite import start_azurite

            azurite = start_azurite(svc.state_dir / "azurite")
            storage = azurite.connection_string
        conn = svc.connection
        json_path, env_path = write_connection_files(svc.state_dir, conn, storage)
        data, env = connection_details(conn, storage)
        if args.format == "json":
            import json

            print(json.dumps(data, indent=2), flush=True)
        else:
            print("".join(f"export {k}={_sh_quote(v)}\n" for k, v in env.items()), end="", flush=True)
        print(
            f"batchspec: local Batch service on {conn.management_url} (data plane {conn.batch_url})\n"
            f"batchspec: connection details in {json_path} and {env_path}; CA certificate {conn.ca_file}\n"
            "batchspec: press Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        if azurite is not None:
            azurite.stop()
        svc.stop()
        for name in ("connection.json", "connection.env"):  # stale details would point at a closed port
            (svc.state_dir / name).unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("batchspec: local Batch service stopped", file=sys.stderr)
    return 0
