"""The suites, in four groups (reference, staging, intermediate, marts), built from the
declarations, the seeds and a few facts of the built warehouse; engine-neutral (a relation, a
SQL select both engines run, GX expectations)."""

from __future__ import annotations

from typing import Any, Callable

from wse_impact.project.declarations import Declarations
from wse_impact.project.seeds import Seeds
from wse_impact.quality.suite import Suite
from wse_impact.quality.suites.context import PANEL, Context
from wse_impact.quality.suites.intermediate import intermediate_suites
from wse_impact.quality.suites.marts import mart_suites
from wse_impact.quality.suites.reference import reference_suites
from wse_impact.quality.suites.staging import staging_suites

GROUPS = ("reference", "staging", "intermediate", "marts")

SUITE_GROUPS: dict[str, Callable[[Context], list[Suite]]] = {
    "reference": reference_suites,
    "staging": staging_suites,
    "intermediate": intermediate_suites,
    "marts": mart_suites,
}


def build_suites(wh: Any, groups: tuple[str, ...] = GROUPS, declarations: Declarations | None = None,
                 seeds: Seeds | None = None) -> list[Suite]:
    ctx = Context(declarations or Declarations.load(), seeds or Seeds(), wh)
    return [suite for group in GROUPS if group in groups for suite in SUITE_GROUPS[group](ctx)]
