"""``batchspec simulate formula FILE``: run an autoscale formula against a workload scenario over time.

FILE is a ``.formula`` file, a pool JSON (either plane, ``az batch pool show`` output, an ARM template) or a
batchspec spec. The pool's evaluation interval, task slots and fill type are used unless the scenario overrides
them. Exit codes: 0 done (every ``--expect`` holds), 1 an ``--expect`` check failed, 2 bad input (unreadable file,
invalid formula or scenario, bad option).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchspec.diagnostics.model import Diagnostic, Pos, Severity, Span, sort_and_dedupe
from batchspec.errors import BatchspecError

MAX_RUNS = 10_000
EXPECT_STATS = ("p5", "p50", "p95", "min", "max", "mean")


FORMULA_DESCRIPTION = """\
Run an autoscale formula against a workload over time: a simulated Batch pool with the service's timing
(30-s samples that arrive late, evaluations every interval, node allocation and start-task delays, spot
preemption) and a summary of waits, node-hours and cost.

FILE is a .formula file, a pool JSON (either plane, `az batch pool show` output, an ARM template) or a batchspec
spec; the pool's evaluation interval, task slots and fill type are used unless the scenario overrides them.
Exit codes: 0 done (every --expect holds), 1 an --expect check failed, 2 bad input (unreadable file, invalid
formula or scenario, bad option)."""

FORMULA_EPILOG = """\
examples:
  batchspec simulate formula pool.json                                 # the burst scenario, table and chart
  batchspec simulate formula pool.json -s diurnal --plot diurnal.png   # a picture of two days
  batchspec simulate formula new.formula --compare old.formula         # same workload and seed, side by side
  batchspec simulate formula pool.json -s my-scenario.yaml --runs 50 --expect 'wait_p95_s.p95<=600'
  batchspec simulate scenarios burst > my-scenario.yaml                # a scenario file to start from

--expect figures: tasks_submitted, tasks_completed, tasks_failed, makespan_s, wait_p50_s, wait_p95_s,
wait_max_s, peak_dedicated_nodes, peak_low_priority_nodes, dedicated_node_hours, low_priority_node_hours,
idle_node_hours, evaluation_errors, cost, ... (every number of the JSON summary); operators < <= > >= == !=;
the value is a number, or a duration such as 10m for the *_s figures.
Scenario files and every summary figure: docs/simulate.md."""


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser(
        "simulate",
        help="simulate an autoscale formula over time against a workload",
        description="Simulate an Azure Batch pool driven by its autoscale formula.",
    )
    sub = sim.add_subparsers(dest="simulate_what", metavar="WHAT", parser_class=type(sim))
    p = sub.add_parser(
        "formula",
        help="simulate a formula (a .formula file, a pool JSON or a spec) against a scenario",
        description=FORMULA_DESCRIPTION,
        epilog=FORMULA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="a .formula file, a pool JSON or a batchspec spec; - reads a formula from stdin",
    )
    p.add_argument(
        "--scenario",
        "-s",
        default="burst",
        metavar="NAME|FILE",
        help="a scenario YAML file or a built-in: burst (default), steady, diurnal, new-pool",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="OTHER",
        help="also simulate these formulas on the same workload and seed, side by side",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="repeat with N seeds (seed, seed+1, ...) in parallel and report percentiles",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        metavar="J",
        help="worker processes for --runs (default: the number of CPUs)",
    )
    p.add_argument(
        "--env",
        default=None,
        help="environment overlay of a spec FILE (e.g. prod): the pool apply --env deploys",
    )
    p.add_argument(
        "--compare-env",
        default=None,
        metavar="ENV",
        help="environment overlay for the --compare specs (default: none), e.g. the same spec's dev and prod",
    )
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument(
        "--duration", default=None, metavar="DURATION", help="override the scenario's duration (8h, P2D)"
    )
    p.add_argument(
        "--format",
        "-f",
        choices=("table", "json", "csv"),
        default="table",
        help="stdout format: table (summary and chart; default), json, csv (the timeline)",
    )
    p.add_argument("--plot", metavar="OUT.png", default=None, help="write a PNG chart (needs matplotlib)")
    p.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="CHECK",
        help="a check such as 'wait_p95_s<=600' or 'cost<=25'; fails with exit 1 (repeatable). "
        "With --runs, 'wait_p95_s.p95<=600' picks the statistic (default p50)",
    )
    p.add_argument("--width", type=int, default=0, help="chart width in columns (default: the terminal's)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=run)
    sc = sub.add_parser(
        "scenarios",
        help="list the built-in scenarios, or print one as YAML to start your own",
        description="Without NAME: list the built-in scenarios. With NAME: print its YAML (a starting point for a "
        "scenario file of your own).",
    )
    sc.add_argument("name", metavar="NAME", nargs="?", default=None, help="a built-in scenario to print")
    sc.set_defaults(func=run_scenarios)
    sim.set_defaults(func=lambda args: _usage(sim))


def run_scenarios(args: argparse.Namespace) -> int:
    from batchspec.sim.scenario import BUILTIN_SCENARIOS, builtin_scenario_text, format_duration, load_builtin

    if args.name is None:
        width = max(len(n) for n in BUILTIN_SCENARIOS)
        for name in BUILTIN_SCENARIOS:
            sc = load_builtin(name)
            print(f"{name.ljust(width)}  {format_duration(sc.duration_s):>4}  {sc.description}")
        return 0
    if args.name not in BUILTIN_SCENARIOS:
        raise BatchspecError(f'no built-in scenario "{args.name}"; built-ins: {", ".join(BUILTIN_SCENARIOS)}')
    sys.stdout.write(builtin_scenario_text(args.name))
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print(
        "batchspec simulate: error: say what to simulate, e.g. batchspec simulate formula pool.json",
        file=sys.stderr,
    )
    return 2


# ------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Subject:
    """One formula to simulate and the pool facts that came with it."""

    name: str
    path: str
    text: str | None  # None for a fixed-scale pool
    interval_s: float | None
    task_slots: int | None
    scheduling: str | None
    fixed: tuple[int, int] = (0, 0)
    anchor: Pos = Pos(1, 1)  # where --expect failures point: the formula's first character in FILE
    formula_path: str = ""  # the file that holds the formula (a spec's formulaFile, or FILE itself)

    @property
    def source_path(self) -> str:
        return self.formula_path or self.path


def load_subject(path_text: str, env: str | None = None) -> Subject:
    from batchspec.cli.evaluate import _read_stdin, load_pool_formula_env
    from batchspec.spec.extract import PoolFormula

    if path_text == "-":  # a formula on stdin, as evaluate and validate read it
        if env is not None:
            raise BatchspecError("--env applies to a batchspec spec, not to a formula on stdin")
        pf = PoolFormula(text=_read_stdin().removeprefix("\ufeff"), path="-")
    else:
        pf = load_pool_formula_env(path_text, env)
    sched = pf.task_scheduling.lower() if pf.task_scheduling else None
    if sched not in (None, "pack", "spread"):
        raise BatchspecError(
            f'{pf.path}: unknown task scheduling "{pf.task_scheduling}"; expected pack or spread'
        )
    name = Path(path_text).name or Path(path_text).resolve().name  # "." is the folder's name
    if pf.pool_id and Path(path_text).suffix.lower() in (".yaml", ".yml", ""):
        name = f"{pf.pool_id} ({name})"  # a spec: the pool's id says more than "batchspec.yaml"
    subject = Subject(
        name=name,
        path=path_text,
        text=pf.text,
        interval_s=pf.evaluation_interval.total_seconds() if pf.evaluation_interval else None,
        task_slots=pf.task_slots_per_node,
        scheduling=sched,
        fixed=(pf.target_dedicated or 0, pf.target_low_priority or 0),
        anchor=pf.origin.at(0) if pf.origin is not None else Pos(1, 1),
        formula_path=str(pf.path),
    )
    if subject.text is not None:
        _compile(subject, pf)  # report formula errors now, with positions in the user's file
    return subject


def _compile(subject: Subject, pf: Any = None) -> Any:
    from batchspec.sim import compile_text

    assert subject.text is not None
    try:
        return compile_text(subject.text, subject.source_path)
    except BatchspecError as exc:  # FormulaCheckError carries the front end's diagnostics
        diags = list(getattr(exc, "diagnostics", None) or ())
        if not diags:
            raise
        if pf is not None and getattr(pf, "origin", None) is not None:
            diags = [_map_origin(d, subject.text, pf) for d in diags]
        sources = {subject.source_path: subject.text}
        if pf is not None and getattr(pf, "origin", None) is not None:
            try:
                sources = {pf.path: Path(pf.path).read_text(encoding="utf-8")}
            except (OSError, UnicodeDecodeError):
                sources = {}
        print(render_diagnostics(diags, files=1, sources=sources), file=sys.stderr, end="")
        raise BatchspecError(f"{subject.path}: the formula has errors; fix them before simulating") from None


def _map_origin(d: Diagnostic, text: str, pf: Any) -> Diagnostic:
    """Positions inside a formula embedded in a JSON/YAML string -> positions in that file."""
    from dataclasses import replace

    from batchspec.spec.loader import LineIndex

    index = LineIndex(text)
    start = pf.origin.at(index.offset(d.span.start))
    end = pf.origin.at(index.offset(d.span.end))
    return replace(d, span=Span(pf.path, start, end))


def controller_for(subject: Subject) -> Any:
    from batchspec.sim.simulator import FixedPool

    if subject.text is None:
        return FixedPool(*subject.fixed)
    return _compile(subject)


def resolve_scenario(arg: str, duration: str | None, seed: int | None) -> Any:
    from dataclasses import replace

    from batchspec.sim.scenario import BUILTIN_SCENARIOS, load_builtin, parse_duration, parse_scenario

    path = Path(arg)
    if arg in BUILTIN_SCENARIOS and not path.is_file():
        scenario = load_builtin(arg)
    else:
        if not path.exists():
            import difflib

            close = difflib.get_close_matches(arg, list(BUILTIN_SCENARIOS), n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            raise BatchspecError(
                f'scenario "{arg}" is neither a file nor a built-in scenario{hint} '
                f"(built-ins: {', '.join(BUILTIN_SCENARIOS)})"
            )
        from batchspec.spec.extract import read_text

        text = read_text(path)
        base = path.parent

        def read_file(rel: str) -> tuple[str, str]:
            target = (base / rel) if not Path(rel).is_absolute() else Path(rel)
            size = target.stat().st_size
            if size > 512 * 1024 * 1024:
                raise ValueError("file is larger than 512 MiB")
            return target.as_posix(), target.read_text(encoding="utf-8")

        scenario, diags = parse_scenario(text, path.as_posix(), read_file, name=path.name)
        if scenario is None:
            sources = {path.as_posix(): text}
            for d in diags:  # replay CSV rows
                if d.span.path not in sources:
                    try:
                        sources[d.span.path] = Path(d.span.path).read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        pass
            print(render_diagnostics(diags, files=1, sources=sources), file=sys.stderr, end="")
            raise BatchspecError(
                f"{path.as_posix()}: invalid scenario ({len(diags)} problem{'s' if len(diags) != 1 else ''})"
            )
    if duration is not None:
        d = parse_duration(duration)
        if d is None or d <= 0:
            raise BatchspecError(f'--duration "{duration}" is not a duration such as 8h, 2d or PT90M')
        scenario = replace(scenario, duration_s=d)
    if seed is not None:
        if seed < 0:
            raise BatchspecError("--seed must be zero or positive")
        scenario = replace(scenario, seed=seed)
    return scenario


def render_diagnostics(diags: list[Diagnostic], *, files: int, sources: dict[str, str] | None = None) -> str:
    from batchspec.diagnostics.render import render

    return str(render(sort_and_dedupe(diags), "text", files_checked=files, sources=sources))


# ------------------------------------------------------------------------------------------------ expectations


@dataclass(frozen=True)
class Expectation:
    text: str
    key: str
    stat: str | None
    op: str
    value: float

    def holds(self, actual: float) -> bool:
        return {
            "<=": actual <= self.value,
            "<": actual < self.value,
            ">=": actual >= self.value,
            ">": actual > self.value,
            "==": actual == self.value,
            "!=": actual != self.value,
        }[self.op]


_EXPECT = re.compile(r"^\s*([a-z_0-9]+)(?:\.([a-z0-9]+))?\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")


def parse_expectation(text: str) -> Expectation:
    from batchspec.sim.report import NUMERIC_KEYS
    from batchspec.sim.scenario import parse_duration

    m = _EXPECT.match(text)
    if not m:
        raise BatchspecError(f'--expect "{text}" is not a check; write KEY OP NUMBER, e.g. "wait_p95_s<=600"')
    key, stat, op, raw = m.groups()
    if key not in NUMERIC_KEYS:
        import difflib

        close = difflib.get_close_matches(key, NUMERIC_KEYS, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else "; known figures: " + ", ".join(NUMERIC_KEYS)
        raise BatchspecError(f'--expect "{text}": unknown figure "{key}"{hint}')
    if stat is not None and stat not in EXPECT_STATS:
        raise BatchspecError(
            f'--expect "{text}": unknown statistic "{stat}"; expected one of {", ".join(EXPECT_STATS)}'
        )
    try:
        value = float(raw)
    except ValueError:
        dur = parse_duration(raw) if key.endswith("_s") else None
        if dur is None:
            raise BatchspecError(f'--expect "{text}": "{raw}" is not a number') from None
        value = dur
    if not math.isfinite(value):
        raise BatchspecError(f'--expect "{text}": "{raw}" is not a finite number')
    return Expectation(text.strip(), key, stat, op, value)


def check_expectations(
    exps: list[Expectation],
    anchor: Pos,
    subject_name: str,
    path: str,
    summary: dict[str, Any],
    percentiles: dict[str, dict[str, Any]] | None = None,
) -> list[Diagnostic]:
    from batchspec.sim.scenario import format_duration

    out = []
    for e in exps:
        if percentiles is not None:
            stat = e.stat or "p50"
            actual = percentiles[e.key][stat]
            label = f"{e.key}.{stat}"
        else:
            actual = summary.get(e.key)
            label = e.key
        if actual is None:
            why = (
                "tasks were still queued or running at the end"
                if e.key == "makespan_s"
                else "no value in this run"
            )
            msg = (
                f'expected {label} {e.op} {e.value:g} for "{subject_name}", but {label} has no value ({why})'
            )
        elif not e.holds(float(actual)):
            shown = f"{actual:g}" + (f" ({format_duration(float(actual))})" if e.key.endswith("_s") else "")
            msg = f'expected {label} {e.op} {e.value:g} for "{subject_name}", got {shown}'
        else:
            continue
        out.append(
            Diagnostic(
                code="SM001",
                name="expectation-failed",
                severity=Severity.ERROR,
                message=msg,
                span=Span(path, anchor, anchor),
                hint=f'from --expect "{e.text}"',
            )
        )
    return out


# ------------------------------------------------------------------------------------------------ progress


class Progress:
    """A one-line indicator on stderr (only for runs that take a while, only on a terminal unless forced)."""

    def __init__(self, label: str, enabled: bool | None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.forced = bool(enabled)
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        if not self.shown and not self.forced and time.monotonic() - self.t0 < 0.5:
            return
        self.shown = True
        end = "\r" if sys.stderr.isatty() else "\n"
        sys.stderr.write(f"{self.label} {100 * min(1.0, fraction):3.0f}%{end}")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown and sys.stderr.isatty():
            sys.stderr.write(" " * (len(self.label) + 6) + "\r")
            sys.stderr.flush()


# ------------------------------------------------------------------------------------------------ runs


_WORKER: dict[str, Any] = {}


def _worker_init(subject: Subject, scenario: Any, settings_kw: dict[str, Any]) -> None:
    _WORKER["subject"] = subject
    _WORKER["scenario"] = scenario
    _WORKER["settings_kw"] = settings_kw
    _WORKER["controller"] = controller_for(subject)


def _worker_run(seed: int) -> dict[str, Any]:
    from dataclasses import replace

    from batchspec.sim.simulator import Settings, metrics_read_by, simulate

    subject: Subject = _WORKER["subject"]
    scenario = _WORKER["scenario"].with_seed(seed)
    settings = replace(Settings.resolve(scenario, **_WORKER["settings_kw"]), seed=seed)
    metrics = metrics_read_by(subject.text) if subject.text else frozenset()
    return simulate(
        scenario, _WORKER["controller"], settings=settings, metrics=metrics, name=subject.name
    ).summary


def _settings_kw(subject: Subject) -> dict[str, Any]:
    return {
        "pool_interval_s": subject.interval_s,
        "pool_task_slots": subject.task_slots,
        "pool_scheduling": subject.scheduling,
    }


def run_many(
    subject: Subject, scenario: Any, runs: int, jobs: int, progress: Progress
) -> list[dict[str, Any]]:
    """Summaries of ``runs`` seeds (scenario seed + i), in worker processes when that pays."""
    seeds = [scenario.seed + i for i in range(runs)]
    kw = _settings_kw(subject)
    jobs = max(1, min(jobs or (os.cpu_count() or 1), runs))
    if jobs == 1:
        _worker_init(subject, scenario, kw)
        out = []
        for i, s in enumerate(seeds):
            out.append(_worker_run(s))
            progress((i + 1) / runs)
        return out
    # fork is fast and safe while this process has one thread; otherwise use spawn
    method = (
        "fork"
        if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        else "spawn"
    )
    ctx = multiprocessing.get_context(method)
    out_by_seed: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(subject, scenario, kw)
    ) as pool:
        chunk = max(1, runs // (jobs * 8))
        for i, (seed, summary) in enumerate(
            zip(seeds, pool.map(_worker_run, seeds, chunksize=chunk), strict=False)
        ):
            out_by_seed[seed] = summary
            progress((i + 1) / runs)
    return [out_by_seed[s] for s in seeds]


# ------------------------------------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> int:
    from batchspec.sim import report
    from batchspec.sim.simulator import Settings, metrics_read_by, simulate

    if args.runs < 1 or args.runs > MAX_RUNS:
        raise BatchspecError(f"--runs must be between 1 and {MAX_RUNS}")
    if args.width and not 20 <= args.width <= 1000:
        raise BatchspecError(
            f"--width must be between 20 and 1000 columns (leave it out for the terminal's), got {args.width}"
        )
    if args.runs > 1 and args.format == "csv":
        raise BatchspecError("--format csv writes a timeline, which --runs does not keep; use table or json")
    if args.runs > 1 and args.plot:
        raise BatchspecError("--plot draws one run; leave out --runs to plot")
    if args.jobs < 0:
        raise BatchspecError("--jobs must be zero (all CPUs) or positive")
    expectations = [parse_expectation(e) for e in args.expect]
    if args.plot:
        from batchspec.sim.plot import check_available

        check_available()
    scenario = resolve_scenario(args.scenario, args.duration, args.seed)
    if [args.file, *args.compare].count("-") > 1:
        raise BatchspecError("stdin (-) holds one formula; give it once")
    subjects = [load_subject(args.file, args.env)] + [load_subject(p, args.compare_env) for p in args.compare]
    _dedupe_names(subjects)
    label = scenario.name + (f" ({scenario.description})" if scenario.description else "")
    out = sys.stdout
    diags: list[Diagnostic] = []

    if args.runs > 1:
        seeds = (scenario.seed, scenario.seed + args.runs - 1)
        blocks = []
        for subject in subjects:
            progress = Progress(
                f"simulating {args.runs} runs of {subject.name} on {scenario.name}…", args.progress
            )
            summaries = run_many(subject, scenario, args.runs, args.jobs, progress)
            progress.done()
            pct = report.run_percentiles(summaries)
            blocks.append(
                {
                    "name": subject.name,
                    "scenario": scenario.name,
                    "runs": args.runs,
                    "seeds": list(seeds),
                    "percentiles": pct,
                    "summaries": summaries,
                }
            )
            diags += check_expectations(
                expectations, subject.anchor, subject.name, subject.source_path, {}, pct
            )
        if args.format == "json":
            import json

            payload: Any = {"version": report.JSON_VERSION}
            payload.update(blocks[0] if len(blocks) == 1 else {"results": blocks})
            out.write(json.dumps(payload, indent=2) + "\n")
        elif len(blocks) == 1:
            out.write(
                report.runs_table(
                    f"{blocks[0]['name']} · {label}", blocks[0]["percentiles"], args.runs, seeds
                )
            )
        else:
            out.write(
                report.runs_compare_table(
                    [b["name"] for b in blocks],
                    [b["percentiles"] for b in blocks],
                    f"{label}; {args.runs} runs, seeds {seeds[0]}..{seeds[1]}",
                )
            )
    else:
        from batchspec.sim.workloads import generate

        workload = generate(scenario)
        results = []
        for subject in subjects:
            progress = Progress(f"simulating {subject.name} on {scenario.name}…", args.progress)
            settings = Settings.resolve(scenario, **_settings_kw(subject))
            metrics = metrics_read_by(subject.text) if subject.text else frozenset()
            try:
                res = simulate(
                    scenario,
                    controller_for(subject),
                    settings=settings,
                    workload=workload,
                    name=subject.name,
                    metrics=metrics,
                    progress=progress,
                )
            except ValueError as exc:  # e.g. tasks need more slots than a node has
                raise BatchspecError(f"{subject.path}: cannot simulate {scenario.name}: {exc}") from None
            progress.done()
            results.append(res)
            diags += check_expectations(
                expectations, subject.anchor, subject.name, subject.source_path, res.summary
            )
        if args.format == "json":
            out.write(report.to_json(results))
        elif args.format == "csv":
            out.write(report.to_csv(results))
        else:
            width = args.width or max(40, min(120, shutil.get_terminal_size((100, 24)).columns - 8))
            color = out.isatty() and not os.environ.get("NO_COLOR")
            out.write(report.table(results, label, width=width, color=color))
        if args.plot:
            from batchspec.sim.plot import write_png

            write_png(results, Path(args.plot), title=label)
            print(f"wrote {args.plot}", file=sys.stderr)
    if diags:
        print(render_diagnostics(diags, files=len(subjects)), file=sys.stderr, end="")
        return 1
    return 0


def _dedupe_names(subjects: list[Subject]) -> None:
    from dataclasses import replace

    names = [s.name for s in subjects]
    for i, s in enumerate(subjects):
        if names.count(s.name) > 1:
            subjects[i] = replace(s, name=s.path)
