"""``batchspec fmt [--check] [--diff] PATH...``: rewrite formula files in the canonical layout.

Without options the files are rewritten in place (``-`` reads stdin and writes stdout). ``--check`` writes nothing
and exits 1 when a file would change (for CI); ``--diff`` prints a unified diff instead of writing. A file with
syntax errors is left alone: its diagnostics go to stderr and the exit code is 2. Line endings are kept (a file
written with CRLF stays CRLF).

Exit codes: 0 nothing to change (or all rewritten), 1 ``--check`` found files to reformat, 2 could not format.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from batchspec.diagnostics.render.text import render_text


def _collect(paths: list[str], errors: list[str]) -> list[tuple[str, Path | None]]:
    from batchspec.cli.validate import SKIP_DIRS, _display

    out: list[tuple[str, Path | None]] = []
    for raw in paths:
        if raw == "-":
            out.append(("-", None))
            continue
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith(".formula"):
                        child = Path(root) / name
                        out.append((_display(child), child))
        elif p.exists():
            out.append((_display(p), p))
        else:
            errors.append(f'cannot read "{raw}": no such file or directory')
    return out


def cmd_fmt(args: argparse.Namespace) -> int:
    from batchspec.cli.validate import decode
    from batchspec.formula.printer import FormatError, format_formula

    errors: list[str] = []
    changed: list[str] = []
    not_formatted: list[str] = []
    items = _collect(args.paths, errors)
    if not items and not errors:  # a folder without formulas: say so rather than succeed in silence
        print(
            "batchspec: note: no .formula file found in " + ", ".join(f'"{p}"' for p in args.paths),
            file=sys.stderr,
        )
    for shown, path in items:
        try:
            data = sys.stdin.buffer.read() if path is None else path.read_bytes()
        except OSError as exc:
            errors.append(f'cannot read "{shown}": {exc.strerror or exc}')
            continue
        text, problems = decode(data, shown)
        if text is None:
            sys.stderr.write(render_text(problems, files_checked=1, sources={}, summary=False))
            print(f"batchspec: error: {_name(shown, path)} was not formatted: it is not UTF-8 text", file=sys.stderr)
            not_formatted.append(shown)
            continue
        try:
            formatted = format_formula(text, shown)
        except FormatError as exc:
            sys.stderr.write(render_text(exc.diagnostics, files_checked=1, sources={shown: text}, summary=False))
            n = sum(d.severity.label == "error" for d in exc.diagnostics)
            print(
                f"batchspec: error: {_name(shown, path)} was not formatted: fix the "
                + ("error" if n == 1 else f"{n} errors")
                + " above first"
                + (" (the file is unchanged)" if path is not None else " (nothing written to stdout)"),
                file=sys.stderr,
            )
            not_formatted.append(shown)
            continue
        if "\r\n" in text:
            formatted = formatted.replace("\n", "\r\n")
        if path is None and not (args.check or args.diff):
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        changed.append(shown)
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    formatted.splitlines(keepends=True),
                    fromfile=f"{shown} (original)",
                    tofile=f"{shown} (formatted)",
                )
            )
        if args.check:
            print(f"would reformat {_name(shown, path)}", file=sys.stderr)
        elif not args.diff and path is not None:
            path.write_bytes(formatted.encode("utf-8"))
            print(f"reformatted {shown}", file=sys.stderr)
    for message in errors:
        print(f"batchspec: error: {message}", file=sys.stderr)
    files = [shown for shown, path in items if path is not None]
    if len(files) > 1:
        print("batchspec: " + _summary(len(files), len(changed), len(not_formatted), args), file=sys.stderr)
    if errors or not_formatted:
        return 2
    if args.check and changed:
        return 1
    return 0


def _name(shown: str, path: Path | None) -> str:
    return "the text read from stdin" if path is None else shown


def _summary(files: int, changed: int, not_formatted: int, args: argparse.Namespace) -> str:
    def n(count: int) -> str:
        return f"{count} file" + ("" if count == 1 else "s")

    if args.check or args.diff:
        parts = [f"{n(changed)} would be reformatted"] if changed else []
    else:
        parts = [f"{n(changed)} reformatted"] if changed else []
    unchanged = files - changed - not_formatted
    if unchanged:
        parts.append(f"{n(unchanged)} already formatted")
    if not_formatted:
        parts.append(f"{n(not_formatted)} not formatted (see the errors above)")
    return ", ".join(parts)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "fmt",
        help="rewrite autoscale formulas in the canonical layout (comments kept)",
        description="Format .formula files: one statement per line, canonical spacing, comments kept. "
        "Exit 0 ok, 1 --check found files to reformat, 2 could not format (syntax errors, unreadable file).",
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help='a .formula file, a directory (recursive), or "-"'
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    p.add_argument("--diff", action="store_true", help="print a unified diff instead of rewriting files")
    p.set_defaults(func=cmd_fmt)
