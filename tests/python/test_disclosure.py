"""Disclosure rules on hand-made outputs: each risky cell is caught, with its rule and reason."""

from __future__ import annotations

import pandas as pd
import pytest

from wse_impact.release.disclosure import (
    DEFAULT_RULES,
    DisclosureRules,
    Link,
    Magnitude,
    CheckedOutput,
    OutputSpec,
    audit_release,
    infer_spec,
    protect,
    ratio_step,
    rounding_interval,
)
from wse_impact.release import protection


def apply_disclosure(
    outputs: dict[str, pd.DataFrame],
    specs: dict[str, OutputSpec] | None = None,
    links: tuple[Link, ...] = (),
    rules: DisclosureRules = DEFAULT_RULES,
) -> dict[str, CheckedOutput]:
    """`protect`'s checked tables (what may be published), for tests that need no more."""
    return protect(outputs, specs, links, rules).outputs

BY_SEX = OutputSpec("by_sex", dimensions=("measure_code", "sex_code"), additive=("sex_code",))
MEANS = OutputSpec(
    "means",
    dimensions=("measure_code",),
    magnitudes=(Magnitude("mean_amount", "dc_amount_total", ("dc_amount_top1", "dc_amount_top2")),),
)


def suppressed(checked, column="n_persons") -> list[dict]:
    return [s.cell for s in checked.suppressions if s.column == column]


def rules_of(checked, column="n_persons") -> dict:
    return {tuple(s.cell.values()): s.rule for s in checked.suppressions if s.column == column}


def test_rules_are_declared_once_with_the_stated_defaults():
    assert (DEFAULT_RULES.min_persons, DEFAULT_RULES.dominance_n, DEFAULT_RULES.dominance_k,
            DEFAULT_RULES.p_percent, DEFAULT_RULES.rounding_base) == (10, 2, 0.85, 0.10, None)
    described = DEFAULT_RULES.describe()
    assert set(described["rules"]) >= {"min_persons", "dominance", "p_percent", "secondary", "cross_output",
                                       "zeros_and_extreme_shares", "rounding"}
    with pytest.raises(ValueError):
        DisclosureRules(dominance_k=1.5)


def test_small_cell_is_suppressed_with_its_reason_and_without_its_value():
    table = pd.DataFrame({"measure_code": ["vop", "amif"], "n_persons": [9, 10]})
    checked = apply_disclosure({"t": table}, {"t": OutputSpec("t", ("measure_code",))})["t"]
    assert checked.table["n_persons"].isna().tolist() == [True, False]
    [record] = checked.suppressions
    assert (record.cell, record.rule) == ({"measure_code": "vop"}, "min_persons")
    assert "fewer than 10 distinct persons" in record.reason
    assert "9" not in record.reason  # the suppressed value never appears in the report


def test_suppressed_count_takes_the_rows_values_along():
    table = pd.DataFrame({"measure_code": ["vop"], "n_persons": [3], "share_employed": [0.5]})
    spec = OutputSpec("t", ("measure_code",), values=("share_employed",))
    checked = apply_disclosure({"t": table}, {"t": spec})["t"]
    assert checked.table["share_employed"].isna().all()
    assert {s.column for s in checked.suppressions} == {"n_persons", "share_employed"}


@pytest.mark.parametrize(
    ("total", "top1", "top2", "rule"),
    [
        (1000.0, 800.0, 100.0, "dominance"),   # two largest = 90 % > 85 %
        (1000.0, 450.0, 360.0, None),          # 81 %: published
        (1000.0, 420.0, 420.0, None),          # 84 %, remainder 160 >= 10 % of 420
        (100.0, 50.0, 46.0, "dominance"),      # 96 %
    ],
)
def test_dominated_mean_is_suppressed(total, top1, top2, rule):
    table = pd.DataFrame({"measure_code": ["m"], "n_persons": [40], "mean_amount": [total / 40],
                          "dc_amount_total": [total], "dc_amount_top1": [top1], "dc_amount_top2": [top2]})
    checked = apply_disclosure({"means": table}, {"means": MEANS})["means"]
    got = [s.rule for s in checked.suppressions if s.column == "mean_amount"]
    assert got == ([rule] if rule else [])
    assert checked.table["n_persons"].notna().all()  # the count itself is safe
    assert not any(c.startswith("dc_") for c in checked.table.columns)  # contributors never leave


def test_p_percent_rule_catches_what_dominance_lets_through():
    # dominance with k = 0.99 lets 97 % through; p %: 100 - 60 - 37 = 3 < 10 % of 60
    table = pd.DataFrame({"measure_code": ["m"], "n_persons": [12], "mean_amount": [8.3],
                          "dc_amount_total": [100.0], "dc_amount_top1": [60.0], "dc_amount_top2": [37.0]})
    checked = apply_disclosure({"means": table}, {"means": MEANS}, rules=DisclosureRules(dominance_k=0.99))["means"]
    [record] = checked.suppressions
    assert record.rule == "p_percent"
    assert "within 10%" in record.reason


def test_total_that_leaks_a_suppressed_cell_gets_a_complementary_suppression():
    table = pd.DataFrame({
        "measure_code": ["vop"] * 4,
        "sex_code": ["M", "F", "unknown", "Total"],
        "n_persons": [8, 50, 30, 88],
    })
    checked = apply_disclosure({"by_sex": table}, {"by_sex": BY_SEX})["by_sex"]
    rules = rules_of(checked)
    assert rules[("vop", "M")] == "min_persons"
    # the smallest published part goes too, so M is not 88 - 50 - 30
    assert rules[("vop", "unknown")] == "secondary"
    assert ("vop", "F") not in rules and ("vop", "Total") not in rules
    [secondary] = [s for s in checked.suppressions if s.rule == "secondary"]
    assert "protection interval" in secondary.reason
    assert "to: by_sex {'measure_code': 'vop', 'sex_code': 'M'}" in secondary.reason


def test_secondary_suppression_closes_every_additive_group_in_two_dimensions():
    # a sex x age table with both margins: one small inner cell must not be recomputable
    # from either its row or its column total
    rows = []
    counts = {("M", "20-24"): 4, ("M", "25-29"): 40, ("F", "20-24"): 30, ("F", "25-29"): 35}
    for (sex, age), n in counts.items():
        rows.append((sex, age, n))
    for sex in ("M", "F"):
        rows.append((sex, "Total", sum(n for (s, _), n in counts.items() if s == sex)))
    for age in ("20-24", "25-29"):
        rows.append(("Total", age, sum(n for (_, a), n in counts.items() if a == age)))
    rows.append(("Total", "Total", sum(counts.values())))
    table = pd.DataFrame(rows, columns=["sex_code", "age_class", "n_persons"])
    spec = OutputSpec("cross", ("sex_code", "age_class"), additive=("sex_code", "age_class"))
    checked = apply_disclosure({"cross": table}, {"cross": spec})["cross"]
    hidden = checked.table.set_index(["sex_code", "age_class"])["n_persons"].isna()
    assert hidden[("M", "20-24")]
    # no row or column of the table holds exactly one suppressed cell
    for dim, other in (("sex_code", "age_class"), ("age_class", "sex_code")):
        for _, group in checked.table.groupby(other):
            assert group["n_persons"].isna().sum() != 1, (dim, group)


def test_cross_output_difference_below_threshold_is_suppressed():
    profile = pd.DataFrame({"measure_code": ["vop"], "sex_code": ["Total"], "n_persons": [50]})
    window = pd.DataFrame({"measure_code": ["vop", "vop"], "relative_quarter": [0, 1], "n_persons": [46, 46]})
    specs = {"profile": OutputSpec("profile", ("measure_code", "sex_code"), additive=("sex_code",)),
             "window": OutputSpec("window", ("measure_code", "relative_quarter"))}
    link = Link("window within profile", "profile", {"sex_code": "Total"}, "window", {}, on=("measure_code",))
    release = protect({"profile": profile, "window": window}, specs, (link,))
    # 50 - 46: four persons by difference; the cheapest protection hides the one profile cell
    # (hiding the window would cost two cells)
    assert release.outputs["profile"].table["n_persons"].isna().all()
    assert release.outputs["window"].table["n_persons"].notna().all()
    assert {s.rule for s in release.outputs["profile"].suppressions} == {"secondary"}
    differences = [i for i in release.audit.intervals if i.label.startswith("difference")]
    assert len(differences) == 2 and all(i.upper >= 10 and i.width >= 10 for i in differences)
    assert release.audit.passed
    # 50 - 40 = 10 persons: the difference is itself a publishable cell
    window["n_persons"] = [40, 40]
    checked = apply_disclosure({"profile": profile, "window": window}, specs, (link,))
    assert not checked["window"].suppressions and not checked["profile"].suppressions


def test_extreme_shares_follow_the_stated_rule():
    table = pd.DataFrame({"measure_code": ["a", "b"], "n_persons": [40, 40], "share_employed": [1.0, 0.4]})
    spec = OutputSpec("t", ("measure_code",), values=("share_employed",))
    noted = apply_disclosure({"t": table}, {"t": spec})["t"]
    assert noted.table["share_employed"].notna().all()
    assert [n["cell"] for n in noted.notes] == [{"measure_code": "a"}]
    strict = apply_disclosure({"t": table}, {"t": spec}, rules=DisclosureRules(extreme_shares="suppress"))["t"]
    assert strict.table["share_employed"].isna().tolist() == [True, False]
    assert strict.suppressions[0].rule == "extreme_share"


def test_optional_rounding_to_base_5():
    table = pd.DataFrame({"measure_code": ["a", "b", "c"], "n_persons": [12, 13, 4]})
    checked = apply_disclosure({"t": table}, {"t": OutputSpec("t", ("measure_code",))},
                               rules=DisclosureRules(rounding_base=5))["t"]
    assert checked.table["n_persons"].tolist()[:2] == [10, 15]
    assert pd.isna(checked.table["n_persons"].iloc[2])


def test_inferred_spec_treats_every_total_as_additive():
    table = pd.DataFrame({"group": ["x", "y", "Total"], "quarter": ["2020Q1"] * 3,
                          "n_persons": [5, 40, 45], "dc_x_top1": [1, 1, 1]})
    spec = infer_spec("t", table)
    assert spec.dimensions == ("group", "quarter") and spec.additive == ("group",)
    checked = apply_disclosure({"t": table})["t"]
    assert checked.table["n_persons"].isna().tolist() == [True, True, False]


def test_share_implying_a_small_count_is_suppressed():
    # 1 of 20 employed, 19 of 20 employed, 10 of 20 employed
    table = pd.DataFrame({"measure_code": ["a", "b", "c"], "n_persons": [20, 20, 20],
                          "share_employed": [0.05, 0.95, 0.5]})
    spec = OutputSpec("t", ("measure_code",), values=("share_employed",))
    checked = apply_disclosure({"t": table}, {"t": spec})["t"]
    assert checked.table["share_employed"].isna().tolist() == [True, True, False]
    assert {s.rule for s in checked.suppressions} == {"min_persons_share"}
    assert checked.table["n_persons"].notna().all()
