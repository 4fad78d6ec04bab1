"""Settings, derived once: the environment variables, folders and file names the project
reads, the engine, and DuckDB's memory limits.

| variable | default | meaning |
|---|---|---|
| `WSE_LANDING_DIR` | `data/synthetic` | the landing files (read in place) |
| `WSE_WAREHOUSE_DIR` | `warehouse` | both DuckDB files, the Spark build, `disclosure/` |
| `WSE_EXPORT_DIR` | `exports` | released files, `exports/<date>/` |
| `ENGINE` | `duckdb` | which engine's build is read: duckdb or spark |
| `WSE_DUCKDB_MEMORY_LIMIT` | `auto` | DuckDB's memory limit for dbt |
| `WSE_VALIDATE_MEMORY_LIMIT` | `1GB` | DuckDB's memory limit for the Great Expectations suites |

A memory limit is a share of this machine or its container ("40%"), an amount DuckDB reads as
it is ("6GB"), or, for dbt, `auto`: sized to the delivery. The build's largest working sets
(the panel's per-person register, the employment window's join of each control person's
quarters) grow with the delivery, and anything above them only keeps blocks DuckDB has read
or written in memory. So `auto` is one and a half times the size of the warehouse snapshots
in the landing folder, at least 1.25 GB and at most 40 % of the machine (measured in issue 23:
1.25 GB at scale 1.0, 4.4 GB at scale 10).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# the dbt project this package is installed from (an editable install: the checkout)
PROJECT_DIR = Path(__file__).resolve().parents[2]

DEFAULT_LANDING_DIR = "data/synthetic"
DEFAULT_WAREHOUSE_DIR = "warehouse"
DEFAULT_EXPORT_DIR = "exports"
RESEARCH_DB = "wse_impact.duckdb"  # pseudonymised, classed: for researchers
RESTRICTED_DB = "restricted.duckdb"  # INSZ, exact values, quarantine, the INSZ -> person_id link
DISCLOSURE_SUBDIR = "disclosure"  # the review's restricted state, next to restricted.duckdb
ENGINES = ("duckdb", "spark")
DEFAULT_DUCKDB_MEMORY_LIMIT = "auto"
# `auto`: DuckDB's limit for dbt as a multiple of the snapshots' size, within these bounds
AUTO_MEMORY_PER_SNAPSHOT_BYTE = 1.5
AUTO_MEMORY_FLOOR_BYTES = 1.25 * 2**30
AUTO_MEMORY_CEILING = "40%"
DEFAULT_VALIDATE_MEMORY_LIMIT = "1GB"


class UnknownEngine(ValueError):
    """An engine name that is neither duckdb nor spark."""


def landing_dir() -> Path:
    return Path(os.environ.get("WSE_LANDING_DIR") or DEFAULT_LANDING_DIR)


def warehouse_dir(explicit: str | Path | None = None) -> Path:
    """`explicit`, else $WSE_WAREHOUSE_DIR, else warehouse."""
    return Path(explicit or os.environ.get("WSE_WAREHOUSE_DIR") or DEFAULT_WAREHOUSE_DIR)


def research_db_path(warehouse: str | Path | None = None) -> Path:
    return warehouse_dir(warehouse) / RESEARCH_DB


def restricted_db_path(warehouse: str | Path | None = None) -> Path:
    return warehouse_dir(warehouse) / RESTRICTED_DB


def restricted_dir_of(warehouse: str | Path | None = None) -> Path:
    """Where the review's restricted state lives: next to the restricted database, never in
    the export folder."""
    return warehouse_dir(warehouse) / DISCLOSURE_SUBDIR


def export_dir(explicit: str | Path | None = None) -> Path:
    """`explicit`, else $WSE_EXPORT_DIR, else exports."""
    return Path(explicit or os.environ.get("WSE_EXPORT_DIR") or DEFAULT_EXPORT_DIR)


def engine_name(engine: str | None = None) -> str:
    """The engine whose build is read: the argument, else $ENGINE, else duckdb."""
    name = (engine or os.environ.get("ENGINE") or "duckdb").lower()
    if name not in ENGINES:
        raise UnknownEngine(f"unknown engine {name!r}: duckdb or spark")
    return name

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


def share_of_machine_bytes(setting: str) -> float | None:
    """Bytes for a share like "40%" of this machine; None when the setting is not a share."""
    share = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", setting.strip())
    return machine_memory_bytes() * float(share.group(1)) / 100 if share else None


def memory_limit(setting: str) -> str:
    """DuckDB's memory_limit for a setting like "40%" (of this machine) or "6GB" (as is)."""
    share = share_of_machine_bytes(setting)
    return f"{int(share / 2**20)}MiB" if share is not None else setting.strip()


def snapshot_bytes(landing: Path | None = None) -> int:
    """The size of the warehouse snapshots (parquet) in the landing folder."""
    snapshots = (landing or landing_dir()) / "dwh" / "snapshots"
    return sum(path.stat().st_size for path in snapshots.rglob("*.parquet") if path.is_file())


def auto_memory_limit(landing: Path | None = None) -> str:
    """`auto`: 1.5 x the snapshots' size, at least 1.25 GB, at most 40 % of the machine."""
    ceiling = share_of_machine_bytes(AUTO_MEMORY_CEILING)
    wanted = max(AUTO_MEMORY_FLOOR_BYTES, AUTO_MEMORY_PER_SNAPSHOT_BYTE * snapshot_bytes(landing))
    return f"{int(min(wanted, ceiling) / 2**20)}MiB"


def duckdb_memory_limit(setting: str | None = None) -> str:
    """DuckDB's memory_limit for dbt: WSE_DUCKDB_MEMORY_LIMIT, sized to the delivery by default."""
    setting = setting or os.environ.get("WSE_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT
    if setting.strip().lower() == "auto":
        return auto_memory_limit()
    return memory_limit(setting)


def validate_memory_limit(setting: str | None = None) -> str:
    """DuckDB's memory_limit while the Great Expectations suites run: WSE_VALIDATE_MEMORY_LIMIT."""
    return memory_limit(setting or os.environ.get("WSE_VALIDATE_MEMORY_LIMIT") or DEFAULT_VALIDATE_MEMORY_LIMIT)
