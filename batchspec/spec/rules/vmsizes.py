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
# Families whose size number is the vCPU count: D/E from v3 on, A from v2 on, L from v2 on, and F, B, M in every
# version. The older D v1/v2 and A v1 numbers are not vCPU counts (D3_v2 has 4, D11_v2 has 2): listed explicitly.
_FAMILY = re.compile(r"^(?P<family>dc|ec|d|e|f|a|b|l|m)(?P<n>\d+)(?:-(?P<active>\d+))?[a-z]*(?:_v(?P<v>\d+))?$")
_FROM_VERSION = {"d": 3, "e": 3, "dc": 2, "ec": 5, "a": 2, "l": 2, "f": 1, "b": 1, "m": 1}
_OLDER = {
    # A v1 (basic/standard), D v1, D v2 and their DS variants
    "a0": 1, "a1": 1, "a2": 2, "a3": 4, "a4": 8, "a5": 2, "a6": 4, "a7": 8, "a8": 8, "a9": 16, "a10": 8, "a11": 16,
    "d1": 1, "d2": 2, "d3": 4, "d4": 8, "d11": 2, "d12": 4, "d13": 8, "d14": 16,
    "d1_v2": 1, "d2_v2": 2, "d3_v2": 4, "d4_v2": 8, "d5_v2": 16, "d11_v2": 2, "d12_v2": 4, "d13_v2": 8,
    "d14_v2": 16, "d15_v2": 20,
    "ds1": 1, "ds2": 2, "ds3": 4, "ds4": 8, "ds11": 2, "ds12": 4, "ds13": 8, "ds14": 16,
    "ds1_v2": 1, "ds2_v2": 2, "ds3_v2": 4, "ds4_v2": 8, "ds5_v2": 16, "ds11_v2": 2, "ds12_v2": 4, "ds13_v2": 8,
    "ds14_v2": 16, "ds15_v2": 20,
}


def vcpus(vm_size: str | None) -> int | None:
    if not isinstance(vm_size, str):
        return None
    name = vm_size.strip().lower()
    name = name[len("standard_") :] if name.startswith("standard_") else name
    if name in _EXPLICIT:
        return _EXPLICIT[name]
    if name in _OLDER:
        return _OLDER[name]
    if name.startswith(("nc", "nd", "nv", "hb", "hc", "hx", "np")):
        return None
    m = _FAMILY.match(name)
    if not m:
        return None
    version = int(m.group("v") or 1)
    if version < _FROM_VERSION[m.group("family")]:
        return None  # an older generation whose number is not the vCPU count, and not in the table: unknown
    return int(m.group("active") or m.group("n"))
