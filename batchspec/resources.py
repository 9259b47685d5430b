"""Find the ``schemas/`` and ``templates/`` data folders in a wheel or in a checkout."""

from __future__ import annotations

import importlib.resources
from importlib.abc import Traversable
from pathlib import Path


def data_dir(name: str) -> Traversable:
    """``name`` is "schemas" or "templates"."""
    packaged = importlib.resources.files("batchspec") / name  # installed wheel (force-include)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name  # checkout or editable install
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"batchspec data folder {name!r} is missing; reinstall batchspec")
