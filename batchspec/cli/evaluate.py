"""``batchspec evaluate formula FILE [--state STATE]``: what the Batch service would compute for this pool
state.

FILE is a ``.formula`` file, a pool JSON/YAML (management plane, data plane, ``az batch pool show`` output,
ARM template) or a batchspec spec; STATE is the state file of ``batchspec.sim.statefile`` (JSON or YAML).

Output: ``--format text`` prints the results string alone (exactly as the service prints
``autoScaleRun.results``); ``--format json`` prints an AutoScaleRun-shaped object
``{"timestamp", "results", "error": {"code", "message", "values"}}`` (``error`` only when there is one).

Exit codes: 0 evaluated; 1 the evaluation failed (InsufficientSampleData, division by zero, ...: the results
string of what was assigned before the failure is still printed, the error goes to stderr in text format); 2
bad input: unreadable files, a bad state file, or a formula with front-end errors (syntax, names, types,
limits), which are rendered like ``batchspec validate`` renders them. A formula that does not check is bad
input rather than a failed evaluation because the service rejects it at the request (HTTP 400), before
evaluating.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from batchspec.errors import BatchspecError

EVALUATE_EXAMPLES = """\
examples:
  batchspec evaluate formula autoscale.formula --state state.yaml
  batchspec evaluate formula pool.json --state state.yaml --format json   # AutoScaleRun-shaped
  batchspec evaluate formula examples/quickstart --time 2024-01-08T09:00:00Z
"""


def _epilog() -> str:
    from batchspec.sim.statefile import EXAMPLE  # one source for the format: the module that reads it

    state = "".join(f"  {line}\n" for line in EXAMPLE.splitlines())
    return (
        EVALUATE_EXAMPLES
        + "\nstate file (JSON or YAML; every key optional):\n"
        + state
        + "\nThe semantics and the choices made where the service is undocumented: docs/evaluate.md.\n"
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate an autoscale formula against a pool state, exactly as the Batch service would",
        description="Evaluate things locally with the Batch service's semantics.",
    )
    sub = parser.add_subparsers(dest="evaluate_command", metavar="WHAT", parser_class=type(parser))
    formula = sub.add_parser(
        "formula",
        help="evaluate an autoscale formula against a pool state and metric history",
        description="Evaluate an autoscale formula and print the results string the Batch service would "
        "print (autoScaleRun.results). Exit 0 when evaluated, 1 when the evaluation failed (for example "
        "InsufficientSampleData), 2 on bad input (unreadable files, a bad state, a formula that does not check).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    formula.add_argument(
        "file",
        metavar="FILE",
        help=".formula file, pool JSON/YAML, or batchspec spec; - reads a formula from stdin",
    )
    formula.add_argument(
        "--state",
        metavar="STATE",
        help="state file (JSON or YAML; - for stdin): time, pool counts and metric samples; "
        "default: a fresh pool, now",
    )
    formula.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    formula.add_argument(
        "--env",
        default=None,
        help="environment overlay of a spec (e.g. prod): the formula apply --env deploys",
    )
    formula.add_argument(
        "--time",
        metavar="T",
        help='evaluation instant, ISO 8601 or RFC 1123 (overrides the state\'s "time")',
    )
    formula.add_argument(
        "--seed", type=int, metavar="N", help='seed for rand() (overrides the state\'s "seed")'
    )
    formula.add_argument(
        "--lint",
        action="store_true",
        help="also print the linter's warnings about the formula on stderr (the exit code is unchanged)",
    )
    formula.add_argument(
        "--engine",
        choices=("compiled", "interpreter"),
        default="compiled",
        help="execution strategy; both give identical results (default: compiled)",
    )
    formula.set_defaults(func=run)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print(
        "batchspec evaluate: error: say what to evaluate, e.g. `batchspec evaluate formula FILE`",
        file=sys.stderr,
    )
    return 2


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


class _FormulaSource:
    """The formula text and how its positions map into the file the user gave (exact for embedded strings)."""

    def __init__(self, text: str, path: str, origin: Any) -> None:
        self.text = text
        self.path = path
        self.origin = origin  # batchspec.spec.loader.StringMap or None
        self._starts = _line_starts(text)

    def file_pos(self, line: int, col: int) -> tuple[int, int]:
        if self.origin is None:
            return line, col
        index = line - 1
        offset = (self._starts[index] if index < len(self._starts) else len(self.text)) + col - 1
        pos = self.origin.at(offset)
        return pos.line, pos.col

    def map_diagnostic(self, diagnostic: Any) -> Any:
        from batchspec.diagnostics.model import Pos, Span

        span = diagnostic.span
        start = Pos(*self.file_pos(span.start.line, span.start.col))
        end = Pos(*self.file_pos(span.end.line, span.end.col))
        return dataclasses.replace(diagnostic, span=Span(self.path, start, end))


def load_pool_formula_env(file: str, env: str | None) -> Any:
    """``load_pool_formula`` with a spec's environment overlay (``--env prod``), which may change the formula, its
    interval and the pool's slots: simulate and evaluate then see the pool that ``apply --env`` deploys."""
    from batchspec.spec.extract import is_spec_data, load_pool_formula, load_text, read_text

    path = Path(file)
    if env is None:
        return load_pool_formula(path)
    from batchspec.spec.project import find_spec, pool_formula_from_spec

    spec = find_spec(path)
    if path.is_dir() or (
        spec.suffix.lower() in (".yaml", ".yml") and is_spec_data(load_text(str(spec), read_text(spec)).data)
    ):
        return pool_formula_from_spec(spec, env=env)
    raise BatchspecError(f"{file}: --env applies to a batchspec spec (environments:), and this is not one")


def _load_formula(file: str, env: str | None = None) -> tuple[_FormulaSource, int | None]:
    from batchspec.spec.extract import PoolFormula

    if file == "-" and env is not None:
        raise BatchspecError("--env applies to a batchspec spec, not to a formula on stdin")
    # "-": a formula on stdin
    pool = PoolFormula(text=_read_stdin(), path="-") if file == "-" else load_pool_formula_env(file, env)
    if pool.text is None:
        fixed = ""
        if pool.target_dedicated is not None or pool.target_low_priority is not None:
            dedicated, low_priority = pool.target_dedicated or 0, pool.target_low_priority or 0
            fixed = f" (fixed scale: {dedicated} dedicated, {low_priority} low-priority)"
        raise BatchspecError(f"{file}: the pool has no autoscale formula{fixed}")
    text = pool.text
    if pool.origin is None and text.startswith("\ufeff"):
        # a byte-order mark from a Windows editor is not part of the formula (editors show no column for it)
        text = text[1:]
    return _FormulaSource(text, pool.path, pool.origin), pool.task_slots_per_node


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(10 * 1024 * 1024 + 1)
    if len(data) > 10 * 1024 * 1024:
        raise BatchspecError(
            "-: stdin has more than 10 MiB; batchspec reads formulas and states of at most that"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BatchspecError(f"-: stdin is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _render_diagnostics(diagnostics: list[Any], source: _FormulaSource, file_text: str | None) -> str:
    try:
        from batchspec.diagnostics.render import render  # FRONTEND's renderers
    except ImportError:  # pragma: no cover - only before the renderers exist
        render = None
    if render is not None:
        try:
            return str(
                render(diagnostics, "text", files_checked=1, sources={source.path: file_text or source.text})
            )
        except Exception:
            pass
    lines = []
    for d in diagnostics:
        s = d.span
        lines.append(f"{s.path}:{s.start.line}:{s.start.col}: {d.severity.label}[{d.code}] {d.message}")
    return "\n".join(lines) + "\n"


def _print_lint_warnings(source: _FormulaSource, file_text: str) -> None:
    """The linter's warnings (configuration found from the formula's folder), rendered on stderr."""
    from batchspec.lint import lint_formula, load_config

    config = load_config(Path(source.path).resolve().parent) if source.path != "-" else None
    found = [d for d in lint_formula(source.text, source.path, config) if d.severity.name == "WARNING"]
    if found:
        sys.stderr.write(_render_diagnostics([source.map_diagnostic(d) for d in found], source, file_text))


def _caret(file_text: str, line: int, col: int) -> str:
    lines = file_text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    source = lines[line - 1].rstrip("\r")
    gutter = " " * len(str(line))
    pad = "".join("\t" if ch == "\t" else " " for ch in source[: col - 1])
    return f"{gutter} |\n{line} | {source}\n{gutter} | {pad}^\n"


def _warn_about_future_samples(data: Any, state: Any, source: str, locate: Any) -> None:
    """Samples later than the evaluation time are ignored (as the service would not have them yet); say so, since
    it is usually a mistake in the state ("end" after "time", or a --time before the samples) that otherwise shows
    only as an InsufficientSampleData error."""
    from batchspec.sim.values import Timestamp, format_timestamp

    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        return
    when = format_timestamp(Timestamp.from_datetime(state.time))
    for key in metrics:
        series = state.metrics.get("$" + str(key).lstrip("$"))
        if series is None or not series.values or series.end <= state.time:
            continue
        late = sum(
            1
            for i in range(len(series.values))
            if series.end - (len(series.values) - 1 - i) * series.period > state.time
        )
        line, col = locate(("metrics", key), True) or (1, 1)
        sys.stderr.write(
            f"{source}:{line}:{col}: warning: {late} of the {len(series.values)} samples of ${str(key).lstrip('$')} "
            f"are later than the evaluation time {when} and are ignored (the newest is at "
            f"{format_timestamp(Timestamp.from_datetime(series.end))})\n"
        )


def run(args: argparse.Namespace) -> int:
    from batchspec.formula import check_formula
    from batchspec.sim import FormulaCheckError
    from batchspec.sim.compiled import compile_formula
    from batchspec.sim.evaluator import interpret
    from batchspec.sim.statefile import load_state
    from batchspec.sim.timeparse import parse_time
    from batchspec.sim.values import Timestamp, format_timestamp_7
    from batchspec.spec.extract import read_text

    source, task_slots = _load_formula(args.file, args.env)
    file_text = read_text(Path(source.path)) if source.origin is not None else source.text

    time_override = None
    if args.time is not None:
        ticks = parse_time(args.time)
        if ticks is None:
            raise BatchspecError(
                f'--time "{args.time}" is not a time; '
                "expected ISO 8601 (2016-10-13T19:18:47.805Z) or RFC 1123"
            )
        time_override = Timestamp(ticks - ticks % 10).to_datetime()
    if args.state is not None:
        from batchspec.spec.loader import load_text

        if args.state == "-":
            if args.file == "-":
                raise BatchspecError("the formula and the state cannot both come from stdin")
            state_text = _read_stdin()
            document = load_text(
                "-", state_text, kind="json" if state_text.lstrip().startswith("{") else "yaml"
            )
        else:
            state_text = read_text(Path(args.state))
            document = load_text(args.state, state_text)

        def locate(path: tuple[Any, ...], key: bool) -> tuple[int, int] | None:
            span = document.span(path, key=key)
            return span.start.line, span.start.col

        state = load_state(
            document.data,
            source=args.state,
            locate=locate,
            time_override=time_override,
            default_task_slots=task_slots,
        )
        _warn_about_future_samples(document.data, state, args.state, locate)
    else:
        state = load_state(
            None, source="(no state)", time_override=time_override, default_task_slots=task_slots
        )
    if args.seed is not None:
        state.seed = args.seed

    formula, diagnostics = check_formula(source.text, source.path)
    errors = [d for d in diagnostics if d.severity.name == "ERROR"]
    if formula is None or errors:
        mapped = [source.map_diagnostic(d) for d in diagnostics]
        sys.stderr.write(_render_diagnostics(mapped, source, file_text))
        return FormulaCheckError(mapped).exit_code

    if args.lint:
        _print_lint_warnings(source, file_text)

    if args.engine == "interpreter":
        result = interpret(formula, state)
    else:
        result = compile_formula(formula).evaluate(state)

    error = result.error
    if args.format == "json":
        document_out: dict[str, Any] = {
            "timestamp": format_timestamp_7(Timestamp.from_datetime(state.time)),
            "results": result.results,
        }
        if error is not None:
            document_out["error"] = {
                "code": error.code,
                "message": error.message,
                "values": [{"name": v.name, "value": v.value} for v in error.values],
            }
        print(json.dumps(document_out, indent=2, ensure_ascii=False))
    else:
        print(result.results)
        if error is not None:
            detail = error.values[0].value.split(": ", 1)[-1] if error.values else error.message
            line, col = source.file_pos(error.line or 1, error.col or 1)
            sys.stderr.write(f"{source.path}:{line}:{col}: error[{error.code}] {detail}\n")
            sys.stderr.write(_caret(file_text, line, col))
            sys.stderr.write(f"  = {error.message}; the pool would keep its current targets\n")
    return 1 if error is not None else 0
