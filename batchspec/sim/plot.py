"""PNG charts of simulations with matplotlib (optional dependency, imported lazily, Agg backend, no display).

One run: tasks queued and running on top; below, target and current nodes by priority (preempted dotted) with
failed evaluations marked. Several runs (``--compare``): one colour per formula, overlaid on the same axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batchspec.errors import BatchspecError
from batchspec.sim.scenario import format_duration
from batchspec.sim.simulator import SimResult

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_DED = "#1f4e99"
_LP = "#b35900"
_DED_LIGHT = "#6fa8ff"
_LP_LIGHT = "#ffb55c"


def check_available() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BatchspecError(
            "--plot needs matplotlib; install it with: pip install 'batchspec[plot]'"
        ) from None


def _pyplot() -> Any:
    check_available()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def time_tick_step(span: float, unit: str) -> float:
    """The step between time ticks: the smallest clock-friendly one giving at most 8 intervals over ``span``."""
    steps = (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48) if unit == "hours" else (1, 2, 7, 14, 28, 56)
    return next((step for step in steps if span / step <= 8), steps[-1])


def write_png(results: Sequence[SimResult], path: Path, *, title: str = "") -> None:
    plt = _pyplot()
    duration = max(r.settings.duration_s for r in results)
    scale, unit = (86400.0, "days") if duration > 3 * 86400 else (3600.0, "hours")
    fig, (ax_t, ax_n) = plt.subplots(
        2, 1, figsize=(13, 7.5), sharex=True, gridspec_kw={"height_ratios": [1, 1]}
    )
    single = len(results) == 1
    for i, res in enumerate(results):
        tl = res.timeline
        x = [t / scale for t in tl.t_s]
        colour = _COLOURS[i % len(_COLOURS)]
        prefix = "" if single else f"{res.name}: "
        if single:
            ax_t.fill_between(x, tl.active, step="post", color="#4c72b0", alpha=0.30, linewidth=0)
            ax_t.step(x, tl.active, where="post", color="#4c72b0", linewidth=1.4, label="queued (active)")
            ax_t.step(x, tl.running, where="post", color="#dd8452", linewidth=1.4, label="running")
            ax_n.step(
                x,
                tl.target_dedicated,
                where="post",
                color=_DED,
                linestyle="--",
                linewidth=1.4,
                label="target dedicated",
                zorder=4,
            )
            ax_n.step(
                x,
                tl.dedicated,
                where="post",
                color=_DED_LIGHT,
                linewidth=3.2,
                label="current dedicated",
                zorder=3,
            )
            ax_n.step(
                x,
                tl.target_low_priority,
                where="post",
                color=_LP,
                linestyle="--",
                linewidth=1.4,
                label="target low-priority",
                zorder=4,
            )
            ax_n.step(
                x,
                tl.low_priority,
                where="post",
                color=_LP_LIGHT,
                linewidth=3.2,
                label="current low-priority (incl. preempted)",
                zorder=3,
            )
            if any(tl.preempted):
                ax_n.step(
                    x,
                    tl.preempted,
                    where="post",
                    color="#c44e52",
                    linestyle=":",
                    linewidth=1.5,
                    label="preempted",
                )
        else:
            # earlier formulas draw thicker lines, so identical curves stay visible one on top of the other
            lw = 1.2 + 2.0 * (len(results) - 1 - i) / max(1, len(results) - 1)
            ax_t.step(x, tl.active, where="post", color=colour, linewidth=lw, label=f"{prefix}queued")
            ax_t.step(
                x,
                tl.running,
                where="post",
                color=colour,
                linewidth=max(1.0, lw - 0.5),
                linestyle=":",
                label=f"{prefix}running",
            )
            total = [d + lp for d, lp in zip(tl.dedicated, tl.low_priority, strict=False)]
            target = [d + lp for d, lp in zip(tl.target_dedicated, tl.target_low_priority, strict=False)]
            ax_n.step(
                x, total, where="post", color=colour, linewidth=lw + 0.5, label=f"{prefix}current nodes"
            )
            ax_n.step(
                x,
                target,
                where="post",
                color=colour,
                linewidth=max(1.0, lw - 0.5),
                linestyle="--",
                label=f"{prefix}target nodes",
            )
        errors = [e.t_s / scale for e in res.evaluations if e.result.error is not None]
        if errors:
            ax_n.plot(
                errors,
                [0] * len(errors),
                linestyle="none",
                marker="x",
                markersize=8,
                markeredgewidth=2,
                color="#c00000" if single else colour,
                clip_on=False,
                zorder=5,
                label=f"{prefix}failed evaluation ({len(errors)})",
            )
            for t in errors:
                ax_n.axvline(t, color="#c00000" if single else colour, alpha=0.12, linewidth=1)
    ax_t.set_ylabel("tasks")
    ax_t.set_title("Tasks", loc="left", fontsize=11)
    ax_n.set_ylabel("nodes")
    ax_n.set_title("Nodes: target (dashed) vs current (solid)", loc="left", fontsize=11)
    ax_n.set_xlabel(f"{unit} since the pool was created")
    ax_n.set_xlim(0, duration / scale)
    ax_t.set_ylim(0, max(1.0, ax_t.get_ylim()[1]) * 1.12)
    ax_n.set_ylim(0, max(1.0, ax_n.get_ylim()[1]) * 1.1)
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    # ticks on whole clock steps (every 6 hours over two days, not at 10, 20, 30 h)
    ax_n.xaxis.set_major_locator(MultipleLocator(time_tick_step(duration / scale, unit)))
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_t.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_t, ax_n):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9, borderaxespad=0)
    if single:
        ax_t.text(
            1.01,
            0.0,
            _summary_text(results[0]),
            transform=ax_t.transAxes,
            ha="left",
            va="bottom",
            fontsize=8,
            family="monospace",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85},
        )
        head = results[0].name
    else:
        head = " vs ".join(r.name for r in results)
    if title:
        head += "\n" + (title if len(title) <= 140 else title[:139] + "…")
    fig.suptitle(head, fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise BatchspecError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def _summary_text(res: SimResult) -> str:
    s = res.summary
    lines = [
        f"tasks {s['tasks_completed']}/{s['tasks_submitted']} done",
        f"wait p50 {format_duration(s['wait_p50_s'])}  p95 {format_duration(s['wait_p95_s'])}",
        "makespan " + (format_duration(s["makespan_s"]) if s["makespan_s"] is not None else "— (unfinished)"),
        f"node-hours {s['dedicated_node_hours']:.1f} ded + {s['low_priority_node_hours']:.1f} low-pri",
        f"evaluations {s['evaluations']}, {s['evaluation_errors']} failed",
        f"cost {s['cost']:.2f}",
    ]
    return "\n".join(lines)
