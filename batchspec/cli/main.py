"""Entry point of the ``batchspec`` command.

Each subcommand lives in its own module under ``batchspec/cli/`` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func=<callable(args) -> int>``.
Modules are imported lazily per command so that ``batchspec validate`` never pays for the Azure SDKs.

Exit codes (documented in README and docs/cli.md):
  0 success / nothing at or above the fail level    1 findings, or the operation failed
  2 could not run: usage error, bad input, unreadable file, unreachable endpoint
  3 internal error (a bug: a version block and traceback are printed)      130 interrupted
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import traceback
from collections.abc import Sequence

from batchspec import __version__
from batchspec.errors import BatchspecError

# command name -> module under batchspec.cli that registers it. Order = order in --help.
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "fmt": "fmt",
    "rules": "rules",
    "generate": "generate",
    "evaluate": "evaluate",
    "simulate": "simulate",
    "render": "render",
    "import": "import_",
    "plan": "plan",
    "apply": "apply",
    "status": "status",
    "destroy": "destroy",
    "local": "local",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 on usage errors, which matches our "could not run" code.
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _available_commands(requested: str | None) -> dict[str, str]:
    """Commands whose module exists. Only the requested command's module is imported later."""
    import importlib.util

    out = {}
    for name, module in COMMANDS.items():
        if requested is not None and name != requested:
            continue
        if importlib.util.find_spec(f"batchspec.cli.{module}") is not None:
            out[name] = module
    return out


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="batchspec", description="Write, check, simulate and apply Azure Batch pools and jobs.")
    parser.add_argument("--version", action="version", version=f"batchspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands = _available_commands(only)
    for name, module in commands.items():
        importlib.import_module(f"batchspec.cli.{module}").register(sub)
    return parser


def version_block() -> str:
    lines = [f"batchspec {__version__}", f"python {platform.python_version()} ({platform.platform()})"]
    for dist in ("lark", "jsonschema", "jinja2", "azure-batch", "azure-mgmt-batch"):
        try:
            from importlib.metadata import version

            lines.append(f"{dist} {version(dist)}")
        except Exception:
            lines.append(f"{dist} (not installed)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    requested = next((a for a in args_list if not a.startswith("-")), None)
    only = requested if requested in COMMANDS else None
    parser = build_parser(only)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help/--version (0) or usage error (2)
        return int(exc.code or 0)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except BatchspecError as exc:
        print(f"batchspec: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("batchspec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:
        print("batchspec: internal error, please report it with the details below", file=sys.stderr)
        print(version_block(), file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return 3


def entrypoint() -> None:
    raise SystemExit(main())
