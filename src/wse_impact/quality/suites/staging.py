"""Staging suites: the staging rows that passed the quarantine gate (`int_*_checked`): ranges,
quarters, code sets; reconciliation rows read = accepted + quarantined."""

from __future__ import annotations

from wse_impact.project.macros import age_in_years_sql
from wse_impact.quality.rules import _E, code_rules, key_rules, key_suites, range_rules
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import PANEL, Context
from wse_impact.quality.suites.measure_uses import measure_use_suite


def staging_suites(ctx: Context) -> list[Suite]:
    E, decl, wh = _E(), ctx.declarations, ctx.wh
    rel = "intermediate.int_snapshots_checked"
    cols = wh.columns(rel)
    suites = [Suite("staging.snapshots_accepted", "staging", f"{rel} (accepted staging rows)",
                    f"select * from {rel} where is_accepted", [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="insz"),
        ctx.in_quarters("snapshot_quarter"),
        E.ExpectColumnValuesToBeBetween(column="days_worked", min_value=0),
        # the staging columns carry the panel's names: its declarations apply
        *range_rules(decl.ranges(PANEL, cols)),
        *code_rules(decl.codes(PANEL, cols), ctx.seeds),
    ]), *key_suites("staging.snapshots_accepted", "staging", f"{rel} (accepted staging rows)", rel,
                    [["insz", "snapshot_quarter"]], where="is_accepted"),
        Suite("staging.snapshots_accepted_by_quarter", "staging", f"{rel} (accepted staging rows)", f"""
        select q.days_in_quarter, s.days_worked, s.incapacity_days,
            {age_in_years_sql("s.birth_date", "q.last_day")} as age_years
        from {rel} as s
        left join wse_impact.reference.quarters as q on s.snapshot_quarter = q.quarter
        where s.is_accepted
    """, [
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="days_worked",
                                                  or_equal=True, ignore_row_if="either_value_is_missing"),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="days_in_quarter", column_B="incapacity_days",
                                                  or_equal=True, ignore_row_if="either_value_is_missing"),
        *range_rules(decl.ranges(PANEL, ["age_years"])),
    ])]

    rel = "intermediate.int_measure_uses_checked"
    suites.append(measure_use_suite(
        ctx, "staging.measure_uses_accepted", "staging", f"{rel} (accepted staging rows)", "int_measure_uses_checked",
        rel, wh.columns(rel), where="is_accepted", head=[
            E.ExpectTableRowCountToBeBetween(min_value=1),
            E.ExpectColumnValuesToNotBeNull(column="insz"),
            *key_rules([["measure_code", "insz"]]),
            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_quarter", column_B="start_quarter", or_equal=True,
                                                      ignore_row_if="either_value_is_missing"),
        ]))

    rel = "intermediate.reconciliation"
    read_counts = " union all ".join(
        [f"select 'wse.{m}' as source_name, count(*) as n from staging.stg_wse__{m}" for m in ctx.catalog]
        + ["select 'dwh.snapshots', count(*) from staging.stg_dwh__snapshots",
           "select 'dwh.control_sample', count(*) from staging.stg_dwh__control_sample"])
    suites.append(Suite("staging.reconciliation", "staging", rel, f"""
        with staged as ({read_counts}),
        quarantined as (select source_name, count(*) as n from intermediate.quarantine group by source_name)
        select
            coalesce(r.source_name, staged.source_name) as source_name,
            r.rows_read,
            r.rows_accepted + r.rows_quarantined as rows_accepted_plus_quarantined,
            staged.n as rows_in_staging,
            r.rows_quarantined,
            coalesce(quarantined.n, 0) as rows_in_quarantine
        from {rel} as r
        full join staged on r.source_name = staged.source_name
        left join quarantined on coalesce(r.source_name, staged.source_name) = quarantined.source_name
    """, [
        E.ExpectTableRowCountToEqual(value=len(ctx.catalog) + 2),
        E.ExpectColumnValuesToNotBeNull(column="rows_read"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_accepted_plus_quarantined"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_read", column_B="rows_in_staging"),
        E.ExpectColumnPairValuesToBeEqual(column_A="rows_quarantined", column_B="rows_in_quarantine"),
    ]))
    return suites
