"""Small hand-made landing sets for the bad-input tests (structural checks and quarantine).

The layout comes from the declared sources themselves (the `_*__sources.yml` files), so a
clean set stays valid when a column is added there; values are chosen per column from its
description (quarter, amount, whole number, J/N, code of the measure) and the seeds.
Every test starts from `write_clean_landing` and then breaks one thing.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import yaml

from wse_impact.landing.delimited import LINEAGE_COLUMNS

PROJECT_DIR = Path(__file__).resolve().parents[2]
STUDY_QUARTERS = [f"{y}Q{q}" for y in range(2014, 2023) for q in range(1, 5)]


def insz(birth: str, serial: int) -> str:
    """A valid INSZ for a birth date YYMMDD (1900s) and a serial 1..998."""
    nine = f"{birth}{serial:03d}"
    return f"{nine}{97 - int(nine) % 97:02d}"


# persons of the clean set: 4 beneficiaries, 3 control persons (one also a beneficiary)
BENEFICIARIES = [insz("850315", 21), insz("900102", 34), insz("781224", 101), insz("950607", 62)]
CONTROLS = [insz("880808", 15), insz("720229", 44), BENEFICIARIES[0]]
PERSONS = sorted(set(BENEFICIARIES + CONTROLS))


def declared_sources() -> dict[str, list[dict]]:
    """{'wse.vop': [column dicts], 'dwh.snapshots': [...], ...} from the sources yml."""
    out = {}
    for yml in sorted((PROJECT_DIR / "models").rglob("_*__sources.yml")):
        for source in yaml.safe_load(yml.read_text(encoding="utf-8"))["sources"]:
            for table in source["tables"]:
                # the delivered columns: not those the project's reader adds (file, line, damage)
                out[f"{source['name']}.{table['name']}"] = [c for c in table["columns"] if c["name"] not in LINEAGE_COLUMNS]
    return out


def measure_attribute_of(measure: str) -> dict[str, str]:
    """landing column -> staging attribute (`trim(type_toelage) as allowance_type`)."""
    sql = (PROJECT_DIR / "models" / "staging" / "wse" / f"stg_wse__{measure}.sql").read_text()
    return dict(re.findall(r"trim\((\w+)\)\s+as\s+(\w+)", sql))


def measure_codes() -> dict[tuple[str, str], list[str]]:
    codes: dict[tuple[str, str], list[str]] = {}
    with open(PROJECT_DIR / "seeds" / "measure_codes.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            codes.setdefault((row["measure_code"], row["attribute"]), []).append(row["code"])
    return codes


def measure_row(measure: str, columns: list[dict], person: str, index: int = 0) -> dict[str, str]:
    """A valid row of `measure` for `person`."""
    attributes = measure_attribute_of(measure)
    codes = measure_codes()
    row = {}
    for col in columns:
        name, desc = col["name"], col.get("description", "")
        if name == "insz":
            value = person
        elif "YYYYQn" in desc:
            # start-like quarters before end-like ones
            late = any(w in name for w in ("laatste", "einde", "afsluiting"))
            value = "2020Q3" if late else "2018Q2"
        elif "J or N" in desc:
            value = "J" if index % 2 else "N"
        elif "a code of this measure" in desc:
            value = codes[(measure, attributes[name])][index % len(codes[(measure, attributes[name])])]
        elif "percentage" in name:
            value = f"{80 - 20 * index:.2f}"
        elif "euro" in desc or "decimal point" in desc:
            value = f"{1250.5 + 100 * index:.2f}"
        elif "whole number" in desc:
            value = str(3 + index)
        else:
            raise ValueError(f"no hand-made value for {measure}.{name}: {desc}")
        row[name] = value
    return row


def write_measure(landing: Path, measure: str, rows: list[dict[str, str]], columns: list[str] | None = None,
                  delimiter: str = ";", encoding: str = "utf-8") -> Path:
    columns = columns or list(rows[0])
    path = landing / "measures" / f"{measure}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


SNAPSHOT_VALUES = {
    "geboortedatum": "date '1985-03-15'",
    "geslacht": "'M'",
    "nis_arrondissement": "'44000'",
    "urbanisatiegraad": "'1'",
    "herkomst": "'1'",
    "nationaliteit": "'1'",
    "geboorteland": "'1'",
    "jaren_verblijf_belgie": "30",
    "onderwijsniveau": "'2'",
    "lage_werkintensiteit": "false",
    "gezinstype": "'SING'",
    "gezinsinkomen": "8123.45",
    "ancienniteit_kwartalen": "12",
    "nace_code": "'62010'",
    "paritair_comite": "'200'",
    "arbeidsregime": "'F'",
    "dagen_tewerkstelling": "62",
    "kwartalen_tewerkstelling": "40",
    "percentage_deeltijds": "100.00",
    "werknemersklasse": "'2'",
    "zelfstandige": "false",
    "dimensiecode_werkgever": "'5'",
    "afstand_woon_werk_km": "12.50",
    "dagloon": "145.20",
    "brutoloon_kwartaal": "9001.00",
    "socio_economische_positie": "'1.1'",
    "bijkomende_positie": "'00'",
    "categorie_werkzoekende": "'00'",
    "erkende_invaliditeit": "false",
    "percentage_arbeidsongeschiktheid": "0",
    "dagen_arbeidsongeschiktheid": "0",
}


def snapshot_select(persons: list[str], overrides: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> str:
    """SQL selecting one snapshot row per person with the declared types (no `quarter`:
    it comes from the partition folder). `overrides` replace a column's SQL expression."""
    columns = declared_sources()["dwh.snapshots"]
    values = {**SNAPSHOT_VALUES, **(overrides or {})}
    items = []
    for col in columns:
        name = col["name"]
        if name == "quarter" or name in drop:
            continue
        expr = "p.insz" if name == "insz" else values[name]
        if name in (overrides or {}) and "cast(" in expr.lower():
            items.append(f"{expr} as {name}")
        else:
            items.append(f"cast({expr} as {col['data_type']}) as {name}")
    people = ", ".join(f"('{p}')" for p in persons)
    return f"select {', '.join(items)} from (values {people}) as p(insz)"


def write_snapshot(landing: Path, quarter: str, persons: list[str], overrides: dict[str, str] | None = None,
                   drop: tuple[str, ...] = (), file_name: str = "part-0.parquet") -> Path:
    folder = landing / "dwh" / "snapshots" / f"quarter={quarter}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    con = duckdb.connect()
    try:
        con.execute(f"copy ({snapshot_select(persons, overrides, drop)}) to '{path}' (format parquet)")
    finally:
        con.close()
    return path


def write_control_sample(landing: Path, persons: list[str]) -> Path:
    path = landing / "dwh" / "control_sample.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("insz\n" + "".join(f"{p}\n" for p in persons), encoding="utf-8")
    return path


def write_clean_landing(landing: Path, quarters: list[str] | None = None) -> Path:
    """A complete, valid landing set: 16 measures (one or two beneficiaries each), the
    snapshots of every person for `quarters` (default: all 36), the control sample."""
    sources = declared_sources()
    measures = [name.split(".", 1)[1] for name in sources if name.startswith("wse.")]
    for i, measure in enumerate(measures):
        columns = sources[f"wse.{measure}"]
        people = [BENEFICIARIES[i % len(BENEFICIARIES)], BENEFICIARIES[(i + 1) % len(BENEFICIARIES)]]
        write_measure(landing, measure, [measure_row(measure, columns, p, j) for j, p in enumerate(people)])
    for quarter in quarters or STUDY_QUARTERS:
        write_snapshot(landing, quarter, PERSONS)
    write_control_sample(landing, CONTROLS)
    return landing


def measure_names() -> list[str]:
    return [name.split(".", 1)[1] for name in declared_sources() if name.startswith("wse.")]
