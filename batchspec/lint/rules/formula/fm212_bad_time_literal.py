from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123 = re.compile(
    r"^(?P<wd>[A-Za-z]{3}),\s*(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<y>\d{4})\s+"
    r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})\s+(?P<tz>GMT|UTC|UT|Z|[+-]\d{4})$",
    re.IGNORECASE,
)
_W3C = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?(?P<tz>[Zz]|[+-]\d{2}:\d{2})?)?)?)?$"
)


def time_literal_problem(text: str) -> tuple[str, str, bool] | None:
    """(message, hint, certain) when ``time("text")`` cannot be parsed; None when it can (reference A29).

    Accepted, the same set as the evaluator's parser (``batchspec.sim.timeparse``): RFC 1123
    (``Mon, 06 Oct 2014 10:20:00 GMT``, the day name must match the date) and W3C-DTF / ISO 8601 (``2024``,
    ``2024-10``, ``2024-10-30`` or ``2024-10-30T00:00:00.880011Z``, seconds optional, at most 7 fractional
    digits, ``Z`` or ``±hh:mm``). A date-time without a zone is accepted with a warning.
    """
    text = text.strip()
    m = _RFC1123.match(text)
    if m:
        mon = m["mon"].title()
        wd = m["wd"].title()
        if mon not in _MONTHS or wd not in _DAYS:
            return (
                f'"{text}" has an unknown day or month name',
                "use English abbreviations: Mon, Jan, …",
                True,
            )
        problem = _check_date(
            int(m["y"]), _MONTHS.index(mon) + 1, int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"])
        )
        if problem:
            return problem
        real = _DAYS[dt.date(int(m["y"]), _MONTHS.index(mon) + 1, int(m["d"])).weekday()]
        if real != wd:
            return (
                f'"{text}" says {wd}, but that date is a {real}',
                "RFC 1123 parsers reject a wrong day of the week; fix the day name",
                True,
            )
        return None
    m = _W3C.match(text)
    if m:
        if m["f"] is not None and len(m["f"]) > 7:
            return (
                f'"{text}" has {len(m["f"])} fractional digits; the service parses at most 7 (100 ns)',
                "cut the fraction to at most 7 digits (Nextflow hit this with nanosecond timestamps, "
                "nextflow-io/nextflow#3866)",
                True,
            )
        problem = _check_date(
            int(m["y"]),
            int(m["mo"] or 1),
            int(m["d"] or 1),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
        )
        if problem:
            return problem
        if m["h"] is not None and m["tz"] is None:
            return (
                f'"{text}" has no time zone; W3C-DTF requires "Z" or an offset such as "+01:00"',
                'add "Z" for UTC (batchspec reads it as UTC, the service\'s clock)',
                False,
            )
        return None
    return (
        f'"{text}" is not a date the service can parse',
        'use RFC 1123 ("Mon, 06 Oct 2014 10:20:00 GMT") or W3C-DTF ("2014-10-06T10:20:00Z")',
        True,
    )


def _check_date(y: int, mo: int, d: int, h: int, mi: int, s: int) -> tuple[str, str, bool] | None:
    if not 1 <= mo <= 12:
        return (f"month {mo} does not exist", "months are 01–12", True)
    last = calendar.monthrange(y, mo)[1] if y >= 1 else 31
    if not 1 <= d <= last:
        return (f"day {d} does not exist in {y}-{mo:02d}", f"that month has {last} days", True)
    if h > 23 or mi > 59 or s > 59:
        return (
            f"time {h:02d}:{mi:02d}:{s:02d} does not exist",
            "hours are 00–23, minutes and seconds 00–59",
            True,
        )
    return None


class BadTimeLiteral(FormulaRule):
    """A `time("…")` string the service cannot parse: the evaluation fails.

    `time(string)` accepts W3C-DTF (ISO 8601: `2024-10-30T00:00:00.880011Z`, at most 7 fractional digits, `Z` or
    an offset) and RFC 1123 (`Mon, 06 Oct 2014 10:20:00 GMT`, with the right day of the week); batchspec's
    evaluator accepts exactly the same set. Anything else fails
    every evaluation, which is what Nextflow's nanosecond timestamps did (nextflow-io/nextflow#3866). A date-time
    without a time zone is reported as a warning: its meaning is undocumented.
    """

    code = "FM212"
    name = "bad-time-literal"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad='$age = time() - time("2023-04-14T09:30:51.123456789Z");',
            good='$age = time() - time("2023-04-14T09:30:51.1234567Z");',
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for node in ctx.analysis.time_strings:
            problem = time_literal_problem(node.value)
            if problem is None:
                continue
            message, hint, certain = problem
            yield self.report(
                node.span,
                message + ("; the evaluation fails" if certain else ""),
                hint=hint,
                severity=None if certain else Severity.WARNING,
            )
