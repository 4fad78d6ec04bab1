"""Issue 11: hand-made tables that defeat the former rule ("an additive group never holds
exactly one suppressed cell; the complement is the smallest published part"), each now
protected, with the audit's intervals asserted.

The former rule's release is written out by hand (the pattern it chose, described at each
test); the attacker is the audit itself (`audit_release`, integer programs over the released
values), which is what the export gate runs.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from wse_impact.release import protection
from wse_impact.release.disclosure import (
    DisclosureRules,
    Link,
    Magnitude,
    OutputSpec,
    audit_release,
    protect,
    ratio_step,
    rounding_interval,
)
from releases import export_outputs
from wse_impact.release.export import ExportRefused, published_table

T = 10
TODAY = date(2026, 6, 1)


def interval_of(audit, needle: str):
    [found] = [i for i in audit.intervals if needle in i.label]
    return found


def hide(table: pd.DataFrame, where: list[dict]) -> pd.DataFrame:
    """The table as a release shows it with the cells `where` suppressed (empty)."""
    table = table.copy()
    table["n_persons"] = table["n_persons"].astype("Int64")
    for cell in where:
        selected = np.ones(len(table), dtype=bool)
        for column, value in cell.items():
            selected &= (table[column] == value).to_numpy()
        assert selected.sum() == 1, cell
        table.loc[selected, "n_persons"] = pd.NA
    return table


def assert_protected(interval) -> None:
    assert interval.upper >= T and interval.width >= T, interval


# --- 1. a two-way table whose every line holds two suppressions, yet one cell is exact ----

def two_way_table() -> pd.DataFrame:
    inner = {("r1", "c1"): 3, ("r1", "c2"): 40, ("r1", "c3"): 50,
             ("r2", "c1"): 1, ("r2", "c2"): 1, ("r2", "c3"): 30,
             ("r3", "c1"): 30, ("r3", "c2"): 30, ("r3", "c3"): 30}
    rows = [(r, c, n) for (r, c), n in inner.items()]
    for r in ("r1", "r2", "r3"):
        rows.append((r, "Total", sum(n for (rr, _), n in inner.items() if rr == r)))
    for c in ("c1", "c2", "c3"):
        rows.append(("Total", c, sum(n for (_, cc), n in inner.items() if cc == c)))
    rows.append(("Total", "Total", sum(inner.values())))
    return pd.DataFrame(rows, columns=["row", "col", "n_persons"])


TWO_WAY = OutputSpec("two_way", ("row", "col"), additive=("row", "col"))


def test_two_way_table_with_two_suppressions_per_line_is_no_longer_solvable():
    table = two_way_table()
    release = protect({"two_way": table}, {"two_way": TWO_WAY})
    # the former rule: primaries (r1,c1)=3, (r2,c1)=1, (r2,c2)=1; row r1 held one, so its
    # smallest published part (r1,c2)=40 went too; now every row and column holds 0 or 2
    former = hide(table, [{"row": "r1", "col": "c1"}, {"row": "r2", "col": "c1"},
                          {"row": "r2", "col": "c2"}, {"row": "r1", "col": "c2"}])
    for dim, other in (("row", "col"), ("col", "row")):
        for _, line in former.groupby(other):
            assert line["n_persons"].isna().sum() in (0, 2)
    attacked = audit_release(release, {"two_way": former})
    # yet rows exist only with >= 1 person: (r2,c1) and (r2,c2) cannot move, so neither can (r1,c1)
    exact = interval_of(attacked, "'r1', 'col': 'c1'")
    assert (exact.lower, exact.upper) == (3, 3)
    assert not attacked.passed and any("'r1', 'col': 'c1'" in p for p in attacked.problems)

    # now: the pattern chosen by the program, and its audit
    assert release.audit.passed, release.audit.problems
    for cell in ("'r1', 'col': 'c1'", "'r2', 'col': 'c1'", "'r2', 'col': 'c2'"):
        assert_protected(interval_of(release.audit, cell))
    published = release.outputs["two_way"].table.set_index(["row", "col"])["n_persons"]
    assert published.isna()[("r1", "c1")] and published.isna().sum() > 4


def independent_attack(released: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """An attacker written apart from the audit: a two-way table with both margins, every
    row and column total the sum of its parts, hidden cells whole numbers >= 1; the smallest
    and largest value of each hidden inner cell by scipy's MILP."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    values = released.set_index(["row", "col"])["n_persons"]
    hidden = [key for key, v in values.items() if pd.isna(v)]
    index = {key: i for i, key in enumerate(hidden)}
    rows, lo = [], []
    for line in [("row", r) for r in ("r1", "r2", "r3", "Total")] + [("col", c) for c in ("c1", "c2", "c3", "Total")]:
        dim, value = line
        cells = [key for key in values.index if (key[0] if dim == "row" else key[1]) == value]
        total = [key for key in cells if (key[1] if dim == "row" else key[0]) == "Total"][0]
        coefficients = np.zeros(len(hidden))
        constant = 0.0
        for key in cells:
            sign = 1.0 if key == total else -1.0
            if key in index:
                coefficients[index[key]] += sign
            else:
                constant += sign * values[key]
        rows.append(coefficients)
        lo.append(-constant)
    constraint = LinearConstraint(np.array(rows), np.array(lo), np.array(lo))
    found = {}
    for key in hidden:
        c = np.zeros(len(hidden))
        c[index[key]] = 1.0
        ends = [milp(sign * c, integrality=np.ones(len(hidden)), bounds=Bounds(1, 1e6), constraints=constraint)
                for sign in (1.0, -1.0)]
        found[key] = (ends[0].fun, -ends[1].fun)
    return found


def test_two_way_table_release_withstands_an_independent_attacker():
    table = two_way_table()
    release = protect({"two_way": table}, {"two_way": TWO_WAY})
    former = hide(table, [{"row": "r1", "col": "c1"}, {"row": "r2", "col": "c1"},
                          {"row": "r2", "col": "c2"}, {"row": "r1", "col": "c2"}])
    assert independent_attack(former)[("r1", "c1")] == (3, 3)
    bounds = independent_attack(published_table(release.outputs["two_way"]))
    for key in (("r1", "c1"), ("r2", "c1"), ("r2", "c2")):
        lower, upper = bounds[key]
        assert upper >= T and upper - lower >= T, (key, bounds[key])
        assert (lower, upper) == (interval_of(release.audit, f"'{key[0]}', 'col': '{key[1]}'").lower,
                                  interval_of(release.audit, f"'{key[0]}', 'col': '{key[1]}'").upper)


# --- 2. three small cells in one group summing to less than the threshold ----------------

def provinces() -> pd.DataFrame:
    parts = {"p1": 3, "p2": 2, "p3": 3, "p4": 40, "p5": 52}
    rows = [("vop", p, n) for p, n in parts.items()] + [("vop", "Total", sum(parts.values()))]
    return pd.DataFrame(rows, columns=["measure_code", "province_code", "n_persons"])


BY_PROVINCE = OutputSpec("by_province", ("measure_code", "province_code"), additive=("province_code",))


def test_three_small_cells_no_longer_protect_each_other():
    table = provinces()
    release = protect({"by_province": table}, {"by_province": BY_PROVINCE})
    # the former rule: three suppressed cells in the group, so no complement
    former = hide(table, [{"province_code": p} for p in ("p1", "p2", "p3")])
    attacked = audit_release(release, {"by_province": former})
    union = interval_of(attacked, "sum of the suppressed parts")
    assert (union.lower, union.upper) == (8, 8)  # 100 - 40 - 52: a published cell of 8 persons
    for p in ("p1", "p2", "p3"):
        assert interval_of(attacked, f"'{p}'").upper <= 6

    assert release.audit.passed, release.audit.problems
    for p in ("p1", "p2", "p3"):
        assert_protected(interval_of(release.audit, f"'{p}'"))
    published = release.outputs["by_province"].table.set_index("province_code")["n_persons"]
    # one complement suffices, and the cheaper one (40 persons, not 52 or the Total) is chosen
    assert published.isna().to_dict() == {"p1": True, "p2": True, "p3": True, "p4": True, "p5": False,
                                          "Total": False}
    assert release.selection.optimal


# --- 3. a complement so small that the primary is pinned --------------------------------

def by_sex() -> pd.DataFrame:
    return pd.DataFrame({"measure_code": ["vop"] * 4, "sex_code": ["M", "F", "unknown", "Total"],
                         "n_persons": [3, 50, 10, 63]})


BY_SEX = OutputSpec("by_sex", ("measure_code", "sex_code"), additive=("sex_code",))


def test_a_small_complement_labelled_as_such_no_longer_pins_the_primary(tmp_path):
    table = by_sex()
    release = protect({"by_sex": table}, {"by_sex": BY_SEX})
    # the former rule hid M (3) and its smallest published part, unknown (10), and its
    # released report said which was which: a secondary cell is >= 10, so M <= 63 - 50 - 10
    system, t = release.system, T
    m = release.class_of("by_sex", 0)
    unknown = release.class_of("by_sex", 2)
    known = {release.class_of("by_sex", 1): (50.0, 50.0), release.class_of("by_sex", 3): (63.0, 63.0),
             unknown: (10.0, protection.ATTACKER_BIG)}  # the label "secondary": at least 10
    labelled = protection.audit(system, known, protection.sensitive_expressions(system, t), t)
    pinned = interval_of(labelled, "'M'")
    assert (pinned.lower, pinned.upper) == (1, 3)

    # now the same two cells are hidden (the cheapest protection) ...
    assert release.outputs["by_sex"].table["n_persons"].isna().tolist() == [True, False, True, False]
    # ... and what is released says nothing of which is the primary: from the files alone
    # M lies in [1, 12]
    assert release.audit.passed
    assert_protected(interval_of(release.audit, "'M'"))
    folder = export_outputs(tmp_path / "warehouse", tmp_path / "exports", today=TODAY,
                            outputs={"by_sex": table}, specs={"by_sex": BY_SEX}, links=()).folder
    released = (folder / "checking_report.json").read_text()
    assert "secondary\"" not in released.replace('"secondary": "complementary', "")
    assert '"M"' not in released and '"unknown"' not in released
    custodian = json.loads((tmp_path / "warehouse" / "disclosure" / "checking_reports" / "2026-06-01.json").read_text())
    rules = {s["cell"]["sex_code"]: s["rule"] for s in custodian["outputs"]["by_sex"]["suppressions"]}
    assert rules == {"M": "min_persons", "unknown": "secondary"}


def test_a_complement_pinned_by_a_union_bound_is_not_chosen():
    # measure_code is a union: Total's 'unknown' (11) <= the measures' 'unknown', and amif
    # has no 'unknown' row (0), so vop's unknown is at least 11 whatever is hidden
    rows = [("vop", "M", 3), ("vop", "F", 50), ("vop", "unknown", 11), ("vop", "Total", 64),
            ("amif", "M", 30), ("amif", "F", 25), ("amif", "Total", 55),
            ("Total", "M", 31), ("Total", "F", 70), ("Total", "unknown", 11), ("Total", "Total", 112)]
    table = pd.DataFrame(rows, columns=["measure_code", "sex_code", "n_persons"])
    spec = OutputSpec("t", ("measure_code", "sex_code"), additive=("sex_code",), union=("measure_code",))
    release = protect({"t": table}, {"t": spec})
    # the former rule: vop's M and its smallest published part, unknown (11)
    former = hide(table, [{"measure_code": "vop", "sex_code": "M"}, {"measure_code": "vop", "sex_code": "unknown"}])
    attacked = audit_release(release, {"t": former})
    pinned = interval_of(attacked, "'vop', 'sex_code': 'M'")
    assert (pinned.lower, pinned.upper) == (1, 3)  # 64 - 50 - (at least 11)

    assert release.audit.passed, release.audit.problems
    assert_protected(interval_of(release.audit, "'vop', 'sex_code': 'M'"))
    hidden = release.outputs["t"].table.set_index(["measure_code", "sex_code"])["n_persons"].isna()
    assert hidden[("vop", "M")] and not (hidden[("vop", "unknown")] and hidden.sum() == 2)


# --- 4. rounded counts recoverable from shares ------------------------------------------

def window_table(n: int = 1003) -> pd.DataFrame:
    employed = [517, 520, 523, 519, 498, 611, 640, 655, 660, 671, 668, 672, 690]
    return pd.DataFrame({
        "measure_code": "vop", "relative_quarter": range(-4, 9), "n_persons": n,
        "share_employed": [e / n for e in employed],
    })


WINDOW = OutputSpec("window", ("measure_code", "relative_quarter"), values=("share_employed",),
                    constant_over=("relative_quarter",))


def counts_consistent_with(count: float, shares: list[float], half_width: list[float], base: int) -> list[int]:
    """The attacker: every count the rounded count allows for which each published share is
    some whole number of persons divided by it, within the share's published precision."""
    lo, hi = rounding_interval(count, base, T)
    found = []
    for n in range(int(lo), int(hi) + 1):
        if all(any(abs(e / n - s) <= h + 1e-12 for e in (np.floor(s * n), np.ceil(s * n)) if 0 <= e <= n)
               for s, h in zip(shares, half_width)):
            found.append(n)
    return found


def six_digit_half_width(value: float) -> float:
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(value))) - 5) if value else 0.5e-6


def test_rounded_counts_are_not_recoverable_from_shares():
    table = window_table(1003)
    rules = DisclosureRules(rounding_base=5)
    # the former export: n_persons rounded to 1005, shares to 6 significant digits of the
    # true share: only one count fits all thirteen shares, the true one
    former_shares = [float(f"{v:.6g}") for v in table["share_employed"]]
    assert counts_consistent_with(1005, former_shares, [six_digit_half_width(v) for v in former_shares], 5) == [1003]

    release = protect({"window": table}, {"window": WINDOW}, rules=rules)
    published = published_table(release.outputs["window"])
    assert set(published["n_persons"]) == {1005}
    step = ratio_step(1.0, rounding_interval(1005, 5, T)[0])
    assert step == 0.001
    shares = published["share_employed"].tolist()
    # the attacker knows the stated grid: each share within half a step of its true value
    assert all(abs(s - t) <= step / 2 + 1e-12 for s, t in zip(shares, table["share_employed"]))
    assert counts_consistent_with(1005, shares, [step / 2] * len(shares), 5) == [1003, 1004, 1005, 1006, 1007]
    # and read at the precision the CSV shows, no narrower
    assert counts_consistent_with(1005, shares, [six_digit_half_width(v) for v in shares], 5) != [1003]
    assert release.audit.passed


def test_rounded_counts_are_not_recoverable_from_means():
    # mean days worked: sums of class midpoints (multiples of 0.5 day) over 1003 persons
    n = 1003
    totals = [20_000.5 + 997.5 * k for k in range(13)]
    table = window_table(n).assign(mean_days_worked=[t / n for t in totals], dc_days_worked_total=totals,
                                   dc_days_worked_top1=85.0, dc_days_worked_top2=85.0)
    spec = OutputSpec("window", ("measure_code", "relative_quarter"), values=("share_employed",),
                      magnitudes=(Magnitude("mean_days_worked", "dc_days_worked_total",
                                            ("dc_days_worked_top1", "dc_days_worked_top2"), unit=0.5),),
                      constant_over=("relative_quarter",))

    def counts_for_means(count, means, half_width):
        lo, hi = rounding_interval(count, 5, T)
        return [m for m in range(int(lo), int(hi) + 1)
                if all(any(abs(u * 0.5 / m - v) <= h + 1e-12 for u in (np.floor(2 * v * m), np.ceil(2 * v * m)))
                       for v, h in zip(means, half_width))]

    former = [float(f"{v:.6g}") for v in table["mean_days_worked"]]
    assert counts_for_means(1005, former, [six_digit_half_width(v) for v in former]) == [1003]
    release = protect({"window": table}, {"window": spec}, rules=DisclosureRules(rounding_base=5))
    published = published_table(release.outputs["window"])
    step = ratio_step(0.5, rounding_interval(1005, 5, T)[0])
    means = published["mean_days_worked"].tolist()
    assert all(abs(m - t / n) <= step / 2 + 1e-12 for m, t in zip(means, totals))
    assert counts_for_means(1005, means, [step / 2] * len(means)) == [1003, 1004, 1005, 1006, 1007]


@pytest.mark.parametrize("n", [20, 23, 37, 250, 1003, 20011])
def test_the_share_grid_keeps_every_count_of_the_rounding_interval(n):
    rng = np.random.default_rng(n)
    employed = rng.integers(T, n - T + 1, size=13)  # shares the share rule lets through
    table = window_table(n).assign(share_employed=employed / n)
    release = protect({"window": table}, {"window": WINDOW}, rules=DisclosureRules(rounding_base=5))
    published = published_table(release.outputs["window"])
    count = published["n_persons"].iloc[0]
    step = ratio_step(1.0, rounding_interval(count, 5, T)[0])
    lo, hi = rounding_interval(count, 5, T)
    assert lo <= n <= hi
    got = counts_consistent_with(count, published["share_employed"].dropna().tolist(),
                                 [step / 2] * published["share_employed"].notna().sum(), 5)
    assert got == list(range(int(lo), int(hi) + 1))


# --- 5. two releases differing by one person --------------------------------------------

EMPLOYED = [20, 21, 22, 25, 30, 31, 33, 34, 35, 36, 36, 37, 38]


def profile_and_window(vop: int, employed: list[int] = EMPLOYED) -> dict[str, pd.DataFrame]:
    profile = pd.DataFrame({"measure_code": ["vop", "vop", "vop"], "sex_code": ["M", "F", "Total"],
                            "n_persons": [vop - 40, 40, vop]})
    window = pd.DataFrame({"measure_code": "vop", "relative_quarter": range(-4, 9), "n_persons": vop,
                           "share_employed": [e / vop for e in employed]})
    return {"profile": profile, "window": window}


SPECS = {"profile": OutputSpec("profile", ("measure_code", "sex_code"), additive=("sex_code",)), "window": WINDOW}
LINKS = (Link("window within profile", "profile", {"sex_code": "Total"}, "window", {}, ("measure_code",)),)


@pytest.mark.parametrize("rounding_base", [None, 5])
def test_a_second_release_differing_by_one_person_is_refused_naming_the_cells(tmp_path, rounding_base):
    rules = DisclosureRules(rounding_base=rounding_base)
    warehouse, exports = tmp_path / "warehouse", tmp_path / "exports"
    first = export_outputs(warehouse, exports, today=TODAY, rules=rules, outputs=profile_and_window(62),
                           specs=SPECS, links=LINKS)
    # one person left vop (a man who was employed at quarter 0): with rounding to 5 both
    # releases publish 60, so the former gate, comparing published values, let it through,
    # and the two releases' shares told that person's employment quarter by quarter
    second = profile_and_window(61, [e - (k >= 0) for k, e in zip(range(-4, 9), EMPLOYED)])
    with pytest.raises(ExportRefused, match="differencing") as refused:
        export_outputs(warehouse, exports, today=date(2026, 6, 2), rules=rules, outputs=second, specs=SPECS, links=LINKS)
    problems = refused.value.problems
    assert any(p.startswith('profile cell ["vop", "Total"]') and "by 1 persons" in p for p in problems), problems
    assert any(p.startswith('profile cell ["vop", "M"]') for p in problems), problems
    assert any(p.startswith('window cell ["vop", "0"]') for p in problems), problems
    assert not (exports / "2026-06-02").exists()
    if rounding_base:
        released = pd.read_csv(first.folder / "profile.csv")
        assert released["n_persons"].tolist()[-1] == 60  # 62 and 61 both publish as 60
    # eleven persons later, the difference is a publishable group
    export_outputs(warehouse, exports, today=date(2026, 6, 3), rules=rules, outputs=profile_and_window(73),
                   specs=SPECS, links=LINKS)


def test_a_second_release_where_one_persons_status_changed_is_refused_naming_the_share(tmp_path):
    # same persons, same counts; one person's employment at quarter 2 corrected: the two
    # releases' shares at quarter 2 differ by exactly one person
    warehouse, exports = tmp_path / "warehouse", tmp_path / "exports"
    export_outputs(warehouse, exports, today=TODAY, outputs=profile_and_window(62), specs=SPECS, links=LINKS)
    corrected = [e + (k == 2) for k, e in zip(range(-4, 9), EMPLOYED)]
    with pytest.raises(ExportRefused, match="differencing") as refused:
        export_outputs(warehouse, exports, today=date(2026, 6, 2), outputs=profile_and_window(62, corrected),
                       specs=SPECS, links=LINKS)
    [problem] = refused.value.problems
    assert problem.startswith('window cell ["vop", "2"], share_employed') and "by 1 (< 10)" in problem
    # the same data again is no difference at all
    export_outputs(warehouse, exports, today=date(2026, 6, 3), outputs=profile_and_window(62), specs=SPECS, links=LINKS)


# --- the audit is the gate ----------------------------------------------------------------

def test_the_audit_refuses_a_release_that_earlier_releases_make_unsafe_naming_the_cells(tmp_path):
    # the first release declared no link between the outputs and published both cells; a
    # later spec declares the link: their difference (20 - 15 = 5 persons) is a small group,
    # and both cells are known from the first release, so nothing can protect it
    outputs = {"a": pd.DataFrame({"measure_code": ["vop"], "n_persons": [20]}),
               "b": pd.DataFrame({"measure_code": ["vop"], "n_persons": [15]})}
    specs = {"a": OutputSpec("a", ("measure_code",)), "b": OutputSpec("b", ("measure_code",))}
    warehouse, exports = tmp_path / "warehouse", tmp_path / "exports"
    export_outputs(warehouse, exports, today=TODAY, outputs=outputs, specs=specs, links=())
    link = (Link("b within a", "a", {}, "b", {}, ("measure_code",)),)
    with pytest.raises(ExportRefused, match="protection audit") as refused:
        export_outputs(warehouse, exports, today=date(2026, 6, 2), outputs=outputs, specs=specs, links=link)
    [problem] = refused.value.problems
    assert problem.startswith("difference a {'measure_code': 'vop'} minus b {'measure_code': 'vop'}")
    assert "[5, 5]" in problem
    assert not (exports / "2026-06-02").exists()
    # without the earlier release the same tables are protected (b, or a, is suppressed)
    fresh = export_outputs(tmp_path / "w2", tmp_path / "e2", today=TODAY, outputs=outputs, specs=specs, links=link)
    assert fresh.report["protection_audit"]["status"] == "passed"


def test_an_output_declared_in_yml_only_is_protected_without_python(tmp_path):
    # a new output model: its yml declares the structure, nothing else changes
    import shutil

    from conftest import PROJECT_DIR

    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "models", project / "models")
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    (project / "models" / "outputs" / "_new__models.yml").write_text(
        "version: 2\n"
        "models:\n"
        "  - name: by_province\n"
        "    description: a new output\n"
        "    config:\n"
        "      meta:\n"
        "        disclosure:\n"
        "          dimensions: [measure_code, province_code]\n"
        "          additive: [province_code]\n")
    result = export_outputs(tmp_path / "warehouse", tmp_path / "exports", today=TODAY, project=project,
                            outputs={"by_province": provinces()})
    assert list(result.report["outputs"]["by_province"]["spec"]["additive"]) == ["province_code"]
    published = pd.read_csv(result.folder / "by_province.csv").set_index("province_code")["n_persons"]
    assert published.isna().sum() == 4 and result.report["protection_audit"]["status"] == "passed"


def test_every_output_model_declares_its_disclosure_spec():
    import yaml

    from conftest import PROJECT_DIR

    from wse_impact.project import output_specs

    specs, links = output_specs(PROJECT_DIR)
    document = yaml.safe_load((PROJECT_DIR / "models" / "outputs" / "_outputs__models.yml").read_text())
    outputs = {m["name"]: m for m in document["models"] if "output" in (m.get("config") or {}).get("tags", [])}
    assert set(outputs) == set(specs) == {"beneficiaries_by_profile", "socio_economic_position_by_quarter",
                                          "employment_around_measure"}
    for name, spec in specs.items():
        columns = {c["name"] for c in outputs[name]["columns"]}
        declared = {*spec.dimensions, *spec.checked_columns, *spec.contributor_columns}
        assert declared <= columns, (name, declared - columns)
    assert specs["beneficiaries_by_profile"].union == ("measure_code",)
    assert specs["employment_around_measure"].constant_over == ("relative_quarter",)
    assert {(link.subset, link.superset) for link in links} == {
        ("beneficiaries_by_profile", "beneficiaries_by_profile"),
        ("beneficiaries_by_profile", "socio_economic_position_by_quarter"),
        ("employment_around_measure", "beneficiaries_by_profile"),
        ("employment_around_measure", "socio_economic_position_by_quarter"),
    }


def test_linked_outputs_released_apart_are_refused(tmp_path):
    """The attack of two releases: a measure's 50 beneficiaries in one release and the 46 of
    them in its event window in another, each protected alone, give a group of 4 by
    difference. The link is seen only when both outputs are in one release: the second
    release without the first is refused, naming the link; together they pass."""
    specs = {"profile": OutputSpec("profile", ("measure_code", "sex_code"), additive=("sex_code",)),
             "window": OutputSpec("window", ("measure_code", "relative_quarter"))}
    links = (Link("window within profile", "profile", {"sex_code": "Total"}, "window", {}, ("measure_code",)),)
    profile = pd.DataFrame({"measure_code": ["vop"] * 3, "sex_code": ["M", "F", "Total"], "n_persons": [25, 25, 50]})
    window = pd.DataFrame({"measure_code": "vop", "relative_quarter": range(-4, 9), "n_persons": 46})
    warehouse, exports = tmp_path / "warehouse", tmp_path / "exports"
    first = export_outputs(warehouse, exports, today=TODAY, outputs={"profile": profile}, specs=specs, links=links)
    assert pd.read_csv(first.folder / "profile.csv")["n_persons"].tolist() == [25, 25, 50]
    with pytest.raises(ExportRefused, match="window is linked to profile.*release them together"):
        export_outputs(warehouse, exports, today=date(2026, 6, 2), outputs={"window": window}, specs=specs, links=links)
    assert not (exports / "2026-06-02").exists()
    together = export_outputs(warehouse, exports, today=date(2026, 6, 3), outputs={"profile": profile, "window": window},
                              specs=specs, links=links)
    assert not (together.folder / "window.csv").exists(), "the window of 46 within the released 50 is withheld"
    assert together.report["outputs"]["window"]["cells_suppressed"] == 13
