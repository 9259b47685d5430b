"""``batchspec generate formula --scenario S [options]``: write a guarded, capped, commented autoscale formula.

The formula goes to stdout (or ``--output FILE``). It is linted before it is written: a generated formula with a
finding above info would be a batchspec bug (exit 3), never something the user has to fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from batchspec.errors import BatchspecError
from batchspec.formula.generate import (
    DEALLOCATION,
    NODE_TYPES,
    SCENARIOS,
    GenerateError,
    Params,
    generate_formula,
)


def cmd_generate_formula(args: argparse.Namespace) -> int:
    from batchspec.diagnostics.model import Severity
    from batchspec.lint import lint_formula

    params = Params(
        max_nodes=args.max_nodes,
        min_nodes=args.min_nodes,
        node_type=args.nodes,
        slots_per_node=args.slots_per_node,
        lookback_minutes=args.lookback_minutes,
        sample_percent=args.sample_percent,
        deallocation=args.deallocation,
        peak_nodes=args.peak_nodes,
        offpeak_nodes=args.off_peak_nodes,
        days=args.days,
        hours=args.hours,
        utc_offset=args.utc_offset,
        min_dedicated=args.min_dedicated,
        max_dedicated=args.max_dedicated,
        max_spot=args.max_spot,
    )
    try:
        text = generate_formula(args.scenario, params)
    except GenerateError as exc:
        raise BatchspecError(str(exc)) from None
    problems = [d for d in lint_formula(text, "generated.formula") if d.severity > Severity.INFO]
    if problems:  # pragma: no cover - guarded by the parameter-grid test
        details = "; ".join(f"{d.code} {d.message}" for d in problems)
        raise RuntimeError(f"the generated formula does not pass batchspec's own rules: {details}")
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BatchspecError(f'cannot write "{args.output}": {exc.strerror or exc}') from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "generate",
        help="generate an autoscale formula for a common scenario",
        description="Generate files batchspec can check; today: autoscale formulas.",
    )
    sub = p.add_subparsers(dest="what", metavar="WHAT", required=True, parser_class=type(p))
    f = sub.add_parser(
        "formula",
        help="a guarded, capped, commented autoscale formula",
        description="Write an autoscale formula for a scenario: pending-tasks, active-tasks (nodes for the queued "
        "tasks), schedule (peak days and hours), drain-to-zero (zero once idle), dedicated-spot (a dedicated "
        "base, the rest on Spot). Every generated formula passes batchspec's rules.",
    )
    f.add_argument("--scenario", required=True, choices=SCENARIOS)
    f.add_argument("--max-nodes", type=int, default=10, help="cap on the scaled target (default 10)")
    f.add_argument("--min-nodes", type=int, default=0, help="floor of the scaled target (default 0)")
    f.add_argument(
        "--nodes", choices=NODE_TYPES, default="dedicated", help="which target to scale (default dedicated)"
    )
    f.add_argument(
        "--slots-per-node",
        type=int,
        default=None,
        help="tasks that run at once on one node (default: the pool's $TaskSlotsPerNode)",
    )
    f.add_argument("--lookback-minutes", type=float, default=10.0, help="sample window (default 10)")
    f.add_argument(
        "--sample-percent",
        type=float,
        default=70.0,
        help="samples required before trusting the window (default 70)",
    )
    f.add_argument(
        "--deallocation",
        choices=DEALLOCATION,
        default="taskcompletion",
        help="$NodeDeallocationOption (default taskcompletion)",
    )
    f.add_argument(
        "--peak-nodes", type=int, default=10, help="schedule: nodes during peak hours (default 10)"
    )
    f.add_argument("--off-peak-nodes", type=int, default=0, help="schedule: nodes otherwise (default 0)")
    f.add_argument("--days", default="1-5", help='schedule: ISO weekdays, 1 = Monday (default "1-5")')
    f.add_argument("--hours", default="8-18", help='schedule: START-END, 24-hour clock (default "8-18")')
    f.add_argument(
        "--utc-offset", type=float, default=0.0, help="schedule: hours from UTC of the local clock (e.g. -6)"
    )
    f.add_argument("--min-dedicated", type=int, default=0, help="dedicated-spot: dedicated floor (default 0)")
    f.add_argument("--max-dedicated", type=int, default=2, help="dedicated-spot: dedicated cap (default 2)")
    f.add_argument("--max-spot", type=int, default=20, help="dedicated-spot: Spot cap (default 20)")
    f.add_argument("-o", "--output", metavar="FILE", help="write the formula to FILE instead of stdout")
    f.set_defaults(func=cmd_generate_formula)
