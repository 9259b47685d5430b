"""ISO 8601 durations as the Batch service writes and accepts them (``PT5M``, ``PT05M00S``, ``P1DT2H``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

# the same grammar as a JSON Schema pattern (used by the generated schemas)
DURATION_PATTERN = (
    r"^P(?!$)(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)


def parse_duration(text: str) -> timedelta | None:
    """``PT5M`` -> 5 minutes; None when ``text`` is not an ISO 8601 duration (years/months are not accepted)."""
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT"):
        return None
    parts = {k: float(v) for k, v in m.groupdict().items() if v is not None}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    """5 minutes -> ``PT5M``; the short form people write."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if time or out == "P":
        out += "T" + (time or "0S")
    return out


_CLI = re.compile(r"^(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})(?:\.\d+)?$")


def cli_duration_to_iso(text: object) -> str | None:
    """``"0:15:00"`` / ``"1 day, 2:00:00"`` (how older az CLI versions print durations) -> ``PT15M`` / ``P1DT2H``;
    None for anything else (ISO strings included)."""
    if not isinstance(text, str):
        return None
    m = _CLI.match(text.strip())
    if not m:
        return None
    td = timedelta(
        days=int(m.group("days") or 0),
        hours=int(m.group("h")),
        minutes=int(m.group("m")),
        seconds=int(m.group("s")),
    )
    return format_duration(td)
