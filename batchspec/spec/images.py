"""Marketplace images -> the Batch node agent SKU that runs on them (for deriving and checking nodeAgentSkuId).

Only well-known images are listed; an unknown image is never an error (the service's "list supported images" call
is the authority and needs a login, so ``validate`` cannot make it).
"""

from __future__ import annotations

import re
from typing import Any


def node_agent_for(image: Any) -> str | None:
    if not isinstance(image, dict):
        return None
    publisher = str(image.get("publisher", "")).lower()
    offer = str(image.get("offer", "")).lower()
    sku = str(image.get("sku", "")).lower()
    if not publisher:
        return None
    if publisher == "microsoftwindowsserver" or (publisher == "microsoft-azure-batch" and "windows" in offer):
        return "batch.node.windows amd64"
    text = f"{offer} {sku}"
    if "ubuntu" in text or publisher == "canonical":
        for pattern, version in (
            (r"24[_.-]?04|noble", "24.04"),
            (r"22[_.-]?04|jammy", "22.04"),
            (r"20[_.-]?04|focal", "20.04"),
            (r"18[_.-]?04|bionic", "18.04"),
        ):
            if re.search(pattern, text):
                return f"batch.node.ubuntu {version}"
        return None
    if publisher in (
        "almalinux",
        "resf",
        "erockyenterprisesoftwarefoundationinc1653071250513",
        "openlogic",
        "redhat",
    ):
        m = re.search(r"(?<!\d)(8|9)(?!\d)", sku) or re.search(r"(?<!\d)(8|9)(?:[_.-]|$)", offer)
        return f"batch.node.el {m.group(1)}" if m else None
    if publisher == "debian":
        m = re.search(r"debian-(\d+)", offer) or re.search(r"^(\d+)", sku)
        return f"batch.node.debian {m.group(1)}" if m else None
    if publisher == "microsoft-azure-batch" and "centos" in offer:
        return "batch.node.centos 7"
    return None
