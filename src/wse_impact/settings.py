"""Settings, derived once: the environment variables, folders and file names the project
reads, the engine, and DuckDB's memory limits.

| variable | default | meaning |
|---|---|---|
| `WSE_LANDING_DIR` | `data/synthetic` | the landing files (read in place) |
| `WSE_WAREHOUSE_DIR` | `warehouse` | both DuckDB files, the Spark build, `disclosure/` |
| `WSE_EXPORT_DIR` | `exports` | released files, `exports/<date>/` |
| `ENGINE` | `duckdb` | which engine's build is read: duckdb or spark |
| `WSE_DUCKDB_MEMORY_LIMIT` | `40%` | DuckDB's memory limit for dbt |
| `WSE_VALIDATE_MEMORY_LIMIT` | `1GB` | DuckDB's memory limit for the Great Expectations suites |

Memory limits are a share of this machine (or its container) or an amount: a fixed amount
does not scale (at scale 10 the panel ran out of a 5 GB limit on a 24 GB machine). A setting
is a share ("40%") or an amount DuckDB reads as it is ("6GB").
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
DEFAULT_DUCKDB_MEMORY_LIMIT = "40%"
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


def memory_limit(setting: str) -> str:
    """DuckDB's memory_limit for a setting like "40%" (of this machine) or "6GB" (as is)."""
    setting = setting.strip()
    share = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", setting)
    if share:
        return f"{int(machine_memory_bytes() * float(share.group(1)) / 100 / 2**20)}MiB"
    return setting


def duckdb_memory_limit(setting: str | None = None) -> str:
    """DuckDB's memory_limit for dbt: WSE_DUCKDB_MEMORY_LIMIT, a share of the machine by default."""
    return memory_limit(setting or os.environ.get("WSE_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT)


def validate_memory_limit(setting: str | None = None) -> str:
    """DuckDB's memory_limit while the Great Expectations suites run: WSE_VALIDATE_MEMORY_LIMIT."""
    return memory_limit(setting or os.environ.get("WSE_VALIDATE_MEMORY_LIMIT") or DEFAULT_VALIDATE_MEMORY_LIMIT)
