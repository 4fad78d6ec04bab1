"""The synthetic landing data: layout, determinism, valid INSZ, sizes and realism (issue 2)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from wse_impact.landing.delimited import LINEAGE_COLUMNS
from wse_impact.generate import MANIFEST, generate_landing
from wse_impact.landing.insz import generate_insz, is_valid_insz

PROJECT_DIR = Path(__file__).resolve().parents[2]
SEEDS = PROJECT_DIR / "seeds"
SCALE = 0.02   # 3,000 beneficiaries, 2,160 control persons: sizes round well within 5 %
SEED = int(os.environ.get("WSE_GENERATE_TEST_SEED", "4242"))  # other seeds: the same properties hold
SPEC_MEASURE_ROWS = {
    "maatwerk": 24_000, "lokale_diensteneconomie": 2_400, "arbeidsmatige_activiteiten": 1_650,
    "vlaams_opleidingsverlof": 20_000, "doelgroepvermindering": 30_000, "vop": 18_000, "duaal_leren": 10_000,
    "opleidingscheques": 12_000, "startbonus_stagebonus": 8_000, "aanmoedigingspremie": 8_000,
    "betaald_educatief_verlof": 6_000, "aanwervingsincentive": 4_000, "vlaams_zorgkrediet": 3_000,
    "outreach_activering": 3_000, "amif": 2_500, "transitiepremie": 2_000,
}
QUARTER_RE = re.compile(r"^20(1[4-9]|2[0-2])Q[1-4]$")
ACTIVATION = ("maatwerk", "lokale_diensteneconomie", "outreach_activering", "amif")


def seed_rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def seed_codes(name: str, column: str) -> set[str]:
    return {r[column] for r in seed_rows(name)}


def source_columns(system: str, table: str) -> list[dict]:
    doc = yaml.safe_load((PROJECT_DIR / "models" / "staging" / system / f"_{system}__sources.yml").read_text())
    (source,) = doc["sources"]
    (t,) = [t for t in source["tables"] if t["name"] == table]
    return [c for c in t["columns"] if c["name"] not in LINEAGE_COLUMNS]


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=";")
        return list(reader.fieldnames or []), list(reader)


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen_a")
    generate_landing(out=out, scale=SCALE, seed=SEED, if_missing=False, progress=False)
    return out


@pytest.fixture(scope="module")
def db(landing) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"""create view snapshots as select * from read_parquet(
        '{landing}/dwh/snapshots/quarter=*/*.parquet', hive_partitioning = true, hive_types = {{'quarter': varchar}})""")
    con.execute(f"create view control as select * from read_csv('{landing}/dwh/control_sample.csv', "
                "delim=';', header=true, all_varchar=true)")
    measures = [r["measure_code"] for r in seed_rows("measures")]
    for m in measures:
        con.execute(f"create view m_{m} as select * from read_csv('{landing}/measures/{m}.csv', "
                    "delim=';', header=true, all_varchar=true)")
    con.execute("create view beneficiaries as " + " union ".join(f"select insz from m_{m}" for m in measures))
    region = {r["province_code"]: r["region_code"] for r in seed_rows("provinces")}
    con.execute("create table arr as select * from (values " + ", ".join(
        f"('{r['arrondissement_code']}', '{region[r['province_code']]}')" for r in seed_rows("arrondissements"))
        + ") as t(code, region)")
    con.execute("""create view panel as select s.*, a.region,
        cast(substr(s.quarter, 1, 4) as integer) * 4 + cast(substr(s.quarter, 6, 1) as integer) - 1 as q,
        s.socio_economische_positie like '1.%' as employed
        from snapshots as s left join arr as a on a.code = s.nis_arrondissement""")
    return con


# ----- INSZ ------------------------------------------------------------------------------------------
def test_is_valid_insz_accepts_the_rule_and_rejects_the_rest():
    first9 = 850730033
    assert is_valid_insz(f"{first9}{97 - first9 % 97:02d}")
    first9_2000 = 10203004
    assert is_valid_insz(f"{first9_2000:09d}{97 - (2_000_000_000 + first9_2000) % 97:02d}")
    good = f"{first9}{97 - first9 % 97:02d}"
    wrong_check = good[:9] + f"{(int(good[9:]) % 97) + 1:02d}"
    for bad in (wrong_check, good[:10], good + "0", "8507300A328", "851330033" + good[9:], None, 85073003328):
        assert not is_valid_insz(bad), bad
    serial0 = 850730000
    assert not is_valid_insz(f"{serial0}{97 - serial0 % 97:02d}")  # serial 000


def test_generate_insz_is_unique_and_follows_sex_and_century():
    rng = np.random.default_rng(7)
    birth = np.datetime64("1990-01-01") + rng.integers(0, 6000, size=20_000).astype("timedelta64[D]")
    male = rng.random(20_000) < 0.5
    insz = generate_insz(birth, male, rng, bis_share=0.05)
    assert len(set(insz.tolist())) == insz.size
    assert all(is_valid_insz(s) for s in insz)
    serial = np.array([int(s[6:9]) for s in insz])
    assert ((serial % 2 == 1) == male).all()
    months = np.array([int(s[2:4]) for s in insz])
    assert 0.03 < (months > 40).mean() < 0.07
    after_2000 = birth >= np.datetime64("2000-01-01")
    cc = np.array([int(s[9:]) for s in insz])
    base = np.array([int(s[:9]) for s in insz]) + np.where(after_2000, 2_000_000_000, 0)
    assert (cc == 97 - base % 97).all()


def test_every_insz_valid_and_traits_fixed_per_person(landing, db):
    people = db.sql("""select insz, count(distinct geboortedatum) as n_birth, count(distinct geslacht) as n_sex,
                       any_value(geboortedatum) as birth, any_value(geslacht) as sex from snapshots group by insz""").fetchall()
    assert people and all(n_birth == 1 and n_sex == 1 for _, n_birth, n_sex, _, _ in people)
    bis = 0
    for insz, _, _, birth, sex in people:
        assert is_valid_insz(insz), insz
        month = int(insz[2:4])
        bis += month > 40
        assert (month - 40 if month > 40 else month) == birth.month and int(insz[4:6]) == birth.day
        assert insz[:2] == f"{birth.year % 100:02d}"
        assert (int(insz[6:9]) % 2 == 1) == (sex == "M")
        base = int(insz[:9]) + (2_000_000_000 if birth.year >= 2000 else 0)
        assert int(insz[9:]) == 97 - base % 97
    assert 0.002 < bis / len(people) < 0.05
    snapshot_persons = {p[0] for p in people}
    listed = [r[0] for r in db.sql("select insz from control").fetchall()]
    assert len(listed) == len(set(listed)) and set(listed) <= snapshot_persons
    for m in SPEC_MEASURE_ROWS:
        rows = [r[0] for r in db.sql(f"select insz from m_{m}").fetchall()]
        assert len(rows) == len(set(rows)), f"{m}: one row per beneficiary"
        assert set(rows) <= snapshot_persons and all(is_valid_insz(s) for s in rows)
    # every person of the study is a beneficiary or in the control group
    everyone = set(listed) | {r[0] for r in db.sql("select insz from beneficiaries").fetchall()}
    assert everyone == snapshot_persons


# ----- determinism -----------------------------------------------------------------------------------------
def test_same_seed_gives_identical_bytes(landing, tmp_path):
    generate_landing(out=tmp_path, scale=SCALE, seed=SEED, if_missing=False, progress=False)
    a, b = digests(landing), digests(tmp_path)
    assert len(a) == 16 + 36 + 2 and a == b


def test_other_seed_gives_different_files(landing, tmp_path):
    generate_landing(out=tmp_path, scale=SCALE, seed=SEED + 1, if_missing=False, progress=False)
    a, b = digests(landing), digests(tmp_path)
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a), [k for k in a if a[k] == b[k]]


# ----- layout ---------------------------------------------------------------------------------------------
def test_headers_equal_the_source_columns(landing):
    for m in SPEC_MEASURE_ROWS:
        first_line = (landing / "measures" / f"{m}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert first_line == ";".join(c["name"] for c in source_columns("wse", m))
    assert (landing / "dwh" / "control_sample.csv").read_text().split("\n", 1)[0] == "insz"
    expected = [(c["name"], c["data_type"]) for c in source_columns("dwh", "snapshots") if c["name"] != "quarter"]
    arrow_names = {"string": "varchar", "date32[day]": "date", "int32": "integer", "bool": "boolean"}
    partitions = sorted((landing / "dwh" / "snapshots").iterdir())
    assert [p.name for p in partitions] == [f"quarter={y}Q{q}" for y in range(2014, 2023) for q in range(1, 5)]
    for part in partitions:
        assert [p.name for p in part.iterdir()] == ["part-0.parquet"]
    schema = pq.read_schema(partitions[0] / "part-0.parquet")
    got = [(f.name, arrow_names.get(str(f.type), str(f.type).replace("decimal128", "decimal").replace(", ", ","))) for f in schema]
    assert got == expected


def test_manifest_counts_rows(landing, db):
    manifest = json.loads((landing / MANIFEST).read_text())
    assert (manifest["scale"], manifest["seed"]) == (SCALE, SEED) and manifest["generator_version"]
    for m in SPEC_MEASURE_ROWS:
        assert manifest["files"][f"measures/{m}.csv"] == len(read_csv(landing / "measures" / f"{m}.csv")[1])
    assert manifest["rows"]["snapshots"] == db.sql("select count(*) from snapshots").fetchone()[0]


# ----- sizes ----------------------------------------------------------------------------------------------
def test_sizes_within_5_percent_of_spec(db):
    for m, rows in SPEC_MEASURE_ROWS.items():
        got = db.sql(f"select count(*) from m_{m}").fetchone()[0]
        assert abs(got - rows * SCALE) <= 0.05 * rows * SCALE, (m, got, rows * SCALE)
    beneficiaries = db.sql("select count(*) from beneficiaries").fetchone()[0]
    assert abs(beneficiaries - 150_000 * SCALE) <= 0.05 * 150_000 * SCALE
    total_rows = sum(db.sql(f"select count(*) from m_{m}").fetchone()[0] for m in SPEC_MEASURE_ROWS)
    assert 1.05 <= total_rows / beneficiaries <= 1.09  # some persons in two or more measures
    control = db.sql("select count(*) from control").fetchone()[0]
    assert abs(control - 108_000 * SCALE) <= 0.05 * 108_000 * SCALE
    snapshot_rows = db.sql("select count(*) from snapshots").fetchone()[0]
    assert abs(snapshot_rows - 9_300_000 * SCALE) <= 0.05 * 9_300_000 * SCALE
    overlap = db.sql("select count(*) from control where insz in (select insz from beneficiaries)").fetchone()[0]
    assert 0.01 <= overlap / control <= 0.06


# ----- codes and domains ------------------------------------------------------------------------------------
def test_snapshot_codes_come_from_the_seeds(db):
    checks = {
        "geslacht": seed_codes("sexes", "sex_code"),
        "nis_arrondissement": seed_codes("arrondissements", "arrondissement_code"),
        "urbanisatiegraad": seed_codes("urbanisation_degrees", "urbanisation_code"),
        "herkomst": seed_codes("origin_groups", "origin_group_code"),
        "nationaliteit": seed_codes("origin_groups", "origin_group_code"),
        "geboorteland": seed_codes("origin_groups", "origin_group_code"),
        "onderwijsniveau": seed_codes("education_levels", "education_level_code"),
        "gezinstype": seed_codes("household_types", "household_type_code"),
        "paritair_comite": seed_codes("joint_committees", "joint_committee_code"),
        "arbeidsregime": seed_codes("work_regimes", "work_regime_code"),
        "werknemersklasse": seed_codes("employee_classes", "employee_class_code"),
        "dimensiecode_werkgever": seed_codes("employer_size_classes", "employer_size_code"),
        "socio_economische_positie": seed_codes("socio_economic_positions", "socio_economic_position_code") - {"0.0"},
        "bijkomende_positie": seed_codes("additional_positions", "additional_position_code"),
        "categorie_werkzoekende": seed_codes("job_seeker_categories", "job_seeker_category_code"),
    }
    for column, allowed in checks.items():
        values = {r[0] for r in db.sql(f"select distinct {column} from snapshots where {column} is not null").fetchall()}
        assert values and values <= allowed, (column, values - allowed)
    assert db.sql("select count(*) from snapshots where socio_economische_positie is null").fetchone()[0] == 0
    sections = [(int(r["first_division"]), int(r["last_division"])) for r in seed_rows("nace_sections")]
    nace = [r[0] for r in db.sql("select distinct nace_code from snapshots where nace_code is not null").fetchall()]
    assert nace and all(re.fullmatch(r"\d{5}", c) and any(lo <= int(c[:2]) <= hi for lo, hi in sections) for c in nace)


def test_measure_codes_and_formats(landing):
    codes: dict[tuple[str, str], set[str]] = {}
    for r in seed_rows("measure_codes"):
        codes.setdefault((r["measure_code"], r["attribute"]), set()).add(r["code"])
    for m in SPEC_MEASURE_ROWS:
        sql = (PROJECT_DIR / "models" / "staging" / "wse" / f"stg_wse__{m}.sql").read_text()
        attribute = dict(re.findall(r"trim\((\w+)\) as (\w+)", sql))
        _, rows = read_csv(landing / "measures" / f"{m}.csv")
        for c in source_columns("wse", m)[1:]:
            values = {r[c["name"]] for r in rows}
            desc = c["description"]
            if c["name"] in attribute:
                assert values <= codes[(m, attribute[c["name"]])], (m, c["name"])
            elif "YYYYQn" in desc:
                assert all(QUARTER_RE.match(v) for v in values), (m, c["name"])
            elif "euro" in desc or "decimal point" in desc:
                assert all(re.fullmatch(r"\d+\.\d\d", v) for v in values), (m, c["name"])
            elif "whole number" in desc:
                assert all(re.fullmatch(r"\d+", v) and int(v) >= 0 for v in values), (m, c["name"])
            elif "J or N" in desc:
                assert values <= {"J", "N"}, (m, c["name"])
            else:
                pytest.fail(f"{m}.{c['name']}: no format check for this column")


def test_measure_quarters_in_range_and_ordered(landing):
    for m in SPEC_MEASURE_ROWS:
        names = [c["name"] for c in source_columns("wse", m) if "YYYYQn" in c["description"]]
        _, rows = read_csv(landing / "measures" / f"{m}.csv")
        for r in rows:
            quarters = [r[n] for n in names]
            assert all(QUARTER_RE.match(q) for q in quarters)
            assert quarters == sorted(quarters), (m, quarters)  # the last is not before the first


def test_numeric_values_inside_the_class_domains(db):
    bounds: dict[str, tuple[float, float | None]] = {}
    for r in seed_rows("class_bounds"):
        lo = float(r["lower_bound"])
        hi = float(r["upper_bound"]) if r["upper_bound"] else None
        old = bounds.get(r["class_scheme"], (lo, hi))
        bounds[r["class_scheme"]] = (min(old[0], lo), None if hi is None or old[1] is None else max(old[1], hi))
    columns = {"brutoloon_kwartaal": "gross_quarterly_wage_eur", "dagloon": "daily_wage_eur",
               "gezinsinkomen": "household_income_eur", "dagen_tewerkstelling": "days_in_quarter",
               "afstand_woon_werk_km": "commute_distance_km", "percentage_arbeidsongeschiktheid": "incapacity_pct",
               "jaren_verblijf_belgie": "residence_years", "ancienniteit_kwartalen": "seniority_quarters"}
    for column, scheme in columns.items():
        lo, hi = bounds[scheme]
        mn, mx = db.sql(f"select min({column}), max({column}) from snapshots").fetchone()
        assert mn >= lo and (hi is None or mx < hi), (column, mn, mx, lo, hi)
    mn, mx = db.sql("select min(percentage_deeltijds), max(percentage_deeltijds) from snapshots").fetchone()
    assert 0 < mn and mx <= 100
    assert db.sql("select max(dagen_arbeidsongeschiktheid) from snapshots").fetchone()[0] <= 92


# ----- coherence of a snapshot row ------------------------------------------------------------------------------
def test_non_working_rows_have_no_employer(db):
    bad = db.sql("""select count(*) from snapshots where dagen_tewerkstelling = 0 and (
        nace_code is not null or paritair_comite is not null or arbeidsregime is not null or werknemersklasse is not null
        or dimensiecode_werkgever is not null or afstand_woon_werk_km is not null or percentage_deeltijds is not null
        or dagloon <> 0 or brutoloon_kwartaal <> 0)""").fetchone()[0]
    assert bad == 0
    salaried_without = db.sql("""select count(*) from snapshots where socio_economische_positie in ('1.1', '1.4')
        and (dagen_tewerkstelling = 0 or nace_code is null or paritair_comite is null)""").fetchone()[0]
    assert salaried_without == 0
    assert db.sql("select count(*) from snapshots where socio_economische_positie not in ('1.1', '1.4') "
                  "and dagen_tewerkstelling > 0").fetchone()[0] == 0


def test_employee_class_fits_joint_committee_and_sector(db):
    kind = {r["joint_committee_code"]: r["worker_type"] for r in seed_rows("joint_committees")}
    combos = db.sql("""select werknemersklasse, paritair_comite, substr(nace_code, 1, 2), count(*)
                       from snapshots where werknemersklasse is not null group by all""").fetchall()
    for cls, jc, division, _ in combos:
        if cls == "3" or jc == "000":
            assert cls == "3" and jc == "000" and division in ("84", "85"), (cls, jc, division)
        elif cls == "1":
            assert kind[jc] in ("manual", "mixed"), (cls, jc)
        elif cls == "2":
            assert kind[jc] in ("white_collar", "mixed"), (cls, jc)
    assert {c[1] for c in combos if c[0] == "1"} & {j for j, k in kind.items() if k == "manual"}


def test_wages_fit_days_and_regime(db):
    off = db.sql("""select avg(abs(dagloon * dagen_tewerkstelling - brutoloon_kwartaal) / brutoloon_kwartaal)
                    from snapshots where dagen_tewerkstelling > 0""").fetchone()[0]
    assert off < 0.03
    days = dict(db.sql("""select arbeidsregime, avg(dagen_tewerkstelling) from snapshots
                          where arbeidsregime in ('F', 'P') group by 1""").fetchall())
    assert days["P"] < 0.8 * days["F"]
    pct = dict(db.sql("""select arbeidsregime, max(percentage_deeltijds) from snapshots
                         where arbeidsregime in ('F', 'P') group by 1""").fetchall())
    assert pct["P"] < 100 and pct["F"] == 100


# ----- who the persons are ---------------------------------------------------------------------------------------
def test_beneficiaries_mostly_flemish_control_all_of_belgium(db):
    def shares(group: str) -> dict[str, float]:
        rows = db.sql(f"""select region, count(*) / sum(count(*)) over () from (
            select insz, arg_min(region, q) as region from panel group by insz) where insz in ({group}) group by 1""").fetchall()
        return dict(rows)
    benef = shares("select insz from beneficiaries")
    assert benef["02000"] > 0.8
    control = shares("select insz from control")
    assert 0.45 < control["02000"] < 0.72 and control["03000"] > 0.2 and control["04000"] > 0.05


def test_ages_plausible_and_ageing(db):
    age = db.sql("""select avg(case when date_diff('year', geboortedatum, make_date(2018, 6, 30)) between 15 and 66
                    then 1 else 0 end) from panel where quarter = '2018Q2'""").fetchone()[0]
    assert age > 0.85
    # residence years never fall and grow by about one a year
    bad = db.sql("""select count(*) from (select jaren_verblijf_belgie - lag(jaren_verblijf_belgie) over w as d,
                    q - lag(q) over w as dq from panel window w as (partition by insz order by q))
                    where dq = 1 and d not in (0, 1)""").fetchone()[0]
    assert bad == 0
    growth = db.sql("""select avg(last - first) / avg(n - 1) * 4 from (select insz, count(*) as n,
                       arg_max(jaren_verblijf_belgie, q) as last, arg_min(jaren_verblijf_belgie, q) as first
                       from panel group by insz having count(*) > 8)""").fetchone()[0]
    assert 0.9 < growth < 1.1


def test_measures_fit_the_ages(db):
    def ages(m: str, quarter_col: str, where: str = "true") -> list[float]:
        return [r[0] for r in db.sql(f"""select date_diff('day', s.geboortedatum,
                make_date(cast(substr(m.{quarter_col}, 1, 4) as int), cast(substr(m.{quarter_col}, 6, 1) as int) * 3 - 2, 1))
                / 365.25 from m_{m} as m join (select distinct insz, geboortedatum from snapshots) as s
                using (insz) where {where}""").fetchall()]
    duaal = ages("duaal_leren", "kwartaal_start_overeenkomst")
    assert duaal and min(duaal) >= 15 and max(duaal) < 25.5
    older = ages("doelgroepvermindering", "kwartaal_eerste_toekenning", "verminderingscode in ('6320', '6321')")
    assert older and min(older) >= 55
    young = ages("doelgroepvermindering", "kwartaal_eerste_toekenning", "verminderingscode in ('6300', '6301')")
    assert young and max(young) < 26


# ----- over time -----------------------------------------------------------------------------------------------------
def test_seniority_grows_with_the_same_employer(db):
    steps = dict(db.sql("""select step, count(*) from (
        select case when ancienniteit_kwartalen = prev + 1 then 'plus_one'
                    when ancienniteit_kwartalen = 1 then 'new_spell' else 'other' end as step
        from (select ancienniteit_kwartalen, paritair_comite, nace_code,
                     lag(ancienniteit_kwartalen) over w as prev, lag(nace_code) over w as prev_nace,
                     lag(dagen_tewerkstelling) over w as prev_days, q - lag(q) over w as dq, dagen_tewerkstelling
              from panel window w as (partition by insz order by q))
        where dq = 1 and dagen_tewerkstelling > 0 and prev_days > 0) group by 1""").fetchall())
    assert steps.get("other", 0) == 0
    assert steps["plus_one"] > 10 * steps["new_spell"] > 0
    # a new spell (seniority 1) after another one starts from 1; same spell keeps the sector
    changed = db.sql("""select count(*) from (select nace_code, lag(nace_code) over w as prev_nace,
                        ancienniteit_kwartalen as sen, q - lag(q) over w as dq from panel
                        window w as (partition by insz order by q))
                        where dq = 1 and sen > 1 and nace_code is distinct from prev_nace""").fetchone()[0]
    assert changed == 0


def test_employment_comes_in_spells(db):
    switch = db.sql("""select avg(case when employed <> prev then 1 else 0 end) from (
        select employed, lag(employed) over (partition by insz order by q) as prev from panel) where prev is not null""").fetchone()[0]
    assert 0.01 < switch < 0.12  # far fewer switches than independent quarters would give


def test_some_persons_absent_in_some_quarters(db):
    n, absent, late, early = db.sql("""select count(*), avg(case when n < 36 then 1 else 0 end),
        sum(case when first_q > 0 then 1 else 0 end), sum(case when last_q < 35 then 1 else 0 end)
        from (select insz, count(*) as n, min(q) - 2014 * 4 as first_q, max(q) - 2014 * 4 as last_q
              from panel group by insz)""").fetchone()
    assert 0.01 < absent < 0.12 and late > 0 and early > 0
    gaps = db.sql("""select count(*) from (select insz, max(q) - min(q) + 1 - count(*) as gap from panel group by insz)
                     where gap <> 0""").fetchone()[0]
    assert gaps == 0  # in the register from arrival to departure


def _employment_before_after(db, measure: str, start_col: str) -> tuple[float, float]:
    return db.sql(f"""select avg(case when p.q < m.start then p.employed::int end),
                             avg(case when p.q > m.start + 1 then p.employed::int end)
        from panel as p join (select insz, cast(substr({start_col}, 1, 4) as int) * 4
                              + cast(substr({start_col}, 6, 1) as int) - 1 as start from m_{measure}) as m using (insz)
        where date_diff('year', p.geboortedatum, make_date(cast(p.q / 4 as int), 6, 30)) between 18 and 59""").fetchone()


def test_employment_changes_after_the_measure_starts(db):
    for m, col in (("maatwerk", "kwartaal_eerste_ondersteuning"), ("outreach_activering", "kwartaal_start_traject"),
                   ("amif", "kwartaal_start_traject"), ("lokale_diensteneconomie", "kwartaal_eerste_ondersteuning")):
        before, after = _employment_before_after(db, m, col)
        assert after - before > 0.15, (m, before, after)
    before, after = _employment_before_after(db, "vlaams_opleidingsverlof", "kwartaal_goedkeuring_dossier")
    assert before > 0.7 and abs(after - before) < 0.15  # training leave: already at work


# ----- --if-missing and the manifest -------------------------------------------------------------------------------------
def test_if_missing_skips_when_the_manifest_matches(tmp_path):
    out = tmp_path / "landing"
    generate_landing(out=out, scale=0.005, seed=1, if_missing=True, progress=False)
    manifest = out / MANIFEST
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    generate_landing(out=out, scale=0.005, seed=1, if_missing=True, progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamp
    # another seed: regenerated; a file the generator did not write is left alone
    foreign = out / "measures" / "old_measure.csv"
    foreign.write_text("insz\n")
    generate_landing(out=out, scale=0.005, seed=2, if_missing=True, progress=False)
    assert json.loads(manifest.read_text())["seed"] == 2 and foreign.read_text() == "insz\n"
    # a file listed in the manifest is missing: regenerated
    (out / "measures" / "vop.csv").unlink()
    generate_landing(out=out, scale=0.005, seed=2, if_missing=True, progress=False)
    assert (out / "measures" / "vop.csv").is_file()


def test_an_interrupted_run_leaves_no_manifest(tmp_path, monkeypatch):
    out = tmp_path / "landing"
    generate_landing(out=out, scale=0.005, seed=1, if_missing=False, progress=False)
    import wse_impact.generate.panel as panel

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")
    monkeypatch.setattr(panel, "write_snapshots", boom)
    with pytest.raises(RuntimeError):
        generate_landing(out=out, scale=0.005, seed=2, if_missing=True, progress=False)
    assert not (out / MANIFEST).exists()
