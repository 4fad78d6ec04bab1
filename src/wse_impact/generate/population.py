"""The synthetic persons: beneficiaries of the 16 measures, the control group, and the measure rows.

Everything here is per person (or per measure row) and fixed over time; the quarterly panel
(`panel.py`) then simulates each person's situation quarter by quarter from these traits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wse_impact.generate.reference import (
    BRUSSELS, FLEMISH, N_QUARTERS, WALLOON, Reference, quarter_of, quarter_start,
)
from wse_impact.landing.insz import generate_insz

from wse_impact.generate.population_parameters import (  # noqa: F401 - also read as population.X
    BIS_SHARE, CONTROL_OVERLAP_SHARE, EDU_CODES, EDU_DEFAULT, EXIT_SHARE, MEASURE_SIZES, MIN_ROWS_PER_MEASURE,
    MeasureSpec, N_BENEFICIARIES, N_CONTROL, ORIGIN_CODES, ROW_FACTOR, SPECS, WIN_CAREER_BREAK,
    WIN_DISABILITY, WIN_JOBSEEKER, WIN_NONE, WIN_SALARIED, WIN_SELF,
)


def _weighted(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right"), w.size - 1)


def _ages(rng: np.random.Generator, n: int, bands) -> np.ndarray:
    b = np.asarray(bands, dtype=float)
    k = _weighted(rng, n, b[:, 2])
    return b[k, 0] + rng.random(n) * (b[k, 1] - b[k, 0])


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    if total <= 0 or weights.sum() == 0:
        return np.zeros(weights.size, dtype=np.int64)
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    rest = total - out.sum()
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:rest]] += 1
    return out


@dataclass
class MeasureRows:
    """The rows of one measure's extract (before formatting): person index, quarters, variants."""

    person: np.ndarray
    first: np.ndarray
    last: np.ndarray
    variant: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Population:
    n: int
    insz: np.ndarray
    birth: np.ndarray          # datetime64[D]
    male: np.ndarray
    arr: np.ndarray            # index into Reference.arrondissements
    urb: np.ndarray            # '1', '2', '3'
    origin: np.ndarray
    nationality: np.ndarray
    birth_country: np.ndarray
    arrival: np.ndarray        # datetime64[D]: birth for the Belgian-born, else arrival in Belgium
    arrival_q: np.ndarray      # first quarter in the register (may be < 0)
    exit_q: np.ndarray         # first quarter no longer in the register (36: never)
    edu: np.ndarray
    pi_level: np.ndarray       # employment propensity without a measure
    self_prop: np.ndarray      # share of employment spells that are self-employed
    side_self: np.ndarray      # salaried work with a self-employed side activity (1.4)
    disabled_q: np.ndarray     # quarter from which a disability is recognised (999: never)
    disability_pct: np.ndarray
    partner_income: np.ndarray  # cents per quarter (0: no partner)
    parents_income: np.ndarray  # cents per quarter, while living with the parents
    self_income: np.ndarray     # cents per quarter when self-employed
    leave_home_age: np.ndarray
    hh_child: np.ndarray
    hh_adult: np.ndarray
    u_lwi: np.ndarray
    # the primary measure (the one that drives the employment path)
    has_measure: np.ndarray
    switch_q: np.ndarray
    pi_pre: np.ndarray
    pi_post: np.ndarray
    win_kind: np.ndarray
    win_start: np.ndarray
    win_end: np.ndarray
    win_jc: np.ndarray
    win_part_time: np.ndarray
    apprentice: np.ndarray
    is_control: np.ndarray
    is_beneficiary: np.ndarray
    measures: dict[str, MeasureRows] = field(default_factory=dict)


def _measure_quarters(m: str, rng: np.random.Generator, n: int):
    """First and last quarter of n rows of measure m, and the window of the situation it implies."""
    spec = SPECS[m]
    lo, hi = spec.period
    first = rng.integers(lo, hi + 1, size=n)
    if spec.mean_duration > 0:
        dur = rng.geometric(1.0 / (1.0 + spec.mean_duration), size=n) - 1
    else:
        dur = np.zeros(n, dtype=np.int64)
    last = np.minimum(first + dur, N_QUARTERS - 1)
    win_start, win_end, switch = first.copy(), last.copy(), first.copy()
    if spec.window == WIN_JOBSEEKER:     # guided as a job-seeker at the start; may find work during the trajectory
        win_end = first.copy()
    elif m == "transitiepremie":        # self-employed from the first receipt on
        win_end = np.minimum(first + 3, N_QUARTERS - 1)
    elif m == "aanwervingsincentive":   # extract holds the last payment; hired 0-2 quarters before
        first = last = rng.integers(lo, hi + 1, size=n)
        win_end = last
        win_start = switch = np.maximum(last - rng.integers(0, 3, size=n), 0)
    return first, last, win_start, win_end, switch


def _reduction_codes(rng: np.random.Generator, age: np.ndarray, edu: np.ndarray) -> np.ndarray:
    """Doelgroepvermindering codes that fit the age: 6310 pupils, 6300/6301 youth, 6320/6321 55+."""
    code = np.where(edu == "1", "6300", "6301")
    code = np.where(age < 18.5, "6310", code)
    code = np.where(age >= 55, np.where(rng.random(age.size) < 0.7, "6320", "6321"), code)
    return code


def _residence(ref: Reference, rng: np.random.Generator, n: int, flemish: float | np.ndarray,
               by_population: bool) -> np.ndarray:
    """Arrondissement indices: by population (all of Belgium), or mostly Flemish."""
    a = ref.arrondissements
    if by_population:
        return _weighted(rng, n, a["population"])
    out = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    flemish = np.broadcast_to(np.asarray(flemish, dtype=float), (n,))
    region = np.where(u < flemish, 0, np.where(u < flemish + (1 - flemish) * 0.7, 1, 2))
    for k, reg in enumerate((FLEMISH, BRUSSELS, WALLOON)):
        idx = np.flatnonzero(region == k)
        cand = np.flatnonzero(a["region"] == reg)
        out[idx] = cand[_weighted(rng, idx.size, a["population"][cand])]
    return out


def urbanisation_weights(ref: Reference) -> np.ndarray:
    """Per arrondissement, the probabilities of DEGURBA 1, 2, 3."""
    a = ref.arrondissements
    cities = {"21000", "11000", "44000", "62000", "52000", "24000", "31000", "71000", "92000", "53000"}
    w = np.tile([0.15, 0.50, 0.35], (a["code"].size, 1))
    w[a["population"] < 100_000] = [0.02, 0.28, 0.70]
    for i, code in enumerate(a["code"]):
        if code in cities:
            w[i] = [0.60, 0.30, 0.10]
        if code == "21000":
            w[i] = [1.0, 0.0, 0.0]
    return w


def draw_urbanisation(rng: np.random.Generator, arr: np.ndarray, weights: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights[arr], axis=1)
    k = (cum <= rng.random(arr.size)[:, None]).sum(axis=1)
    return np.array(["1", "2", "3"])[np.minimum(k, 2)]


def build_population(ref: Reference, scale: float, rng: np.random.Generator) -> Population:
    """The persons and their measure rows; the random draws in a fixed order (the same seed
    gives the same files)."""
    measures = ref.measures
    missing = set(measures) ^ set(SPECS)
    if missing:
        raise ValueError(f"measures in seeds/measures.csv and the generator differ: {sorted(missing)}")
    primary, secondary = _rows_per_measure(measures, scale)
    benef = _primary_beneficiaries(measures, primary, rng)
    control = _control_persons(ref, scale, rng)
    pop = _persons(ref, benef, control, rng)
    _add_measure_rows(pop, measures, benef, secondary, rng)
    _add_control_overlap(pop, benef.n, control, rng)
    return _sorted_by_insz(pop)


def _rows_per_measure(measures: list[str], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per measure, its rows of primary beneficiaries and of second measures."""
    rows = np.array([max(MIN_ROWS_PER_MEASURE, round(MEASURE_SIZES[m] * scale * ROW_FACTOR)) for m in measures])
    n_benef = min(max(round(N_BENEFICIARIES * scale), 1), int(rows.sum()))
    extra = int(rows.sum()) - n_benef
    can_second = np.array([SPECS[m].secondary for m in measures]) & (rows > 1)
    secondary = np.minimum(_largest_remainder(extra, np.where(can_second, rows, 0).astype(float)), rows - 1)
    return rows - secondary, secondary


@dataclass
class _Beneficiaries:
    """The primary beneficiaries, one measure each (`pm`, its index), with traits that fit it."""

    pm: np.ndarray
    variants: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self):
        n = self.n
        self.first = np.empty(n, dtype=np.int64)
        self.last, self.win_start, self.win_end, self.switch = (np.empty_like(self.first) for _ in range(4))
        self.age_at_first = np.empty(n)
        self.male = np.empty(n, dtype=bool)
        self.edu = np.empty(n, dtype="<U1")
        self.origin = np.empty(n, dtype="<U1")
        self.flemish = np.empty(n)
        self.disabled = np.empty(n, dtype=bool)
        self.pi_pre = np.empty(n)
        self.pi_post = np.empty(n)
        self.win_kind = np.empty(n, dtype=np.int64)
        self.win_jc = np.empty(n, dtype="<U6")
        self.win_part_time = np.zeros(n, dtype=bool)
        self.apprentice = np.zeros(n, dtype=bool)
        self.side_self = np.zeros(n, dtype=bool)
        self.self_prop = np.full(n, 0.10)

    @property
    def n(self) -> int:
        return self.pm.size


def _primary_beneficiaries(measures: list[str], primary: np.ndarray, rng: np.random.Generator) -> _Beneficiaries:
    b = _Beneficiaries(pm=np.repeat(np.arange(len(measures)), primary))
    for k, m in enumerate(measures):
        idx = np.flatnonzero(b.pm == k)
        _draw_measure_traits(b, SPECS[m], idx, rng, m)
        b.variants[m] = _draw_measure_variant(b, m, idx, rng)
    return b


def _draw_measure_traits(b: _Beneficiaries, spec: MeasureSpec, idx: np.ndarray, rng: np.random.Generator,
                         m: str) -> None:
    n = idx.size
    f, lst, ws, we, sw = _measure_quarters(m, rng, n)
    b.first[idx], b.last[idx], b.win_start[idx], b.win_end[idx], b.switch[idx] = f, lst, ws, we, sw
    b.age_at_first[idx] = _ages(rng, n, spec.ages)
    b.male[idx] = rng.random(n) >= spec.female
    b.edu[idx] = EDU_CODES[_weighted(rng, n, spec.edu)]
    b.origin[idx] = ORIGIN_CODES[_weighted(rng, n, spec.origin)]
    b.flemish[idx] = spec.flemish
    b.disabled[idx] = rng.random(n) < spec.disabled
    noise = rng.normal(0, 0.04, size=(2, n))
    b.pi_pre[idx] = np.clip(spec.pre + noise[0], 0.01, 0.97)
    b.pi_post[idx] = np.clip(spec.post + noise[1], 0.01, 0.97)
    b.win_kind[idx] = spec.window
    b.win_jc[idx] = spec.window_jc


def _draw_measure_variant(b: _Beneficiaries, m: str, idx: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The measure's own attributes, and how they change the person's path."""
    n = idx.size
    v: dict[str, np.ndarray] = {}
    if m == "doelgroepvermindering":
        code = _reduction_codes(rng, b.age_at_first[idx], b.edu[idx])
        v["reduction_code"] = code
        b.pi_pre[idx] = np.where(code == "6320", 0.95, np.where(code == "6310", 0.05, b.pi_pre[idx]))
    elif m == "vop":
        allowance = np.array(["WN", "ZS", "HL"])[_weighted(rng, n, (0.82, 0.15, 0.03))]
        v["allowance_type"] = allowance
        b.win_kind[idx] = np.where(allowance == "WN", WIN_SALARIED, WIN_SELF)
        b.self_prop[idx] = np.where(allowance == "WN", 0.05, 0.9)
    elif m == "transitiepremie":
        side = rng.random(n) < 0.25
        v["side_self"] = side
        b.side_self[idx] = side
        b.self_prop[idx] = 0.9
    elif m in ("duaal_leren", "startbonus_stagebonus"):
        b.apprentice[idx] = True
        b.win_part_time[idx] = True
    elif m == "aanmoedigingspremie":
        b.win_part_time[idx] = True
    return v


@dataclass
class _Controls:
    """The control persons who are not beneficiaries (a sample of the working-age population
    of Belgium), and how many control persons are beneficiaries too."""

    n: int
    n_overlap: int
    birth: np.ndarray
    male: np.ndarray
    arr: np.ndarray
    origin: np.ndarray
    edu: np.ndarray


CONTROL_REFERENCE_DAY = np.datetime64("2018-07-01")


def _control_persons(ref: Reference, scale: float, rng: np.random.Generator) -> _Controls:
    n_control = max(round(N_CONTROL * scale), 1)
    n_overlap = round(CONTROL_OVERLAP_SHARE * n_control)
    n_new = n_control - n_overlap
    age_c = rng.uniform(18, 65, size=n_new)
    birth_c = CONTROL_REFERENCE_DAY - (age_c * 365.25).astype(np.int64).astype("timedelta64[D]")
    male_c = rng.random(n_new) < 0.5
    arr_c = _residence(ref, rng, n_new, 0.0, by_population=True)
    region_c = ref.arrondissements["region"][arr_c]
    origin_c = np.empty(n_new, dtype="<U1")
    for reg, w in ((FLEMISH, (.78, .09, .12, .01)), (BRUSSELS, (.35, .20, .43, .02)), (WALLOON, (.70, .13, .16, .01))):
        sel = np.flatnonzero(region_c == reg)
        origin_c[sel] = ORIGIN_CODES[_weighted(rng, sel.size, w)]
    edu_c = EDU_CODES[_weighted(rng, n_new, EDU_DEFAULT)]
    return _Controls(n_new, n_overlap, birth_c, male_c, arr_c, origin_c, edu_c)


def _persons(ref: Reference, b: _Beneficiaries, c: _Controls, rng: np.random.Generator) -> Population:
    """Beneficiaries then control persons: origin, arrival, exit, INSZ and the fixed traits."""
    n = b.n + c.n
    is_benef = np.arange(n) < b.n
    birth = np.empty(n, dtype="datetime64[D]")
    birth[:b.n] = quarter_start(b.first) - (b.age_at_first * 365.25).astype(np.int64).astype("timedelta64[D]")
    birth[b.n:] = c.birth
    male = np.concatenate([b.male, c.male])
    edu = np.concatenate([b.edu, c.edu])
    origin = np.concatenate([b.origin, c.origin])
    arr = np.concatenate([_residence(ref, rng, b.n, b.flemish, by_population=False), c.arr])
    urb = draw_urbanisation(rng, arr, urbanisation_weights(ref))
    amif = np.zeros(n, dtype=bool)
    amif[:b.n] = b.pm == ref.measures.index("amif")
    nationality, birth_country, born_abroad = _nationality(origin, amif, rng)
    arrival, arrival_q = _arrival(b, birth, born_abroad, amif, rng)
    exit_q = _exit_quarter(b, arrival_q, rng)
    # INSZ; BIS numbers mostly for persons born abroad
    bis = rng.random(n) < np.where(born_abroad, BIS_SHARE * 4, BIS_SHARE * 0.3)
    insz = generate_insz(birth, male, rng, bis_mask=bis)
    traits = _fixed_traits(ref, b, c, male, edu, origin, arr, rng)

    def pad(a: np.ndarray, fill) -> np.ndarray:
        return np.concatenate([a, np.full(c.n, fill, dtype=a.dtype)])

    return Population(
        n=n, insz=insz, birth=birth, male=male, arr=arr, urb=urb, origin=origin,
        nationality=nationality, birth_country=birth_country, arrival=arrival, arrival_q=arrival_q,
        exit_q=exit_q, edu=edu, **traits, u_lwi=rng.random(n),
        has_measure=is_benef.copy(), switch_q=pad(b.switch, 999), pi_pre=pad(b.pi_pre, 0.0),
        pi_post=pad(b.pi_post, 0.0), win_kind=pad(b.win_kind, WIN_NONE), win_start=pad(b.win_start, 999),
        win_end=pad(b.win_end, -1), win_jc=pad(b.win_jc, ""), win_part_time=pad(b.win_part_time, False),
        apprentice=pad(b.apprentice, False), is_control=~is_benef, is_beneficiary=is_benef.copy(),
    )


def _nationality(origin: np.ndarray, amif: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nationality and country of birth follow the origin; AMIF: recently arrived, outside the EU."""
    u = rng.random((3, origin.size))
    nationality = np.where(origin == "1", "1",
                  np.where(origin == "2", np.where(u[0] < 0.6, "2", "1"),
                  np.where(origin == "3", np.where(u[0] < 0.45, "3", "1"),
                           np.where(u[0] < 0.8, "1", "9"))))
    born_abroad = ((origin == "2") & (u[1] < 0.65)) | ((origin == "3") & (u[1] < 0.60)) | (origin == "9")
    birth_country = np.where(born_abroad, np.where(origin == "9", "9", origin), "1")
    born_abroad |= amif
    birth_country = np.where(amif, "3", birth_country)
    nationality = np.where(amif, "3", nationality)
    return nationality, birth_country, born_abroad


def _arrival(b: _Beneficiaries, birth: np.ndarray, born_abroad: np.ndarray, amif: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrival in Belgium: after birth (from age 1), before the measure starts (beneficiaries)."""
    latest = np.full(birth.size, np.datetime64("2022-11-15"), dtype="datetime64[D]")
    latest[:b.n] = quarter_start(np.minimum(b.win_start, b.first)) - np.timedelta64(20, "D")
    earliest = np.maximum(birth + np.timedelta64(365, "D"), np.datetime64("1975-01-01"))
    earliest = np.where(amif, np.maximum(earliest, latest - np.timedelta64(3 * 365, "D")), earliest)
    earliest = np.minimum(earliest, latest)
    span = (latest - earliest).astype(np.int64)
    arrival = earliest + (rng.random(birth.size) * span).astype(np.int64).astype("timedelta64[D]")
    arrival = np.where(born_abroad, arrival, birth)
    arrival_q = np.where(born_abroad, quarter_of(arrival), -1000)
    return arrival, np.maximum(arrival_q, quarter_of(birth))


def _exit_quarter(b: _Beneficiaries, arrival_q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Leaving the register (emigration, death): after the measure's window."""
    n = arrival_q.size
    exit_q = np.full(n, N_QUARTERS, dtype=np.int64)
    after = np.maximum(arrival_q, 0) + 1
    after[:b.n] = np.maximum(after[:b.n], np.maximum(b.win_end, b.last) + 1)
    leaves = (rng.random(n) < EXIT_SHARE) & (after < N_QUARTERS)
    return np.where(leaves, after + (rng.random(n) * (N_QUARTERS - after)).astype(np.int64), exit_q)


def _fixed_traits(ref: Reference, b: _Beneficiaries, c: _Controls, male: np.ndarray, edu: np.ndarray,
                  origin: np.ndarray, arr: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Employment propensity, self-employment, disability, incomes and household types."""
    n = b.n + c.n
    base = np.select([edu == "1", edu == "2", edu == "3"], [0.58, 0.76, 0.87], 0.45)
    base = base * np.where(male, 1.0, 0.93) * np.where(origin == "3", 0.78, 1.0)
    region = ref.arrondissements["region"][arr]
    base = base * np.select([region == BRUSSELS, region == WALLOON], [0.88, 0.92], 1.0)
    pi_level = np.clip(base + rng.normal(0, 0.12, size=n), 0.02, 0.97)
    self_prop = np.concatenate([b.self_prop, np.full(c.n, 0.11)])
    self_prop = np.clip(self_prop * np.where(male, 1.25, 0.75), 0, 0.95)
    side_self = np.concatenate([b.side_self, np.zeros(c.n, dtype=bool)]) | (rng.random(n) < 0.02)
    disabled = np.concatenate([b.disabled, rng.random(c.n) < 0.04])
    disabled_q = np.where(disabled, rng.integers(-40, N_QUARTERS, size=n), 999)
    disabled_q[:b.n] = np.where(b.disabled, np.minimum(disabled_q[:b.n], b.first - 1), 999)
    disability_pct = np.array([33, 50, 66, 67, 80, 100])[_weighted(rng, n, (.2, .2, .25, .1, .1, .15))]
    has_partner = rng.random(n) < 0.6
    partner_income = np.where(has_partner, np.exp(rng.normal(np.log(9000), 0.5, size=n)) * 100, 0).astype(np.int64)
    parents_income = (np.exp(rng.normal(np.log(17000), 0.45, size=n)) * 100).astype(np.int64)
    self_income = (np.exp(rng.normal(np.log(8000), 0.6, size=n)) * 100).astype(np.int64)
    leave_home_age = rng.uniform(19, 29, size=n)
    hh_child = np.array(["CMAR", "CUNM", "C1PA"])[_weighted(rng, n, (.65, .15, .20))]
    hh_adult_partner = np.array(["MAR0", "MAR+", "UNM0", "UNM+"])[_weighted(rng, n, (.25, .40, .15, .20))]
    hh_adult_single = np.array(["SING", "H1PA", "NFRP", "OTHR", "COLL"])[_weighted(rng, n, (.62, .22, .07, .06, .03))]
    return dict(pi_level=pi_level, self_prop=self_prop, side_self=side_self, disabled_q=disabled_q,
                disability_pct=disability_pct, partner_income=partner_income, parents_income=parents_income,
                self_income=self_income, leave_home_age=leave_home_age, hh_child=hh_child,
                hh_adult=np.where(has_partner, hh_adult_partner, hh_adult_single))


def _add_measure_rows(pop: Population, measures: list[str], b: _Beneficiaries, secondary: np.ndarray,
                      rng: np.random.Generator) -> None:
    """The primary measure rows, then second measures for some beneficiaries."""
    age_days = lambda person, q: (quarter_start(q) - pop.birth[person]).astype(np.int64) / 365.25  # noqa: E731
    for k, m in enumerate(measures):
        idx = np.flatnonzero(b.pm == k)
        mr = MeasureRows(person=idx, first=b.first[idx], last=b.last[idx], variant=dict(b.variants[m]))
        if secondary[k]:
            mr = _add_secondary(m, mr, int(secondary[k]), pop, b.n, rng, age_days)
        pop.measures[m] = mr


def _add_control_overlap(pop: Population, n_benef: int, c: _Controls, rng: np.random.Generator) -> None:
    """Control persons who are also beneficiaries: working age in 2018 and in the register then."""
    age18 = (CONTROL_REFERENCE_DAY - pop.birth[:n_benef]).astype(np.int64) / 365.25
    q18 = 18
    cand = np.flatnonzero((age18 >= 18) & (age18 < 65) & (pop.arrival_q[:n_benef] <= q18) & (pop.exit_q[:n_benef] > q18))
    chosen = rng.choice(cand, size=min(c.n_overlap, cand.size), replace=False)
    pop.is_control[chosen] = True


def _add_secondary(m: str, mr: MeasureRows, k: int, pop: Population, n_benef: int,
                   rng: np.random.Generator, age_days) -> MeasureRows:
    """k more rows of measure m for beneficiaries of other measures whose age and presence fit."""
    spec = SPECS[m]
    bands = np.asarray(spec.ages, dtype=float)
    taken = np.zeros(n_benef, dtype=bool)
    taken[mr.person] = True
    persons, firsts, lasts = [], [], []
    got = 0
    for _ in range(200):
        if got >= k:
            break
        size = max(4 * (k - got), 64)
        cand = rng.integers(0, n_benef, size=size)
        f, lst, ws, we, sw = _measure_quarters(m, rng, size)
        age = age_days(cand, f)
        ok = ((age[:, None] >= bands[:, 0]) & (age[:, None] < bands[:, 1])).any(axis=1)
        ok &= ~taken[cand] & (pop.arrival_q[cand] <= np.minimum(f, ws)) & (pop.exit_q[cand] > np.maximum(lst, we))
        sel = np.flatnonzero(ok)
        _, first_of = np.unique(cand[sel], return_index=True)
        sel = np.sort(sel[first_of])[: k - got]
        taken[cand[sel]] = True
        persons.append(cand[sel])
        firsts.append(f[sel])
        lasts.append(lst[sel])
        got += sel.size
    person = np.concatenate([mr.person, *persons])
    first = np.concatenate([mr.first, *firsts])
    last = np.concatenate([mr.last, *lasts])
    variant = dict(mr.variant)
    n_sec = person.size - mr.person.size
    if n_sec:
        sec_person = person[mr.person.size:]
        if m == "doelgroepvermindering":
            extra = _reduction_codes(rng, age_days(sec_person, first[mr.person.size:]), pop.edu[sec_person])
            variant["reduction_code"] = np.concatenate([variant["reduction_code"], extra])
        elif m == "vop":
            extra = np.where(rng.random(n_sec) < 0.85, "WN", "ZS")
            variant["allowance_type"] = np.concatenate([variant["allowance_type"], extra])
        elif m == "transitiepremie":
            variant["side_self"] = np.concatenate([variant["side_self"], pop.side_self[sec_person]])
    return MeasureRows(person=person, first=first, last=last, variant=variant)


def _sorted_by_insz(pop: Population) -> Population:
    """Reorder persons by INSZ (row order then carries no meaning) and remap the measure rows."""
    order = np.argsort(pop.insz, kind="stable")
    new_index = np.empty_like(order)
    new_index[order] = np.arange(order.size)
    for name, value in list(vars(pop).items()):
        if isinstance(value, np.ndarray) and value.shape == (pop.n,):
            setattr(pop, name, value[order])
    for mr in pop.measures.values():
        mr.person = new_index[mr.person]
    return pop
