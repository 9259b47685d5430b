"""Shared pieces of the local service: API errors, timestamps, ETags, ids, durations, OData helpers."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from dataclasses import dataclass, field

API_VERSION = "2025-06-01"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
POOL_NAME_RE = ID_RE  # management plane poolName: 1-64 of [a-zA-Z0-9_-]


@dataclass
class ApiError(Exception):
    """An error answer. Rendered as CloudError on the management plane, BatchError on the data plane."""

    status: int
    code: str
    message: str
    values: list[tuple[str, str]] = field(
        default_factory=list
    )  # data plane values / ARM details (code, message)
    target: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(t: dt.datetime | None = None) -> str:
    t = t or utcnow()
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}0Z"


def rfc1123(t: dt.datetime | None = None) -> str:
    t = t or utcnow()
    return t.strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_iso(text: str) -> dt.datetime:
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


_etag_lock = threading.Lock()
_etag_counter = [0]


def new_etag() -> str:
    """Batch-style ETag value (``0x8DC…``); changes on every write."""
    with _etag_lock:
        _etag_counter[0] += 1
        n = _etag_counter[0]
    return "0x8DE" + f"{(int(utcnow().timestamp() * 1e7) + n) & 0xFFFFFFFFFFFFF:013X}"


def request_id() -> str:
    return str(uuid.uuid4())


_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: object) -> dt.timedelta | None:
    """ISO-8601 duration (``PT5M``, ``PT05M00S``, ``P1DT2H``) -> timedelta; None when malformed."""
    if not isinstance(text, str) or text in ("P", "PT") or text.endswith("T"):
        return None
    m = _DURATION_RE.match(text)
    if not m:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return dt.timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def format_duration(td: dt.timedelta) -> str:
    total = int(td.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "") + "T"
    out += (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    return "PT0S" if out == "PT" else out


def public(d: dict) -> dict:
    """A stored resource without its internal (``_``-prefixed) fields."""
    return {k: v for k, v in d.items() if not k.startswith("_")}


MAX_BODY = 4 * 1024 * 1024  # bytes; larger bodies are refused before they are read


@dataclass
class Request:
    method: str
    raw_path: str  # percent-encoded, as received
    segments: list[str]  # decoded path segments
    query: dict[str, str]  # first value of each parameter; keys as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # https://127.0.0.1:<port>
    raw_query: str = ""

    def param(self, name: str) -> str | None:
        for k, v in self.query.items():
            if k.lower() == name.lower():
                return v
        return None

    def json(self, *, data_plane: bool) -> object:
        import json

        if not self.body:
            raise ApiError(
                400,
                "InvalidRequestBody" if not data_plane else "MissingRequiredProperty",
                "The request body is missing",
            )
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
            if data_plane:
                raise ApiError(
                    400,
                    "InvalidRequestBody",
                    "The specified Request Body is not syntactically valid.",
                    [("Reason", f"{type(exc).__name__}: {exc}")],
                ) from None
            raise ApiError(400, "InvalidRequestBody", f"The request body is not valid JSON: {exc}") from None


@dataclass
class Response:
    status: int
    body: object = None  # dict/list -> JSON; bytes -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
