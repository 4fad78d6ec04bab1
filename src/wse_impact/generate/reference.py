"""What the generator reads from the project itself: seeds, source schemas, staging names.

The layout of the landing files is declared once, in the dbt source ymls; the codes come from
the seeds. The generator reads both here, so that a change there reaches the synthetic data
(or fails loudly here) instead of drifting apart.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from wse_impact.landing.delimited import LINEAGE_COLUMNS

PROJECT_DIR = Path(__file__).resolve().parents[3]
SEEDS_DIR = PROJECT_DIR / "seeds"
WSE_STAGING_DIR = PROJECT_DIR / "models" / "staging" / "wse"
DWH_STAGING_DIR = PROJECT_DIR / "models" / "staging" / "dwh"

FIRST_YEAR = 2014
N_QUARTERS = 36  # 2014Q1 .. 2022Q4
QUARTER_LABELS = [f"{FIRST_YEAR + q // 4}Q{q % 4 + 1}" for q in range(N_QUARTERS)]
FLEMISH, WALLOON, BRUSSELS = "02000", "03000", "04000"
ABSENT_POSITION = "0.0"  # marks "not in the register" downstream: never generated


def quarter_start(q: np.ndarray | int) -> np.ndarray:
    """First day of quarter index q (0 = 2014Q1) as datetime64[D]; q may lie outside 0..35."""
    q = np.asarray(q, dtype=np.int64)
    months = (FIRST_YEAR - 1970) * 12 + 3 * q
    return months.astype("datetime64[M]").astype("datetime64[D]")


def quarter_end(q: np.ndarray | int) -> np.ndarray:
    """Last day of quarter index q as datetime64[D]."""
    return quarter_start(np.asarray(q, dtype=np.int64) + 1) - np.timedelta64(1, "D")


def quarter_of(dates: np.ndarray) -> np.ndarray:
    """Quarter index (0 = 2014Q1) of datetime64 dates."""
    months = np.asarray(dates, dtype="datetime64[M]").astype(np.int64) - (FIRST_YEAR - 1970) * 12
    return np.floor_divide(months, 3)


def read_seed(name: str) -> list[dict[str, str]]:
    """A seed CSV as a list of rows (every value a string, as dbt would read it with quoting)."""
    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _column(rows: list[dict[str, str]], key: str) -> list[str]:
    return [r[key] for r in rows]


@dataclass(frozen=True)
class MeasureColumn:
    name: str          # Dutch column name in the extract
    description: str
    attribute: str | None  # English staging name of a code column (None for non-code columns)


@dataclass
class Reference:
    """Seeds and source schemas, loaded once."""

    measures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.measures = _column(read_seed("measures"), "measure_code")

    # ----- measure extracts ------------------------------------------------------------
    @cached_property
    def wse_sources(self) -> dict[str, list[dict]]:
        doc = yaml.safe_load((WSE_STAGING_DIR / "_wse__sources.yml").read_text(encoding="utf-8"))
        (source,) = [s for s in doc["sources"] if s["name"] == "wse"]
        # the delivered columns: without those the project's reader adds (file, line, damage)
        return {t["name"]: [c for c in t["columns"] if c["name"] not in LINEAGE_COLUMNS] for t in source["tables"]}

    def measure_columns(self, measure: str) -> list[MeasureColumn]:
        """The columns of a measure's extract, in order, with the staging attribute of code columns."""
        sql = (WSE_STAGING_DIR / f"stg_wse__{measure}.sql").read_text(encoding="utf-8")
        codes = dict(re.findall(r"\btrim\((\w+)\)\s+as\s+(\w+)", sql))
        columns = self.wse_sources[measure]
        if not columns or columns[0]["name"] != "insz":
            raise ValueError(f"source wse.{measure}: the first column must be insz")
        return [
            MeasureColumn(c["name"], c.get("description", ""), codes.get(c["name"]) if c["name"] != "insz" else None)
            for c in columns
        ]

    @cached_property
    def measure_codes(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for r in read_seed("measure_codes"):
            out.setdefault((r["measure_code"], r["attribute"]), []).append(r["code"])
        return out

    # ----- warehouse snapshots -----------------------------------------------------------
    @cached_property
    def snapshot_columns(self) -> list[tuple[str, str]]:
        """(name, data_type) of the snapshot parquet columns, in order (without the partition key)."""
        doc = yaml.safe_load((DWH_STAGING_DIR / "_dwh__sources.yml").read_text(encoding="utf-8"))
        (source,) = [s for s in doc["sources"] if s["name"] == "dwh"]
        (table,) = [t for t in source["tables"] if t["name"] == "snapshots"]
        return [(c["name"], c["data_type"].lower()) for c in table["columns"] if c["name"] != "quarter"]

    @cached_property
    def snapshot_schema(self) -> pa.Schema:
        return pa.schema([pa.field(name, arrow_type(dt)) for name, dt in self.snapshot_columns])

    # ----- nomenclatures -------------------------------------------------------------------
    @cached_property
    def arrondissements(self) -> dict[str, np.ndarray]:
        rows = read_seed("arrondissements")
        region_of_province = {r["province_code"]: r["region_code"] for r in read_seed("provinces")}
        return {
            "code": np.array(_column(rows, "arrondissement_code")),
            "population": np.array([float(r["approx_population"]) for r in rows]),
            "region": np.array([region_of_province[r["province_code"]] for r in rows]),
        }

    def codes(self, seed: str, column: str) -> list[str]:
        return _column(read_seed(seed), column)

    @cached_property
    def socio_economic_positions(self) -> list[str]:
        return [c for c in self.codes("socio_economic_positions", "socio_economic_position_code") if c != ABSENT_POSITION]

    @cached_property
    def joint_committees(self) -> dict[str, str]:
        """joint committee code -> worker type (manual, white_collar, mixed, none)."""
        return {r["joint_committee_code"]: r["worker_type"] for r in read_seed("joint_committees")}

    @cached_property
    def nace_divisions(self) -> np.ndarray:
        """Every NACE division that lies inside a section's range."""
        divs: list[int] = []
        for r in read_seed("nace_sections"):
            divs.extend(range(int(r["first_division"]), int(r["last_division"]) + 1))
        return np.array(sorted(set(divs)))


def arrow_type(data_type: str) -> pa.DataType:
    """The pyarrow type of a dbt source data_type (varchar, date, integer, boolean, decimal(p,s))."""
    dt = data_type.strip().lower()
    m = re.fullmatch(r"decimal\((\d+)\s*,\s*(\d+)\)", dt)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    simple = {"varchar": pa.string(), "date": pa.date32(), "integer": pa.int32(), "boolean": pa.bool_(),
              "bigint": pa.int64()}
    if dt not in simple:
        raise ValueError(f"unsupported source data_type {data_type!r}")
    return simple[dt]
