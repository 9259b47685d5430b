"""``time(string)`` parsing: RFC 1123 and W3C-DTF / ISO 8601 (reference §3.1, A29).

Accepted (surrounding whitespace ignored):

* RFC 1123: ``Mon, 06 Oct 2014 10:20:00 GMT`` — day name (checked against the date, as .NET's ``"r"`` parse
  does), a one- or two-digit day, an English month abbreviation, a four-digit year, ``HH:mm:ss``, and ``GMT``,
  ``UT``, ``UTC``, ``Z`` or a numeric offset ``+hhmm``. Names are case-insensitive.
* W3C-DTF / ISO 8601: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, and ``YYYY-MM-DDThh:mm[:ss[.f…]]`` with 1-7
  fractional digits and ``Z`` or ``±hh:mm`` (a time without a designator is taken as UTC: the service runs on
  UTC).

Everything else fails. Results are ticks of 100 ns since the Unix epoch (UTC).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_RFC1123 = re.compile(
    r"(?P<wd>[A-Za-z]{3}),\s*(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<y>\d{4})\s+"
    r"(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})\s+(?P<tz>GMT|UTC|UT|Z|[+-]\d{4})",
    re.IGNORECASE,
)
_ISO = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,7}))?)?(?P<tz>[Zz]|[+-]\d{2}:\d{2})?)?)?)?"
)


def _ticks(dt: datetime, frac_ticks: int, offset_minutes: int) -> int:
    micro = (dt - _EPOCH) // timedelta(microseconds=1)
    return micro * 10 + frac_ticks - offset_minutes * 60 * 10_000_000


def parse_time(text: str) -> int | None:
    """Ticks (100 ns) since 1970-01-01T00:00:00Z, or None when ``text`` is not an accepted form."""
    s = text.strip()
    m = _RFC1123.fullmatch(s)
    if m:
        try:
            month = _MONTHS.index(m["mon"].lower()) + 1
            dt = datetime(
                int(m["y"]), month, int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"]), tzinfo=timezone.utc
            )
        except ValueError:
            return None
        if m["wd"].lower() != _DAYS[dt.weekday()]:
            return None
        tz = m["tz"]
        offset = 0
        if tz[0] in "+-":
            hours, minutes = int(tz[1:3]), int(tz[3:5])
            if hours > 23 or minutes > 59:
                return None
            offset = (hours * 60 + minutes) * (1 if tz[0] == "+" else -1)
        return _ticks(dt, 0, offset)
    m = _ISO.fullmatch(s)
    if m:
        try:
            dt = datetime(
                int(m["y"]),
                int(m["m"] or 1),
                int(m["d"] or 1),
                int(m["H"] or 0),
                int(m["M"] or 0),
                int(m["S"] or 0),
                tzinfo=timezone.utc,
            )
        except ValueError:
            return None
        frac = int((m["f"] or "").ljust(7, "0") or 0)
        tz = m["tz"] or "Z"
        offset = 0
        if tz not in ("Z", "z"):
            hours, minutes = int(tz[1:3]), int(tz[4:6])
            if hours > 23 or minutes > 59:
                return None
            offset = (hours * 60 + minutes) * (1 if tz[0] == "+" else -1)
        return _ticks(dt, frac, offset)
    return None
