"""What the disclosure control is told, declared once: the rules' parameters
(`DisclosureRules`, one instance `DEFAULT_RULES`), the texts the custodian's report quotes,
and the types of an output's specification (`OutputSpec` with its `Magnitude`s) and of a
link between outputs (`Link`). The specs themselves are declared next to the outputs, in
each output model's yml under `config.meta.disclosure`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

COUNT = "n_persons"
CONTRIBUTOR_PREFIX = "dc_"

ZERO_AND_EXTREME_SHARE_RULE = (
    "Empty cells are not rows: zero counts are never published. A share of exactly 0 or 1 "
    "in a cell of at least min_persons persons describes every person of the cell (group "
    "disclosure); it is released when extreme_shares is 'note' (and noted in the custodian's "
    "report), suppressed when it is 'suppress'."
)

PROTECTION_METHOD = (
    "Optimal cell suppression after Fischetti and Salazar (the model of tau-ARGUS's and "
    "sdcTable's 'optimal' methods), solved by HiGHS (scipy.optimize.milp): for every count "
    "below the threshold, and every difference of 1 to threshold-1 persons between a linked "
    "subset and superset, two deviation vectors of the whole set of released tables "
    "(additive totals, unions over non-additive dimensions (Total <= sum of parts), links between "
    "outputs, counts constant over a dimension, rows of at least 1 person, rounding "
    "intervals, counts published by earlier releases) must move it up to at least the "
    "threshold and give an interval at least the threshold wide; the complementary cells "
    "are chosen jointly at least cost: fewest cells suppressed, then fewest persons. "
    "Audit: the attacker's smallest and largest value of each such count or difference, "
    "by integer programs over the released values only."
)


@dataclass(frozen=True)
class DisclosureRules:
    """The disclosure rules' parameters: the one place they are declared."""

    min_persons: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.85
    p_percent: float = 0.10
    rounding_base: int | None = None
    extreme_shares: str = "note"
    # seconds HiGHS may spend on one joint suppression program (then: best pattern found)
    mip_time_limit: float = 60.0

    def __post_init__(self) -> None:
        if self.min_persons < 1:
            raise ValueError("min_persons must be at least 1")
        if not 0 < self.dominance_k <= 1 or not 0 <= self.p_percent < 1:
            raise ValueError("dominance_k must lie in (0, 1] and p_percent in [0, 1)")
        if self.dominance_n not in (1, 2):
            raise ValueError("dominance_n must be 1 or 2 (outputs carry the two largest contributors)")
        if self.rounding_base is not None and self.rounding_base < 2:
            raise ValueError("rounding_base must be at least 2 (or None: no rounding)")
        if self.extreme_shares not in ("note", "suppress"):
            raise ValueError("extreme_shares must be 'note' or 'suppress'")

    def describe(self) -> dict:
        """The parameters and the stated rules, for the checking report."""
        t = self.min_persons
        return {
            **asdict(self),
            "rules": {
                "min_persons": f"cells with fewer than {t} distinct persons are suppressed, with the values of their row",
                "dominance": f"a magnitude is suppressed when its {self.dominance_n} largest contributors exceed {self.dominance_k:.0%} of the cell total",
                "p_percent": f"a magnitude is suppressed when total - top1 - top2 < {self.p_percent:.0%} of top1",
                "min_persons_share": f"a share is suppressed when n_persons x share, or n_persons x (1 - share), lies between 1 and {t - 1}",
                "secondary": (f"complementary cells chosen by optimisation so that every count below {t}, and every difference "
                              f"of 1 to {t - 1} persons between a linked subset and superset, can take, given everything "
                              f"released (now and before), a value of at least {t} and an interval at least {t} wide"),
                "audit": "the same intervals computed again from the released values only; the release is refused if any falls short",
                "cross_output": "cells of linked outputs (a subset of another output's persons) are protected together with it",
                "differencing": (f"a release is refused when a cell's true count differs from an earlier release's by 1 to "
                                 f"{t - 1} persons, unless the cell was suppressed in both, or when a share published in "
                                 f"both stands for persons with, or without, the attribute who differ by 1 to {t - 1}"),
                "zeros_and_extreme_shares": ZERO_AND_EXTREME_SHARE_RULE,
                "rounding": (f"published counts rounded to the nearest {self.rounding_base} (0 becomes {self.rounding_base}); "
                             "shares and means on a grid at least as coarse as their unit divided by the smallest count "
                             "the rounded count allows, so that every such count stays possible"
                             if self.rounding_base else "no rounding"),
            },
            "method": PROTECTION_METHOD,
        }


DEFAULT_RULES = DisclosureRules()


@dataclass(frozen=True)
class Magnitude:
    """A published mean or sum of amounts and the contributor columns it is checked with.

    `total`: the cell's sum of contributions; `tops`: the largest contributions, largest
    first (upper bounds are allowed: the check then errs on the side of suppression);
    `unit`: the granularity of one person's contribution (0.5 for class midpoints of days),
    for the rounding grid.
    """

    column: str
    total: str
    tops: tuple[str, ...]
    unit: float = 1.0

    @property
    def contributor_columns(self) -> tuple[str, ...]:
        return (self.total, *self.tops)


@dataclass(frozen=True)
class OutputSpec:
    """The structure of one output table, as far as disclosure control needs it.

    `additive`: dimensions whose `Total` row is the sum of the others; `union`: dimensions
    whose `Total` row counts persons each in at least one of the others (a person may be in
    several: Total <= sum of parts; where each part is also a subset of the Total, declare
    that as a link); `constant_over`: dimensions over which the count is the same (the same
    persons at every relative quarter); `values`: shares of the row's persons.
    """

    name: str
    dimensions: tuple[str, ...]
    additive: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    magnitudes: tuple[Magnitude, ...] = ()
    count: str = COUNT
    union: tuple[str, ...] = ()
    constant_over: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [d for d in (*self.additive, *self.union, *self.constant_over) if d not in self.dimensions]
        if unknown:
            raise ValueError(f"output {self.name}: {unknown} are not among its dimensions {self.dimensions}")
        if set(self.additive) & set(self.union):
            raise ValueError(f"output {self.name}: a dimension is either additive or a union, not both")
        if self.additive and (self.values or self.magnitudes):
            # the audit models counts only: a share or mean summed over an additive
            # dimension would be a relation it does not see
            raise ValueError(f"output {self.name}: shares or magnitudes in an output with additive dimensions "
                             "are not covered by the protection audit; publish them in an output without")

    @property
    def checked_columns(self) -> tuple[str, ...]:
        return (self.count, *self.values, *(m.column for m in self.magnitudes))

    @property
    def contributor_columns(self) -> tuple[str, ...]:
        return tuple(c for m in self.magnitudes for c in m.contributor_columns)


@dataclass(frozen=True)
class Link:
    """Persons of `subset`'s cells are a subset of those of `superset`'s cell, per `on` key.

    `*_where` select the rows on each side (column -> value); `on` holds the columns both
    sides share and are matched on (e.g. the measure).
    """

    name: str
    superset: str
    superset_where: dict
    subset: str
    subset_where: dict
    on: tuple[str, ...] = ()
