"""vCPUs of common Azure VM sizes (for taskSlotsPerNode checks). Unknown sizes return None and are never errors.

D/E/F/A/B-series names carry their vCPU count (``Standard_D4s_v5`` = 4, constrained ``Standard_E32-8s_v5`` = 8);
GPU and HPC sizes are listed explicitly.
"""

from __future__ import annotations

import re

_EXPLICIT = {
    "nc6": 6,
    "nc12": 12,
    "nc24": 24,
    "nc24r": 24,
    "nc6s_v3": 6,
    "nc12s_v3": 12,
    "nc24s_v3": 24,
    "nc24rs_v3": 24,
    "nc4as_t4_v3": 4,
    "nc8as_t4_v3": 8,
    "nc16as_t4_v3": 16,
    "nc64as_t4_v3": 64,
    "nc24ads_a100_v4": 24,
    "nc48ads_a100_v4": 48,
    "nc96ads_a100_v4": 96,
    "nd40rs_v2": 40,
    "nd96asr_v4": 96,
    "nd96amsr_a100_v4": 96,
    "nv6": 6,
    "nv12": 12,
    "nv24": 24,
    "nv12s_v3": 12,
    "nv24s_v3": 24,
    "nv48s_v3": 48,
    "nv6ads_a10_v5": 6,
    "nv12ads_a10_v5": 12,
    "nv18ads_a10_v5": 18,
    "nv36ads_a10_v5": 36,
    "hb60rs": 60,
    "hb120rs_v2": 120,
    "hb120rs_v3": 120,
    "hb176rs_v4": 176,
    "hc44rs": 44,
    "hc44-16rs": 16,
    "b1s": 1,
    "b1ms": 1,
    "b2s": 2,
    "b2ms": 2,
    "b4ms": 4,
    "b8ms": 8,
    "b12ms": 12,
    "b16ms": 16,
    "b20ms": 20,
}
_FAMILY = re.compile(r"^(?:d|e|f|a|b|l|m|dc|ec)(\d+)(?:-(\d+))?[a-z]*(?:_v\d+)?$")


def vcpus(vm_size: str | None) -> int | None:
    if not isinstance(vm_size, str):
        return None
    name = vm_size.strip().lower()
    name = name[len("standard_") :] if name.startswith("standard_") else name
    if name in _EXPLICIT:
        return _EXPLICIT[name]
    if name.startswith(("nc", "nd", "nv", "hb", "hc", "hx", "np")):
        return None
    m = _FAMILY.match(name)
    if not m:
        return None
    return int(m.group(2) or m.group(1))
