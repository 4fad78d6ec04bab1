"""DuckDB's memory limit as a share of this machine (or its container), declared once for
dbt's connections (WSE_DUCKDB_MEMORY_LIMIT, src/wse_impact/dbt_plugin.py) and for the Great
Expectations suites (WSE_VALIDATE_MEMORY_LIMIT, src/wse_impact/quality.py).

A fixed amount does not scale: at scale 10 the panel ran out of a 5 GB limit on a 24 GB
machine. A setting is a share ("40%") or an amount DuckDB reads as it is ("6GB").
"""

from __future__ import annotations

import os
import re


def machine_memory_bytes() -> int:
    """Physical memory, or the cgroup's limit when it is lower (a container)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total


def memory_limit(setting: str) -> str:
    """DuckDB's memory_limit for a setting like "40%" (of this machine) or "6GB" (as is)."""
    setting = setting.strip()
    share = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", setting)
    if share:
        return f"{int(machine_memory_bytes() * float(share.group(1)) / 100 / 2**20)}MiB"
    return setting
