"""Pull the autoscale formula and the pool facts it depends on out of any pool definition.

Used by ``batchspec evaluate formula`` and ``batchspec simulate formula``: they accept a ``.formula`` file, a pool
JSON (management plane, data plane, ``az batch pool show`` output, an ARM template) or a batchspec spec, and need
the formula text plus evaluation interval, task slots, fill type and VM size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from batchspec.errors import BatchspecError
from batchspec.spec.durations import parse_duration
from batchspec.spec.loader import Document, JsonPath, StringMap, check_size, load_text
from batchspec.spec.shapes import detect_pool_shape, get, is_arm_expression


@dataclass(frozen=True)
class PoolFormula:
    """The formula of one pool plus the pool facts a simulation needs.

    ``text`` is None for a fixed-scale pool (then ``target_dedicated``/``target_low_priority`` are set).
    ``path`` is the file the formula text is in (the ``.formula`` file itself, or the JSON/YAML that embeds it).
    ``origin`` maps formula character offsets to positions in ``path`` when the formula is embedded in a string
    (None for a ``.formula`` file, whose positions are already right).
    """

    text: str | None
    path: str
    evaluation_interval: timedelta | None = None
    task_slots_per_node: int | None = None
    task_scheduling: str | None = None  # nodeFillType as written: "Pack", "Spread", "pack", ...
    vm_size: str | None = None
    pool_id: str | None = None
    target_dedicated: int | None = None
    target_low_priority: int | None = None
    origin: StringMap | None = field(default=None, compare=False, repr=False)
    formula_json_path: JsonPath | None = None


def read_text(path: Path) -> str:
    """Read a user file with a size limit; BatchspecError (exit 2) when it cannot be read."""
    try:
        check_size(str(path), path.stat().st_size)
        # bytes, then decode: no newline translation, so a "\r" in a script or formula file survives exactly
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BatchspecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BatchspecError(f"{path}: is a directory; expected a file") from None
    except UnicodeDecodeError as exc:
        data = exc.object if isinstance(exc.object, bytes) else b""
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise BatchspecError(
            f"{path}:{line}:{col}: file is not UTF-8 text: byte 0x{data[exc.start:exc.start + 1].hex()} cannot be decoded"
        ) from None
    except OSError as exc:
        raise BatchspecError(f"{path}: cannot read ({exc.strerror})") from None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def pool_formula_from_document(doc: Document) -> PoolFormula:
    """PoolFormula of a pool JSON document (any supported shape)."""
    shape = detect_pool_shape(doc.data)
    if shape is None:
        raise BatchspecError(
            f"{doc.path}: not a pool definition; expected a management-plane body "
            '({"properties": {"vmSize": ...}}), a data-plane body ({"id", "vmSize", "autoScaleFormula", ...}) '
            "or az batch pool show output"
        )
    data = doc.data
    formula_path = shape.path("formula")
    text = get(data, formula_path)
    if text is not None and not isinstance(text, str):
        raise BatchspecError(f"{doc.path}: the autoscale formula must be a string")
    if shape.plane == "management" and is_arm_expression(text):
        raise BatchspecError(
            f"{doc.path}: the autoscale formula is an ARM template expression ({text[:60]}); "
            "put the formula text in a .formula file or the template to evaluate or simulate it"
        )
    if shape.plane == "data" and get(data, (*shape.props, "enableAutoScale")) is False:
        text = None
    interval_raw = get(data, shape.path("interval"))
    interval = parse_duration(interval_raw) if isinstance(interval_raw, str) else None
    if interval_raw is not None and interval is None:
        raise BatchspecError(
            f'{doc.path}: evaluation interval "{interval_raw}" is not an ISO 8601 duration such as PT5M'
        )
    loc = doc.locations.get(formula_path)
    pool_id = get(data, (*shape.props, "id")) if shape.plane == "data" else get(data, (*shape.root, "name"))
    if isinstance(pool_id, str) and "/" in pool_id:
        pool_id = pool_id.rsplit("/", 1)[-1]
    fill = get(data, shape.path("fill"))
    vm_size = get(data, shape.path("vmSize"))
    return PoolFormula(
        text=text,
        path=doc.path,
        evaluation_interval=interval,
        task_slots_per_node=_int_or_none(get(data, shape.path("slots")))
        or _int_or_none(get(data, (*shape.props, "maxTasksPerNode"))),
        task_scheduling=fill if isinstance(fill, str) else None,
        vm_size=vm_size if isinstance(vm_size, str) else None,
        pool_id=pool_id if isinstance(pool_id, str) else None,
        target_dedicated=_int_or_none(get(data, shape.path("dedicated"))),
        target_low_priority=_int_or_none(get(data, shape.path("lowPriority"))),
        origin=loc.string_map if loc is not None else None,
        formula_json_path=formula_path if text is not None else None,
    )


def is_spec_data(data: Any) -> bool:
    return isinstance(data, dict) and "batchspec" in data


def load_pool_formula(path: Path) -> PoolFormula:
    """The formula and pool facts of ``path`` (``.formula``, pool JSON/YAML, or a batchspec spec).

    Raises BatchspecError (exit 2) with a positioned message when the file cannot be read or is not a pool.
    """
    path = Path(path)
    if path.is_dir():  # a project folder holding batchspec.yaml
        from batchspec.spec.project import find_spec, pool_formula_from_spec

        return pool_formula_from_spec(find_spec(path), env=None)
    text = read_text(path)
    if path.suffix.lower() == ".formula":
        return PoolFormula(text=text, path=str(path))
    doc = load_text(str(path), text)
    if is_spec_data(doc.data):
        from batchspec.spec.project import pool_formula_from_spec

        return pool_formula_from_spec(path, env=None)
    return pool_formula_from_document(doc)
