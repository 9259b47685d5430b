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


_SHORTHAND_PART = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)",
    re.IGNORECASE,
)


def suggest_duration(text: object) -> str | None:
    """The ISO 8601 spelling of a duration written another way: ``"15m"`` / ``"1h 30min"`` / ``"0:15:00"`` /
    ``"pt5m"`` -> ``PT15M`` / ``PT1H30M`` / ``PT15M`` / ``PT5M``; None when the text is no recognisable duration
    (a bare number is ambiguous: seconds or minutes?)."""
    if not isinstance(text, str) or not text.strip():
        return None
    stripped = text.strip()
    if stripped != stripped.upper() and parse_duration(stripped) is not None:
        return stripped.upper()  # pt5m: right grammar, wrong case
    cli = cli_duration_to_iso(stripped)
    if cli is not None:
        return cli
    compact = stripped.replace(",", " ")
    parts = list(_SHORTHAND_PART.finditer(compact))
    if not parts or "".join(m.group(0) for m in parts).replace(" ", "") != compact.replace(" ", ""):
        return None
    seconds = 0.0
    scale = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    for m in parts:
        unit = m.group("unit").lower()
        key = "m" if unit.startswith("min") else unit[0]
        seconds += float(m.group("n")) * scale[key]
    if seconds <= 0 or seconds != int(seconds):
        return None
    return format_duration(timedelta(seconds=seconds))
