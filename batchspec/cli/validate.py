"""``batchspec validate PATH... [--format F] [--fail-on LEVEL] [--strict]``.

Checks autoscale formula files (``*.formula``, or any file given explicitly that is not YAML/JSON), directories
(recursively: every ``*.formula``, plus batchspec YAML/JSON documents once spec validation routes them) and ``-``
(a formula on stdin). Every path yields diagnostics; all of them go into one output document.

Exit codes: 0 nothing at or above ``--fail-on`` (default error; ``--strict`` = warning); 1 findings at or above it;
2 could not check (missing or unreadable path, bad arguments); 3 internal error.

The two routes are ``check_formula_file`` (formula text → diagnostics) and ``check_document`` (a YAML/JSON file →
diagnostics); they are the only places that know which checker runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span
from batchspec.diagnostics.render import CHOICES, render, resolve_format
from batchspec.errors import BatchspecError

FORMULA_SUFFIXES = (".formula",)
DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
# directories never worth descending into
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


def check_formula_file(path: str, text: str, config: object | None) -> list[Diagnostic]:
    """The formula route: front end + lint rules + configuration + inline suppressions (batchspec.lint)."""
    from batchspec.lint import lint_formula

    return lint_formula(text, path, config)  # type: ignore[arg-type]


def is_document(path: str, text: str) -> bool:
    """Whether a YAML/JSON file found while walking a directory is a batchspec document to validate."""
    from batchspec.spec.validate import is_batchspec_document

    return is_batchspec_document(path, text)


def check_document(path: str, text: str, config: object | None) -> list[Diagnostic]:
    """The YAML/JSON route: all diagnostics for one batchspec spec or pool document."""
    from batchspec.spec.validate import validate_document

    return validate_document(path, text, config)


# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Input:
    path: str  # as displayed: relative POSIX, "-" for stdin
    kind: str  # "formula" | "document"
    fs_path: Path | None  # None for stdin


@dataclass
class _Run:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: int = 0
    could_not_check: list[str] = field(default_factory=list)


def _display(p: Path) -> str:
    try:
        rel = os.path.relpath(p)
        if not rel.startswith(".."):
            return Path(rel).as_posix()
    except ValueError:  # another drive on Windows
        pass
    return p.as_posix()


def collect(paths: list[str], run: _Run, stdin_name: str | None = None) -> list[_Input]:
    inputs: list[_Input] = []
    for raw in paths:
        if raw == "-":
            name = stdin_name or "-"
            kind = "document" if name.lower().endswith(DOCUMENT_SUFFIXES) else "formula"
            inputs.append(_Input(name, kind, None))
            continue
        p = Path(raw)
        if p.is_dir():
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(files):
                    child = Path(root) / name
                    if name.endswith(FORMULA_SUFFIXES):
                        found.append(_Input(_display(child), "formula", child))
                    elif name.endswith(DOCUMENT_SUFFIXES):
                        found.append(_Input(_display(child), "document?", child))
            inputs.extend(found)
        elif p.exists():
            kind = "document" if p.suffix.lower() in DOCUMENT_SUFFIXES else "formula"
            inputs.append(_Input(_display(p), kind, p))
        else:
            run.could_not_check.append(f'cannot read "{raw}": no such file or directory')
    return inputs


def decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 text (a BOM is dropped), or an FM008 diagnostic at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = data.count(b"\n", 0, offset) + 1
        line_start = data.rfind(b"\n", 0, offset) + 1
        col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
        bad = data[offset : offset + 1].hex()
        hint = "save the file as UTF-8"
        message = f"file is not valid UTF-8: byte 0x{bad} cannot be decoded"
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Windows "Unicode" (e.g. PowerShell's Out-File default)
            line, col = 1, 1
            message = "file is UTF-16 text; batchspec reads UTF-8"
            hint = "save it as UTF-8 (PowerShell: Out-File -Encoding utf8; Notepad: Save as, Encoding UTF-8)"
        elif b"\x00" in data[:1024]:
            hint = "this looks like a binary file; pass a text file holding the formula"
        return None, [
            make(
                "FM008",
                Span(path, Pos(line, col), Pos(line, col + 1)),
                message,
                hint=hint,
            )
        ]


def _read(item: _Input, run: _Run) -> bytes | None:
    try:
        if item.fs_path is None:
            return sys.stdin.buffer.read()
        return item.fs_path.read_bytes()
    except OSError as exc:
        run.could_not_check.append(f'cannot read "{item.path}": {exc.strerror or exc}')
        return None


def check_paths(paths: list[str], config: object | None = None, *, stdin_name: str | None = None) -> _Run:
    run = _Run()
    for item in collect(paths, run, stdin_name):
        data = _read(item, run)
        if data is None:
            continue
        text, problems = decode(data, item.path)
        if text is None:
            # a discovered YAML/JSON file that is not UTF-8 is still reported when it is a batchspec document
            if item.kind != "document?" or is_document(item.path, data.decode("utf-8", "replace")):
                run.files += 1
                run.diagnostics += problems
            continue
        if item.kind == "document?":
            if not is_document(item.path, text):
                continue
            item.kind = "document"
        run.files += 1
        run.sources[item.path] = text
        cfg = config.for_path(item.path) if config is not None else None  # type: ignore[attr-defined]
        if item.kind == "formula" and config is not None and config.fix and item.fs_path is not None:  # type: ignore[attr-defined]
            text, diagnostics = config.fix_file(item.fs_path, item.path, text, cfg)  # type: ignore[attr-defined]
            run.sources[item.path] = text
            run.diagnostics += diagnostics
        elif item.kind == "formula":
            run.diagnostics += check_formula_file(item.path, text, cfg)
        else:
            run.diagnostics += check_document(item.path, text, cfg)
    return run


def cmd_validate(args: argparse.Namespace) -> int:
    from batchspec.cli.rules import spec_rows
    from batchspec.lint.settings import LintSettings

    fail_on = Severity.WARNING if args.strict else Severity.parse(args.fail_on)
    if args.stdin_filename and "-" not in args.paths:
        raise BatchspecError('--stdin-filename names the text read from "-"; pass "-" as a path too')
    run = check_paths(
        args.paths, LintSettings.from_args(args, extra_codes=spec_rows), stdin_name=args.stdin_filename
    )
    if run.files == 0 and not run.could_not_check:
        print(
            "batchspec: note: no .formula file or batchspec spec found in "
            + ", ".join(f'"{p}"' for p in args.paths),
            file=sys.stderr,
        )
    for message in run.could_not_check:
        print(f"batchspec: error: {message}", file=sys.stderr)
    fmt = resolve_format(args.format)
    color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if fmt == "text":
        _add_included_sources(run)
    rule_summaries = None
    if fmt == "sarif":  # titles of lint and spec rules for code-scanning UIs (imported only for SARIF)
        from batchspec.cli.rules import all_rows

        rule_summaries = {row.code: row.summary for row in all_rows()}
    output = render(
        run.diagnostics,
        fmt,
        files_checked=run.files,
        sources=run.sources,
        color=color,
        unreadable=len(run.could_not_check),
        rule_summaries=rule_summaries,
    )
    sys.stdout.write(output)
    sys.stdout.flush()
    if run.could_not_check:
        return 2
    return 1 if any(d.severity >= fail_on for d in run.diagnostics) else 0


_EXCERPT_SOURCE_LIMIT = 2_000_000  # bytes; larger included files are reported without a source excerpt


def _add_included_sources(run: _Run) -> None:
    """Findings can sit in files a spec includes (start-task.sh, autoscale.formula, *.j2) that were not checked
    directly; read those so the text format can show their source line too."""
    for d in run.diagnostics:
        for path in {d.span.path, *(r.span.path for r in d.related)}:
            if not path or path == "-" or path in run.sources:
                continue
            file = Path(path)
            try:
                if file.is_file() and file.stat().st_size <= _EXCERPT_SOURCE_LIMIT:
                    run.sources[path] = file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue  # the excerpt is a convenience; the diagnostic itself is already complete


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "validate",
        help="check formulas, batchspec specs and pool JSON without contacting Azure",
        description="Check autoscale formulas (syntax, names, types, service limits and the lint rules), batchspec "
        "specs and pool JSON files (the spec schema, the rendered bodies against the REST schemas, the formula inside "
        "with positions in the YAML or JSON, and the pool rules). YAML/JSON files without a batchspec marker are "
        "skipped quietly. Exit 0 clean, 1 findings at or above --fail-on, 2 could not check.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help='a .formula file, a batchspec.yaml spec, a pool JSON file, a directory (recursive), or "-"',
    )
    p.add_argument(
        "--format",
        choices=CHOICES,
        default="auto",
        help="output format (default auto: github under GitHub Actions, azure-devops under Azure Pipelines, "
        "else text)",
    )
    p.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default="error",
        help="lowest severity that makes the exit code 1 (default error)",
    )
    p.add_argument("--strict", action="store_true", help="same as --fail-on warning")
    p.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help='the path to report for text read from "-" (editors); a .yaml/.yml/.json name routes it as a spec',
    )
    p.add_argument("--config", metavar="FILE", help="use this batchspec.toml or pyproject.toml for every file")
    p.add_argument("--select", action="append", metavar="CODES", help="lint rules to run (codes or name prefixes, comma-separated); replaces the config's select")
    p.add_argument("--ignore", action="append", metavar="CODES", help="codes or name prefixes to drop (comma-separated); adds to the config's ignore")
    p.add_argument("--fix", action="store_true", help="rewrite formula files with the rules' mechanical fixes, then report what remains")
    p.set_defaults(func=cmd_validate)
