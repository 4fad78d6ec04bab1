"""The persons behind every cell of an output: read from the output model's person-level
source, or handed over by a researcher's aggregate, and turned into the sets the release
compares (`person_sets.py`).

An output model declares its person-level source in its yml, `config.meta.persons`:
`model` (a view in schema `persons` of the research database, one row per cell and person:
the output's dimensions and `person_id`; never released) and, for a share, `attributes`
(share column -> boolean column: the persons with the attribute). Read from dbt's manifest
(`wse_impact.quality.Declarations`), or without one from the same yml (`manifest_from_yml`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyroaring import BitMap

from wse_impact.release.disclosure import OutputSpec, cell_key
from wse_impact.release.person_sets import PersonCell, bitmap_of

__all__ = ["OutputPersons", "PERSONS_SCHEMA", "person_sources", "read_output_persons", "published_person_cells",
           "count_mismatches"]

PERSONS_SCHEMA = "persons"
PERSON = "person_id"


@dataclass
class OutputPersons:
    """Per cell key the persons the cell counts; per cell key and share column the persons
    with the attribute (only where the share is a plain share of these persons)."""

    counts: dict[str, BitMap]
    attributes: dict[str, dict[str, BitMap]] = field(default_factory=dict)


def bitmaps_of_lists(column) -> list[BitMap]:
    """Each list of person_ids of an Arrow list column as a bitmap (without making a Python
    object of every person_id: at scale 1.0 a position table names 18 million)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    flat = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    ends = np.cumsum(lengths)
    return [bitmap_of(flat[end - length:end]) for end, length in zip(ends, lengths)]


def person_sources(names, manifest_path: str | Path | None = None) -> dict[str, dict]:
    """Each output's declared person-level source: {'model': ..., 'attributes': {...}}."""
    from wse_impact.quality import Declarations
    from wse_impact.release.domains import manifest_from_yml

    try:
        by_name = Declarations.load(manifest_path).by_name
    except FileNotFoundError:
        by_name = Declarations(manifest_from_yml()).by_name
    sources = {}
    for name in names:
        meta = ((by_name.get(name) or {}).get("config") or {}).get("meta") or {}
        declared = meta.get("persons") or {"model": f"{name}_persons"}
        sources[name] = {"model": declared["model"], "attributes": dict(declared.get("attributes") or {})}
    return sources


def read_output_persons(con, specs: dict[str, OutputSpec], manifest_path: str | Path | None = None,
                        catalog: str | None = None) -> dict[str, OutputPersons]:
    """The persons behind every cell of each output in `specs` whose person-level source is
    in the research database (an output without one is left out)."""
    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?"
        + (" and table_catalog = ?" if catalog else ""), [PERSONS_SCHEMA, *([catalog] if catalog else [])]).fetchall()}
    prefix = f'"{catalog}".' if catalog else ""
    found = {}
    for name, source in person_sources(specs, manifest_path).items():
        if source["model"] not in present:
            continue
        spec = specs[name]
        dims = ", ".join(f'"{d}"' for d in spec.dimensions)
        attributes = source["attributes"]
        extra = "".join(f', coalesce(list({PERSON}) filter (where "{column}"), []) as "with {share}", '
                        f'count("{column}") as "known {share}"' for share, column in attributes.items())
        # list, not list(distinct): the bitmap keeps each person once, without DuckDB hashing them
        cells = con.execute(f'select {dims}, list({PERSON}) as persons{extra} '
                            f'from {prefix}"{PERSONS_SCHEMA}"."{source["model"]}" group by {dims}').to_arrow_table()
        labels = cells.select(list(spec.dimensions)).to_pandas()
        sets = bitmaps_of_lists(cells.column("persons"))
        with_sets = {share: bitmaps_of_lists(cells.column(f"with {share}")) for share in attributes}
        known = {share: cells.column(f"known {share}").to_numpy() for share in attributes}
        counts, with_attribute = {}, {}
        for i, (_, row) in enumerate(labels.iterrows()):
            key = cell_key(spec, row)
            counts[key] = sets[i]
            for share in attributes:
                if known[share][i]:
                    with_attribute.setdefault(key, {})[share] = with_sets[share][i]
        found[name] = OutputPersons(counts, with_attribute)
    return found


def count_mismatches(name: str, spec: OutputSpec, table: pd.DataFrame, persons: OutputPersons) -> list[str]:
    """Cells whose count is not the number of persons behind them (or that have none)."""
    problems = []
    counts = pd.to_numeric(table[spec.count], errors="coerce")
    for (_, row), count in zip(table[list(spec.dimensions)].iterrows(), counts):
        key = cell_key(spec, row)
        behind = persons.counts.get(key)
        if pd.isna(count):
            continue
        if behind is None or len(behind) != count:
            problems.append(f"{name} cell {key}: counts {count:g} but its person-level source names "
                            f"{'no persons' if behind is None else len(behind)}")
            if len(problems) >= 5:
                break
    return problems


def published_person_cells(name: str, spec: OutputSpec, keys: list[str], published: pd.DataFrame | None,
                           persons: OutputPersons) -> list[PersonCell]:
    """The person sets of the cells of `name` that are published (not suppressed): each
    count, and of each published share the persons with and without the attribute."""
    cells: list[PersonCell] = []
    if published is None:
        return cells
    for i, key in enumerate(keys):
        behind = persons.counts.get(key)
        if behind is None or pd.isna(published.at[i, spec.count]):
            continue
        cells.append((f"{name} {key}", len(behind), behind))
        for share, with_attribute in persons.attributes.get(key, {}).items():
            if share in published.columns and not pd.isna(published.at[i, share]):
                without = behind - with_attribute
                cells.append((f"{name} {key} {share}: with the attribute", len(with_attribute), with_attribute))
                cells.append((f"{name} {key} {share}: without the attribute", len(without), without))
    return cells
