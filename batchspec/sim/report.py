"""Turn simulation results into text: the summary table, a terminal chart, JSON and CSV. Pure: returns strings."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from batchspec.sim.scenario import format_duration
from batchspec.sim.simulator import EvaluationRecord, SimResult, Timeline, percentile

SUMMARY_KEYS = (
    "tasks_submitted",
    "tasks_completed",
    "tasks_failed",
    "tasks_unfinished",
    "tasks_never_started",
    "makespan_s",
    "wait_p50_s",
    "wait_p95_s",
    "wait_max_s",
    "wait_mean_s",
    "peak_dedicated_nodes",
    "peak_low_priority_nodes",
    "dedicated_node_hours",
    "low_priority_node_hours",
    "idle_node_hours",
    "slot_utilization",
    "evaluations",
    "evaluation_errors",
    "first_error",
    "preemptions",
    "tasks_requeued",
    "tasks_terminated",
    "cost",
)
NUMERIC_KEYS = tuple(k for k in SUMMARY_KEYS if k != "first_error")

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def _iso(td_start: Any, t_s: float) -> str:
    when = td_start + timedelta(seconds=t_s)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------------------------------------ JSON / CSV


def evaluation_dict(rec: EvaluationRecord) -> dict[str, Any]:
    r = rec.result
    err = None
    if r.error is not None:
        err = {
            "code": r.error.code,
            "message": r.error.message,
            "values": [{"name": v.name, "value": v.value} for v in r.error.values],
        }
    return {
        "t_s": rec.t_s,
        "timestamp": rec.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rec.time.microsecond // 1000:03d}Z",
        "results": r.results,
        "target_dedicated_nodes": r.target_dedicated_nodes,
        "target_low_priority_nodes": r.target_low_priority_nodes,
        "node_deallocation_option": r.node_deallocation_option,
        "error": err,
    }


def result_dict(res: SimResult, *, timeline: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"name": res.name, "settings": settings_dict(res), "summary": res.summary}
    if timeline:
        out["timeline"] = res.timeline.rows()
        out["evaluations"] = [evaluation_dict(e) for e in res.evaluations]
    return out


def settings_dict(res: SimResult) -> dict[str, Any]:
    s = res.settings
    return {
        "duration_s": s.duration_s,
        "evaluation_interval_s": s.evaluation_interval_s,
        "task_slots_per_node": s.task_slots_per_node,
        "task_scheduling": s.task_scheduling,
        "seed": s.seed,
        "start": s.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


JSON_VERSION = 1  # bump when a field changes meaning or goes away; adding one needs no bump


def to_json(results: Sequence[SimResult]) -> str:
    """One result: ``{"version", "summary", "timeline", "evaluations", ...}``; several (``--compare``):
    ``{"version", "results": [...]}``."""
    if len(results) == 1:
        return json.dumps({"version": JSON_VERSION, **result_dict(results[0])}, indent=2) + "\n"
    return (
        json.dumps({"version": JSON_VERSION, "results": [result_dict(r) for r in results]}, indent=2) + "\n"
    )


def to_csv(results: Sequence[SimResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    many = len(results) > 1
    w.writerow((["formula"] if many else []) + ["t_s", "time", *Timeline.COLUMNS[1:]])
    for res in results:
        tl = res.timeline
        cols = [getattr(tl, c) for c in Timeline.COLUMNS[1:]]
        start = res.settings.start
        for i, t in enumerate(tl.t_s):
            row = [_num(t), _iso(start, t)] + ["" if c[i] is None else _num(c[i]) for c in cols]
            w.writerow(([res.name] if many else []) + row)
    return buf.getvalue()


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


# ------------------------------------------------------------------------------------------------ runs


def run_percentiles(summaries: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """p5/p50/p95/min/max/mean of each numeric summary figure across runs (None where a run has no value)."""
    out: dict[str, dict[str, float | None]] = {}
    for key in NUMERIC_KEYS:
        values = sorted(float(s[key]) for s in summaries if s.get(key) is not None)
        if not values:
            out[key] = {"p5": None, "p50": None, "p95": None, "min": None, "max": None, "mean": None, "n": 0}
            continue
        out[key] = {
            "p5": percentile(values, 5),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "min": values[0],
            "max": values[-1],
            "mean": round(sum(values) / len(values), 4),
            "n": len(values),
        }
    return out


# ------------------------------------------------------------------------------------------------ text


def _fmt_value(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if key.endswith("_s"):
        return format_duration(float(v)) if v >= 1 or v == 0 else f"{v:g}s"
    if key == "cost":
        return f"{v:,.2f}"
    if key == "slot_utilization":
        return f"{100 * v:.0f}%"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() and not key.endswith("_hours") else f"{v:,.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def summary_lines(res: SimResult) -> list[str]:
    s = res.summary
    st = res.settings
    out = []
    tasks = (
        f"{s['tasks_submitted']:,} submitted, {s['tasks_completed']:,} completed, {s['tasks_failed']:,} failed,"
        f" {s['tasks_unfinished']:,} unfinished at the end"
    )
    if s["tasks_never_started"]:
        tasks += f" ({s['tasks_never_started']:,} never started)"
    out.append(("tasks", tasks))
    out.append(
        (
            "wait",
            f"p50 {_fmt_value('x_s', s['wait_p50_s'])}, p95 {_fmt_value('x_s', s['wait_p95_s'])}, "
            f"max {_fmt_value('x_s', s['wait_max_s'])} (submission to first start)",
        )
    )
    out.append(
        (
            "makespan",
            _fmt_value("x_s", s["makespan_s"])
            if s["makespan_s"] is not None
            else "— (tasks were still queued or running when the simulation ended)",
        )
    )
    response = response_text(res)
    if response:
        out.append(("response", response))
    out.append(
        (
            "nodes",
            f"peak {s['peak_dedicated_nodes']} dedicated, {s['peak_low_priority_nodes']} low-priority; "
            f"{s['dedicated_node_hours']:.2f} + {s['low_priority_node_hours']:.2f} node-hours, "
            f"{s['idle_node_hours']:.2f} of them idle",
        )
    )
    if s["preemptions"] or s["tasks_requeued"] or s["tasks_terminated"]:
        out.append(
            (
                "disruption",
                f"{s['preemptions']} preemptions, {s['tasks_requeued']} task restarts, "
                f"{s['tasks_terminated']} tasks terminated by shrinks",
            )
        )
    if s["evaluations"] == 0:
        ev = "none: a fixed-size pool (no autoscale formula)"
    else:
        ev = f"{s['evaluations']} every {format_duration(st.evaluation_interval_s)}, {s['evaluation_errors']} failed"
    fe = s["first_error"]
    if fe:
        ev += f"; first failure at {format_duration(fe['t_s'])}: {fe['code']}" + (
            f" ({fe['detail']})" if fe["detail"] else ""
        )
    out.append(("evaluations", ev))
    out.append(("cost", f"{s['cost']:,.2f} (dedicated + low-priority node-hours × price)"))
    width = max(len(k) for k, _ in out)
    return [f"  {k.ljust(width)}  {v}" for k, v in out]


def response_text(res: SimResult) -> str:
    """How the pool met its first work, from the timeline: when tasks first queued, when a node could take them,
    and the most task slots it ever had against the longest queue."""
    tl = res.timeline
    first = next((i for i, (a, r) in enumerate(zip(tl.active, tl.running, strict=False)) if a or r), None)
    if first is None:
        return ""
    t0 = tl.t_s[first]
    ready = next((tl.t_s[i] for i in range(first, len(tl)) if tl.usable[i] > 0), None)
    slots = max(tl.usable) * res.settings.task_slots_per_node
    nodes = max(tl.usable)
    parts = [f"tasks first queued at {format_duration(t0)}"]
    if ready is None:
        parts.append("no node ever became usable")
    elif ready <= t0:
        parts.append("a usable node was already there")
    else:
        parts.append(f"first usable node at {format_duration(ready)} ({format_duration(ready - t0)} later)")
    parts.append(
        f"at most {slots:,} slot{'s' if slots != 1 else ''} ({nodes:,} usable node{'s' if nodes != 1 else ''})"
        f" for up to {max(tl.active):,} queued tasks"
    )
    return "; ".join(parts)


def header_line(res: SimResult, scenario_label: str) -> str:
    st = res.settings
    return (
        f"{res.name} · {scenario_label} · {format_duration(st.duration_s)} from "
        f"{st.start.strftime('%Y-%m-%d %H:%M')} UTC · seed {st.seed} · {st.task_slots_per_node} slot"
        f"{'s' if st.task_slots_per_node != 1 else ''}/node ({st.task_scheduling})"
    )


def _buckets(tl: Timeline, width: int, duration: float) -> list[list[int]]:
    """Timeline row indices per chart column."""
    cols: list[list[int]] = [[] for _ in range(width)]
    for i, t in enumerate(tl.t_s):
        c = min(width - 1, int(t / duration * width)) if duration > 0 else 0
        cols[c].append(i)
    last = 0
    for c in range(width):  # empty columns (fewer samples than columns) repeat the previous row
        if cols[c]:
            last = cols[c][-1]
        else:
            cols[c] = [last]
    return cols


def _axis(duration: float, width: int, indent: int) -> list[str]:
    steps = [60, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400]
    step = next((s for s in steps if duration / s <= max(2, width // 10)), steps[-1])
    ticks = [" "] * width
    labels = [" "] * (width + 8)
    k = 0
    while k * step <= duration + 1e-9:
        c = min(width - 1, int(k * step / duration * width)) if duration else 0
        ticks[c] = "┬" if c < width - 1 or k * step < duration else "┐"
        text = "0" if k == 0 else format_duration(k * step)
        if all(ch == " " for ch in labels[c : c + len(text) + 1]):
            labels[c : c + len(text)] = list(text)
        k += 1
    pad = " " * indent
    return [
        pad + "└" + "".join("─" if ch == " " else ch for ch in ticks),
        pad + " " + "".join(labels).rstrip(),
    ]


_TASK_PALETTE = {**{ch: "36" for ch in _EIGHTHS[1:]}, "░": "33"}
_NODE_PALETTE = {"█": "34", "▒": "33", "x": "31", "·": "2"}
_ERROR_PALETTE = {"✗": "31"}


def _paint(body: str, palette: dict[str, str], color: bool) -> str:
    """ANSI colours for runs of chart characters (only when writing to a terminal without NO_COLOR)."""
    if not color:
        return body
    out: list[str] = []
    current: str | None = None
    for ch in body:
        code = palette.get(ch)
        if code != current:
            if current:
                out.append("\x1b[0m")
            if code:
                out.append(f"\x1b[{code}m")
            current = code
        out.append(ch)
    if current:
        out.append("\x1b[0m")
    return "".join(out)


def chart_lines(res: SimResult, *, width: int = 72, height: int = 8, color: bool = False) -> list[str]:
    """Queued tasks, then nodes (current by priority, with the target gap dotted), then evaluation errors."""
    tl = res.timeline
    duration = res.settings.duration_s
    width = max(20, width)
    cols = _buckets(tl, width, duration)
    out: list[str] = []
    # --- queued tasks (with running as a thin line of its own scale? no: same scale, drawn as ░ under the queue)
    queued = [max(tl.active[i] for i in idx) for idx in cols]
    running = [max(tl.running[i] for i in idx) for idx in cols]
    top = max(max(queued), max(running), 1)
    label_w = max(len(f"{top:,}"), 4)
    out.append(
        " " * (label_w + 1) + f"tasks: █ queued (active)   ░ running          max queued {max(queued):,}, "
        f"max running {max(running):,}"
    )
    for row in range(height - 1, -1, -1):
        line = []
        for q, r in zip(queued, running, strict=False):
            qh = q / top * height
            rh = r / top * height
            if qh >= row + 1:
                line.append("█")
            elif qh > row:
                line.append(_EIGHTHS[max(1, min(8, round((qh - row) * 8)))])
            elif rh > row + 0.5:
                line.append("░")
            else:
                line.append(" ")
        label = f"{top:,}" if row == height - 1 else ""
        out.append(label.rjust(label_w) + " │" + _paint("".join(line).rstrip(), _TASK_PALETTE, color))
    out.extend(_axis(duration, width, label_w + 1))
    # --- nodes
    ded = [max(tl.dedicated[i] for i in idx) for idx in cols]
    lp = [max(tl.low_priority[i] for i in idx) for idx in cols]
    pre = [max(tl.preempted[i] for i in idx) for idx in cols]
    tgt = [max(tl.target_dedicated[i] + tl.target_low_priority[i] for i in idx) for idx in cols]
    ntop = max(max(d + n for d, n in zip(ded, lp, strict=False)), max(tgt), 1)
    nheight = min(height, ntop) if ntop <= height else height
    unit = ntop / nheight
    errs = [e.t_s for e in res.evaluations if e.result.error is not None]
    out.append("")
    # the failed-evaluation marker row below the axis is explained here, with the other symbols, so that the
    # row itself holds only markers (a legend after the markers read as one more marker)
    out.append(
        " " * (label_w + 1)
        + "nodes: █ dedicated   ▒ low-priority   x preempted   · target not reached"
        + (f"   ✗ failed evaluation ({len(errs)} of {len(res.evaluations)})" if errs else "")
    )
    cells = []
    for d, lp_n, p, g in zip(ded, lp, pre, tgt, strict=False):
        # every non-zero series gets at least one cell, so one node is visible on a 50-node scale
        ded_rows = math.ceil(d / unit - 1e-9) if d > 0 else 0
        tot_rows = max(round((d + lp_n) / unit), ded_rows + (1 if lp_n > 0 else 0))
        pre_rows = min(tot_rows - ded_rows, math.ceil(p / unit - 1e-9)) if p > 0 else 0
        tgt_rows = max(round(g / unit), 1 if g > 0 else 0)
        cells.append((ded_rows, tot_rows - pre_rows, tot_rows, tgt_rows))
    for row in range(nheight - 1, -1, -1):
        line = []
        for ded_rows, lp_top, tot_rows, tgt_rows in cells:
            if row < ded_rows:
                line.append("█")
            elif row < lp_top:
                line.append("▒")
            elif row < tot_rows:
                line.append("x")
            elif row < tgt_rows:
                line.append("·")
            else:
                line.append(" ")
        label = f"{ntop:,}" if row == nheight - 1 else (f"{row + 1}" if ntop <= height and row > 0 else "")
        out.append(label.rjust(label_w) + " │" + _paint("".join(line).rstrip(), _NODE_PALETTE, color))
    out.extend(_axis(duration, width, label_w + 1))
    # --- evaluation errors: a marker under the time of each failed evaluation
    if errs:
        marks = [" "] * width
        for t in errs:
            marks[min(width - 1, int(t / duration * width)) if duration else 0] = "✗"
        out.append(_paint(" " * label_w + "  " + "".join(marks).rstrip(), _ERROR_PALETTE, color))
    return out


def table(results: Sequence[SimResult], scenario_label: str, *, width: int = 72, color: bool = False) -> str:
    out: list[str] = []
    if len(results) > 1:
        out.append(f"scenario: {scenario_label}")
        out.append("")
        out.extend(compare_lines(results))
    for res in results:
        out.append("")
        out.append(header_line(res, scenario_label))
        if len(results) == 1:
            out.extend(summary_lines(res))
        out.append("")
        out.extend(chart_lines(res, width=width, color=color))
    return "\n".join(out).lstrip("\n") + "\n"


def compare_lines(results: Sequence[SimResult]) -> list[str]:
    """Summary figures side by side, one column per formula."""
    rows: list[tuple[str, list[str]]] = [
        (k, [_fmt_value(k, r.summary.get(k)) for r in results]) for k in NUMERIC_KEYS
    ]
    firsts = [r.summary.get("first_error") for r in results]
    if any(firsts):
        rows.append(
            ("first_error", [f"{f['code']} at {format_duration(f['t_s'])}" if f else "—" for f in firsts])
        )
    names = [r.name for r in results]
    colw = [max(12, len(n), *(len(cells[i]) for _, cells in rows)) for i, n in enumerate(names)]
    kw = max(len(k) for k, _ in rows)
    lines = [" " * kw + "  " + "  ".join(n.rjust(w) for n, w in zip(names, colw, strict=False))]
    for k, cells in rows:
        lines.append(k.ljust(kw) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, colw, strict=False)))
    return lines


def runs_table(name: str, pct: dict[str, dict[str, float | None]], runs: int, seeds: tuple[int, int]) -> str:
    lines = [f"{name}: {runs} runs, seeds {seeds[0]}..{seeds[1]}", ""]
    kw = max(len(k) for k in pct)
    cols = ("p5", "p50", "p95", "min", "max")
    lines.append(" " * kw + "  " + "  ".join(c.rjust(10) for c in cols))
    for k, row in pct.items():
        lines.append(k.ljust(kw) + "  " + "  ".join(_fmt_value(k, row[c]).rjust(10) for c in cols))
    return "\n".join(lines) + "\n"


def runs_compare_table(
    names: Sequence[str], pcts: Sequence[dict[str, dict[str, float | None]]], title: str
) -> str:
    """Each figure's median across runs, with its p5..p95 range, one column per formula."""
    rows = []
    for key in NUMERIC_KEYS:
        cells = []
        for pct in pcts:
            row = pct[key]
            if row["p50"] is None:
                cells.append("—")
            else:
                cells.append(
                    f"{_fmt_value(key, row['p50'])} ({_fmt_value(key, row['p5'])}..{_fmt_value(key, row['p95'])})"
                )
        rows.append((key, cells))
    colw = [max(len(n), *(len(c[i]) for _, c in rows)) for i, n in enumerate(names)]
    kw = max(len(k) for k, _ in rows)
    lines = [
        title,
        "median (p5..p95) across runs",
        "",
        " " * kw + "  " + "  ".join(n.rjust(w) for n, w in zip(names, colw, strict=False)),
    ]
    for k, cells in rows:
        lines.append(k.ljust(kw) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, colw, strict=False)))
    return "\n".join(lines) + "\n"


def is_finite(v: float) -> bool:
    return not (math.isnan(v) or math.isinf(v))
