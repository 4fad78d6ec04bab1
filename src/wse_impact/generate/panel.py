"""The warehouse's quarterly snapshots: a per-person Markov chain simulated quarter by quarter.

Each quarter every person in the register is salaried, self-employed, job-seeking or not
active. Employment follows a two-state chain (enter with probability mobility * pi, leave
with mobility * (1 - pi)) whose propensity pi depends on the person, their age, and, for
beneficiaries, on whether their measure has started; while the measure runs the person is
in the situation it implies (e.g. salaried in a maatwerk company). Salaried work comes in
spells with one employer: sector, joint committee, regime, wage and seniority belong to the
spell. Each quarter is written as one parquet partition as soon as it is simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wse_impact.generate import population as P
from wse_impact.generate.population import Population, draw_urbanisation, urbanisation_weights
from wse_impact.generate.reference import N_QUARTERS, QUARTER_LABELS, Reference, quarter_end

from wse_impact.generate.panel_parameters import (
    ABSENT, APPRENTICE_JCS, BENEFIT_EUR, INACTIVE, JC_NACE, JOBSEEKER, JOB_CHANGE, MOBILITY, MOVE,
    NONEMP_CODES, NONEMP_WEIGHTS, PART_TIME_PCT, REGIMES, SALARIED, SELF, SIZE_WEIGHTS, WAGE_INDEX,
)


def _dictionary(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def _strings(dictionary: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    indices = pa.array(idx.astype(np.int32), mask=None if valid is None else ~valid)
    return dictionary.take(indices)


def _ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int32), type=pa.int32(), mask=None if valid is None else ~valid)


def _decimals(cents: np.ndarray, typ: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """decimal128 array straight from integer hundredths (no Python objects)."""
    n = cents.size
    cents = np.where(valid, cents, 0) if valid is not None else cents
    buf = np.empty((n, 2), dtype=np.int64)
    buf[:, 0] = cents
    buf[:, 1] = cents >> 63
    if valid is None:
        return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(buf)], null_count=0)
    bitmap = pa.array(valid, type=pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(buf)], null_count=int(n - valid.sum()))


class Panel:
    """State of every person, advanced one quarter at a time."""

    def __init__(self, ref: Reference, pop: Population, rng: np.random.Generator) -> None:
        self.ref, self.pop, self.rng = ref, pop, rng
        n = pop.n
        self.n = n
        self.state = np.zeros(n, dtype=np.int8)
        self.nonemp_u = rng.random(n)
        self.js_u = rng.random(n)
        self.helper = rng.random(n) < 0.05
        self.arr = pop.arr.copy()
        self.urb_weights = urbanisation_weights(ref)
        # the current salaried spell
        self.jc = np.zeros(n, dtype=np.int64)
        self.cls = np.zeros(n, dtype=np.int64)
        self.nace = np.zeros(n, dtype=np.int64)
        self.regime = np.zeros(n, dtype=np.int64)
        self.pct = np.zeros(n, dtype=np.int64)
        self.size = np.zeros(n, dtype=np.int64)
        self.dist = np.zeros(n, dtype=np.int64)
        self.dwage = np.zeros(n)
        self.full_days = np.zeros(n, dtype=np.int64)
        self.seniority = np.zeros(n, dtype=np.int64)
        self.qworked = np.zeros(n, dtype=np.int64)
        self.in_apprentice_spell = np.zeros(n, dtype=bool)
        self._joint_committees(ref)
        self._code_dictionaries(ref)
        self._person_columns(ref, pop)

    def _joint_committees(self, ref: Reference) -> None:
        """Joint committees by employee class, their NACE divisions, the apprentices' ones."""
        self.jc_codes = list(ref.joint_committees)
        unknown = set(self.jc_codes) - set(JC_NACE)
        if unknown:
            raise ValueError(f"joint committees without a sector mapping in the generator: {sorted(unknown)}")
        divisions = set(ref.nace_divisions.tolist())
        bad = {jc: d for jc, (_, ds) in JC_NACE.items() for d in ds if d not in divisions}
        if bad:
            raise ValueError(f"NACE divisions outside nace_sections.csv: {bad}")
        wt = ref.joint_committees
        base = np.array([JC_NACE[c][0] for c in self.jc_codes])
        kind = np.array([wt[c] for c in self.jc_codes])
        # P(joint committee | employee class 1..4)
        self.jc_weights = np.vstack([
            base * np.select([kind == "manual", kind == "mixed"], [0.70 / base[kind == "manual"].sum(),
                                                                   0.30 / base[kind == "mixed"].sum()], 0),
            base * np.select([kind == "white_collar", kind == "mixed"], [0.75 / base[kind == "white_collar"].sum(),
                                                                         0.25 / base[kind == "mixed"].sum()], 0),
            (kind == "none").astype(float),
            base * (kind == "mixed"),
        ])
        self.jc_weights /= self.jc_weights.sum(axis=1, keepdims=True)
        self.jc_cum = np.cumsum(self.jc_weights, axis=1)
        self.jc_divs = [np.array(JC_NACE[c][1]) for c in self.jc_codes]
        self.jc_index = {c: i for i, c in enumerate(self.jc_codes)}
        self.apprentice_jc = np.array([self.jc_index[c] for c in APPRENTICE_JCS])
        self.jc_white = np.array([ref.joint_committees[c] == "white_collar" for c in self.jc_codes])

    def _code_dictionaries(self, ref: Reference) -> None:
        """The output dictionaries (every code from the seeds), checked against the codes drawn."""
        self.d_arr = _dictionary(ref.arrondissements["code"])
        self.d_jc = _dictionary(self.jc_codes)
        self.d_regime = _dictionary(REGIMES)
        self.d_digit = _dictionary(str(i) for i in range(10))
        self.d_nace = _dictionary(f"{i:05d}" for i in range(100_000))
        self.sep_codes = ref.socio_economic_positions
        for c in NONEMP_CODES + ["1.1", "1.2", "1.3", "1.4"]:
            if c not in self.sep_codes:
                raise ValueError(f"socio-economic position {c} not in seeds")
        self.d_sep = _dictionary(self.sep_codes)
        self.sep_index = {c: i for i, c in enumerate(self.sep_codes)}
        self.nonemp_sep = np.array([self.sep_index[c] for c in NONEMP_CODES])
        self.benefit_by_sep = np.array([BENEFIT_EUR.get(c, 0) * 100 for c in self.sep_codes])
        self.d_add = _dictionary(ref.codes("additional_positions", "additional_position_code"))
        self.add_index = {c: i for i, c in enumerate(ref.codes("additional_positions", "additional_position_code"))}
        js = ref.codes("job_seeker_categories", "job_seeker_category_code")
        self.d_js = _dictionary(js)
        self.js_index = {c: i for i, c in enumerate(js)}
        for seed, column, used in (
            ("sexes", "sex_code", {"M", "F"}), ("urbanisation_degrees", "urbanisation_code", {"1", "2", "3"}),
            ("origin_groups", "origin_group_code", set(P.ORIGIN_CODES)),
            ("education_levels", "education_level_code", set(P.EDU_CODES)),
            ("household_types", "household_type_code", {"CMAR", "CUNM", "C1PA", "MAR0", "MAR+", "UNM0", "UNM+",
                                                         "SING", "H1PA", "NFRP", "OTHR", "COLL"}),
            ("work_regimes", "work_regime_code", set(REGIMES)),
            ("employee_classes", "employee_class_code", {"1", "2", "3", "4"}),
            ("employer_size_classes", "employer_size_code", {str(i) for i in range(10)}),
        ):
            missing = used - set(ref.codes(seed, column))
            if missing:
                raise ValueError(f"codes {sorted(missing)} not in seeds/{seed}.csv")
    def _person_columns(self, ref: Reference, pop: Population) -> None:
        """Integer versions of the string traits (string operations are slow per quarter), the
        fixed columns as arrow arrays, and where people move to."""
        self.edu_i = np.searchsorted(P.EDU_CODES, pop.edu)
        self.urb_codes = np.array(["1", "2", "3"])
        self.urb_i = np.searchsorted(self.urb_codes, pop.urb)
        self.d_urb = _dictionary(self.urb_codes)
        self.hh_codes = np.array(sorted({*pop.hh_child.tolist(), *pop.hh_adult.tolist()}))
        self.d_hh = _dictionary(self.hh_codes)
        self.hh_child_i = np.searchsorted(self.hh_codes, pop.hh_child)
        self.hh_adult_i = np.searchsorted(self.hh_codes, pop.hh_adult)
        self.win_jc_i = np.array([self.jc_index[c] if c else -1 for c in pop.win_jc.tolist()], dtype=np.int64)
        self.fixed = {name: pa.array(getattr(pop, attr), type=pa.string()) for name, attr in (
            ("herkomst", "origin"), ("nationaliteit", "nationality"), ("geboorteland", "birth_country"),
            ("onderwijsniveau", "edu"))}
        self.insz = pa.array(pop.insz, type=pa.string())
        self.birth = pa.array(pop.birth.astype(np.int64).astype(np.int32), type=pa.date32())
        self.sex = pa.array(np.where(pop.male, "M", "F"), type=pa.string())
        self.region_cands = {}
        a = ref.arrondissements
        for reg in np.unique(a["region"]):
            cand = np.flatnonzero(a["region"] == reg)
            self.region_cands[reg] = (cand, np.cumsum(a["population"][cand] / a["population"][cand].sum()))

    # ----- spells ----------------------------------------------------------------------------------
    def _new_spells(self, idx: np.ndarray, age: np.ndarray, t: int, initial: bool) -> None:
        """Draw the employer of a new salaried spell for persons idx."""
        rng, pop = self.rng, self.pop
        k = idx.size
        if k == 0:
            return
        edu = self.edu_i[idx] + 1  # 1 low, 2 medium, 3 high, 4 unknown
        u = rng.random((8, k))
        # employee class: 1 manual, 2 white-collar, 3 civil servant, 4 other
        p_manual = np.array([.70, .45, .12, .55])[edu - 1]
        p_white = np.array([.18, .38, .60, .30])[edu - 1]
        p_civil = np.array([.08, .08, .24, .08])[edu - 1]
        cls = np.where(u[0] < p_manual, 1, np.where(u[0] < p_manual + p_white, 2,
                       np.where(u[0] < p_manual + p_white + p_civil, 3, 4)))
        jc = (self.jc_cum[cls - 1] <= u[1][:, None]).sum(axis=1)
        jc = np.minimum(jc, len(self.jc_codes) - 1)
        regime = np.where(u[2] < np.where(pop.male[idx], .88, .60), 0, 1)
        regime = np.where(u[2] > .97, np.where(u[2] > .985, 3, 2), regime)
        pct = np.where(regime == 1, PART_TIME_PCT[(u[3] * PART_TIME_PCT.size).astype(np.int64)], 10000)
        pct = np.where(regime == 2, 5000 + (u[3] * 50).astype(np.int64) * 100, pct)
        size = np.searchsorted(np.cumsum(SIZE_WEIGHTS), u[4] * 0.99999, side="right")
        size = np.where(cls == 3, np.where(u[4] < .3, 8, 9), size)
        median = np.select([cls == 1, cls == 2, cls == 3], [105.0, 135.0, 140.0], 95.0)
        median = median * np.array([0.9, 1.0, 1.3, 1.0])[edu - 1]
        median = median * np.clip(0.75 + 0.012 * (age[idx] - 20), 0.75, 1.25) * np.where(pop.male[idx], 1.0, 0.93)
        dwage = median * np.exp(rng.normal(0, 0.22, size=k))

        # a measure's job: the joint committee of the supported employment, or an apprenticeship
        apprentice = pop.apprentice[idx] & (pop.win_start[idx] <= t) & (t <= pop.win_end[idx])
        win_jc = self.win_jc_i[idx]
        forced = (win_jc >= 0) & (pop.win_start[idx] <= t) & (t <= pop.win_end[idx])
        if forced.any():
            jc[forced] = win_jc[forced]
            cls[forced] = np.where(u[5][forced] < .75, 1, 2)
            size[forced] = 5 + (u[5][forced] * 4).astype(np.int64)
            dwage[forced] = np.minimum(dwage[forced], 95.0 * np.exp(rng.normal(0, 0.1, size=int(forced.sum()))))
        if apprentice.any():
            a = np.flatnonzero(apprentice)
            jc[a] = self.apprentice_jc[(u[5][a] * self.apprentice_jc.size).astype(np.int64)]
            cls[a] = np.where(self.jc_white[jc[a]], 2, 1)
            regime[a] = 1
            pct[a] = np.where(u[3][a] < .5, 5000, 6000)
            size[a] = 1 + (u[4][a] * 5).astype(np.int64)
            dwage[a] = 45.0 * np.exp(rng.normal(0, 0.15, size=a.size))
        # the sector follows the joint committee
        divs = np.empty(k, dtype=np.int64)
        for j in np.unique(jc):
            sel = np.flatnonzero(jc == j)
            d = self.jc_divs[j]
            divs[sel] = d[(u[6][sel] * d.size).astype(np.int64)]
        rest = (1 + (u[7] * 9).astype(np.int64)) * 100 + rng.integers(0, 100, size=k)
        self.nace[idx] = divs * 1000 + rest
        self.jc[idx], self.cls[idx], self.regime[idx], self.pct[idx], self.size[idx] = jc, cls, regime, pct, size
        self.dist[idx] = np.clip(np.exp(rng.normal(np.log(12), 0.9, size=k)), 0.3, 250) * 100
        self.dwage[idx] = dwage / WAGE_INDEX ** t
        self.full_days[idx] = np.where(rng.random(k) < .85, 65, 78)
        self.in_apprentice_spell[idx] = apprentice
        if initial:
            cap = np.maximum(1, ((age[idx] - 16) * 4).astype(np.int64))
            self.seniority[idx] = np.minimum(rng.geometric(1 / 28, size=k), cap)
        else:
            self.seniority[idx] = 1

    # ----- one quarter ------------------------------------------------------------------------------
    def step(self, t: int) -> pa.Table:
        """Quarter t: who works (and how), who does what else, who moves, the quarter's
        values, as the snapshot's arrow table; the random draws in a fixed order."""
        q = self._employment(t)
        self._salaried_spells(q)
        self._position(q)
        self._moves(q)
        return self._snapshot(q, self._values(q))

    def _employment(self, t: int) -> "_Quarter":
        """Employed or not, salaried or self-employed, new spells; the measure's window."""
        rng, pop, n = self.rng, self.pop, self.n
        present = (pop.arrival_q <= t) & (t < pop.exit_q)
        prev = self.state.copy()
        prev[~present] = ABSENT
        arrived = present & (self.state == ABSENT)
        qend = quarter_end(t)
        age = (qend - pop.birth).astype(np.int64) / 365.25
        q = _Quarter(t, present, prev, arrived, qend, age)

        # employment propensity
        agef_ctrl = np.select([age < 15, age < 18, age < 22, age < 25, age < 55, age < 60, age < 65],
                              [0, .05, .35, .70, 1.0, .80, .45], .04)
        agef_benef = np.select([age < 15, age < 18, age < 60, age < 65], [0, .3, 1.0, .5], .05)
        pi = np.where(pop.has_measure, np.where(t < pop.switch_q, pop.pi_pre, pop.pi_post) * agef_benef,
                      pop.pi_level * agef_ctrl)
        q.u = u = rng.random((6, n))
        was_emp = (prev == SALARIED) | (prev == SELF)
        employed = np.where(arrived, u[0] < pi,
                            np.where(was_emp, u[0] >= MOBILITY * (1 - pi), u[0] < MOBILITY * pi))
        employed &= present & (age >= 15)
        state = np.where(employed, np.where(was_emp & ~arrived, prev, np.where(u[1] < pop.self_prop, SELF, SALARIED)),
                         INACTIVE).astype(np.int8)
        new_spell = (state == SALARIED) & ((prev != SALARIED) | arrived | (u[2] < JOB_CHANGE))
        new_spell |= (state == SALARIED) & self.in_apprentice_spell & (t > pop.win_end)

        # the measure's situation while it runs
        q.inwin = inwin = pop.has_measure & present & (pop.win_start <= t) & (t <= pop.win_end)
        q.kind = kind = np.where(inwin, pop.win_kind, P.WIN_NONE)
        force_w = kind == P.WIN_SALARIED
        q.start_w = start_w = force_w & (t == pop.win_start) & ((prev != SALARIED) | (self.win_jc_i >= 0) | pop.apprentice)
        new_spell |= start_w
        state = np.where(force_w, SALARIED, state)
        state = np.where(kind == P.WIN_SELF, SELF, state)
        q.state = np.where((kind == P.WIN_JOBSEEKER) | (kind == P.WIN_CAREER_BREAK) | (kind == P.WIN_DISABILITY),
                           INACTIVE, state).astype(np.int8)
        q.new_spell = new_spell & (q.state == SALARIED)
        return q

    def _salaried_spells(self, q: "_Quarter") -> None:
        """New jobs, seniority, part time while the measure asks for it."""
        pop, t, state, new_spell = self.pop, q.t, q.state, q.new_spell
        initial = new_spell & ((t == 0) | q.arrived) & ~q.start_w
        self._new_spells(np.flatnonzero(initial), q.age, t, initial=True)
        self._new_spells(np.flatnonzero(new_spell & ~initial), q.age, t, initial=False)
        cont = (state == SALARIED) & ~new_spell
        self.seniority[cont] += 1
        q.part_win = part_win = q.inwin & pop.win_part_time & ~pop.apprentice & (state == SALARIED)
        if part_win.any():
            self.regime[part_win] = 1
            self.pct[part_win] = np.minimum(self.pct[part_win], np.where(self.js_u[part_win] < .5, 5000, 8000))

    def _position(self, q: "_Quarter") -> None:
        """The socio-economic position: of those not working by age band, redrawn when a spell
        of not working starts; quarters worked."""
        rng, pop, t, age, kind, prev, present, arrived = (self.rng, self.pop, q.t, q.age, q.kind, q.prev, q.present,
                                                         q.arrived)
        state = q.state
        nonemp = present & (state == INACTIVE)
        fresh = nonemp & ((prev == SALARIED) | (prev == SELF) | arrived)
        self.nonemp_u[fresh] = rng.random(int(fresh.sum()))
        self.js_u[fresh] = rng.random(int(fresh.sum()))
        band = np.searchsorted([18, 25, 55, 60, 65], age, side="right")
        cum = np.cumsum(NONEMP_WEIGHTS, axis=1)[band]
        k = np.minimum((cum <= self.nonemp_u[:, None] * cum[:, -1:]).sum(axis=1), len(NONEMP_CODES) - 1)
        q.disabled = disabled = pop.disabled_q <= t
        k = np.where(disabled & (band >= 2) & (band <= 4), np.where(self.nonemp_u < .5, 10, 9), k)  # 3.8 / 3.7
        k = np.where(kind == P.WIN_JOBSEEKER, np.where(age < 25, 2, 0), k)
        k = np.where(kind == P.WIN_CAREER_BREAK, 3, k)
        k = np.where(kind == P.WIN_DISABILITY, 10, k)
        sep = self.nonemp_sep[k]
        sep = np.where(state == SALARIED, np.where(pop.side_self, self.sep_index["1.4"], self.sep_index["1.1"]), sep)
        q.sep = np.where(state == SELF, np.where(self.helper, self.sep_index["1.3"], self.sep_index["1.2"]), sep)
        state = np.where(nonemp & (k <= 2), JOBSEEKER, state).astype(np.int8)
        self.state = np.where(present, state, ABSENT).astype(np.int8)
        q.sal = self.state == SALARIED
        q.working = working = q.sal | (self.state == SELF)
        self.qworked[working] += 1
        first_q = (arrived | (t == 0)) & present
        if first_q.any():
            f = np.flatnonzero(first_q)
            self.qworked[f] = np.minimum(
                (np.clip(age[f] - 19, 0, None) * 4 * pop.pi_level[f] * rng.uniform(.5, 1, size=f.size)).astype(np.int64),
                44 + t) + working[f]

    def _moves(self, q: "_Quarter") -> None:
        rng = self.rng
        moves = q.present & (q.u[3] < MOVE)
        if moves.any():
            regions = self.ref.arrondissements["region"][self.arr]
            for reg, (cand, cum_pop) in self.region_cands.items():
                sel = np.flatnonzero(moves & (regions == reg))
                self.arr[sel] = cand[np.minimum(np.searchsorted(cum_pop, rng.random(sel.size)), cand.size - 1)]
            sel = np.flatnonzero(moves)
            self.urb_i[sel] = np.searchsorted(self.urb_codes, draw_urbanisation(rng, self.arr[sel], self.urb_weights))

    def _values(self, q: "_Quarter") -> dict[str, np.ndarray]:
        """The quarter's values (exact): days, wages, incapacity, household income, codes."""
        rng, pop, n, t, u, age, sal, sep, working = (self.rng, self.pop, self.n, q.t, q.u, q.age, q.sal, q.sep,
                                                     q.working)
        si = self.sep_index
        is_sep = {c: sep == i for c, i in si.items() if c[0] in "23"}
        unemployed = is_sep["2.1"] | is_sep["2.2"]
        sick = sal & (u[4] < .05)
        incap_days = np.where(is_sep["3.7"], np.where(u[4] < .8, 78, 40 + (u[4] * 38).astype(np.int64)), 0)
        incap_days = np.where(sick, 1 + (u[5] * 30).astype(np.int64), incap_days)
        days = np.where(self.regime == 0, self.full_days, (self.full_days * self.pct / 10000 * (0.85 + 0.15 * u[5])))
        days = np.where(self.regime >= 2, 20 + u[5] * 58, days)
        days = np.where(q.new_spell, days * (0.1 + 0.9 * u[3]), days)
        days = np.where(sick, days - incap_days * 0.7, days)
        days = np.where(sal, np.clip(np.rint(days), 1, 92), 0).astype(np.int64)
        daily = np.where(sal, np.rint(self.dwage * WAGE_INDEX ** t * 100), 0).astype(np.int64)
        gross = np.where(sal, np.rint(daily * days * (1 + rng.normal(0, 0.01, size=n))), 0).astype(np.int64)
        gross = np.maximum(gross, 0)
        recognised = q.disabled
        incap_pct = np.where(recognised, pop.disability_pct, 0)
        incap_pct = np.where(is_sep["3.7"], np.maximum(incap_pct, 66), incap_pct)

        child_hh = (age < 18) | (age < pop.leave_home_age)
        idx_t = WAGE_INDEX ** t
        income = gross + np.where(self.state == SELF, pop.self_income * idx_t, 0)
        income = income + np.where(self.state >= JOBSEEKER, self.benefit_by_sep[sep] * idx_t, 0)
        income = income + np.where(child_hh, pop.parents_income, pop.partner_income) * idx_t
        income = np.rint(np.maximum(income, 0)).astype(np.int64)
        working_age = (age >= 18) & (age < 65)
        lwi = working_age & ~child_hh & np.where(working, pop.u_lwi < .02, pop.u_lwi < .5)
        hh = np.where(child_hh, self.hh_child_i, self.hh_adult_i)
        residence = np.maximum(((q.qend - pop.arrival).astype(np.int64) / 365.25).astype(np.int64), 0)
        return dict(days=days, daily=daily, gross=gross, recognised=recognised, incap_pct=incap_pct,
                    incap_days=incap_days, income=income, lwi=lwi, hh=hh, residence=residence,
                    add=self._additional_position(q, is_sep, unemployed, sick, recognised),
                    js=self._jobseeker_category(q, is_sep, unemployed))

    def _additional_position(self, q: "_Quarter", is_sep: dict[str, np.ndarray], unemployed: np.ndarray,
                             sick: np.ndarray, recognised: np.ndarray) -> np.ndarray:
        sal = q.sal
        add = np.full(self.n, self.add_index["00"])
        for code, mask in (
            ("01", unemployed | is_sep["2.3"] | is_sep["3.5"]),
            ("02", is_sep["3.7"] | (sal & sick & recognised)),
            ("03", is_sep["3.4"]),
            ("07", is_sep["3.4"] & recognised),
            ("06", unemployed & recognised),
            ("04", is_sep["3.1"]),
            ("05", q.part_win | (sal & (self.js_u < .015))),
        ):
            add = np.where(mask, self.add_index[code], add)
        return add

    def _jobseeker_category(self, q: "_Quarter", is_sep: dict[str, np.ndarray], unemployed: np.ndarray) -> np.ndarray:
        js = np.full(self.n, self.js_index["00"])
        js = np.where(unemployed, self.js_index["01"], js)
        js = np.where(is_sep["2.3"], self.js_index["02"], js)
        js = np.where(is_sep["3.9"] & (self.js_u < .15), self.js_index["03"], js)
        js = np.where(is_sep["3.3"] & (self.js_u < .5), self.js_index["04"], js)
        return np.where(q.sal & (self.regime == 1) & (self.js_u < .08), self.js_index["05"], js)

    def _snapshot(self, q: "_Quarter", v: dict[str, np.ndarray]) -> pa.Table:
        """Arrow columns for the persons in the register, in the declared snapshot schema."""
        pop, sal, sep = self.pop, q.sal, q.sep
        ix = np.flatnonzero(q.present)
        take = pa.array(ix.astype(np.int32))
        s = sal[ix]
        schema = self.ref.snapshot_schema
        t_ = {f.name: f.type for f in schema}
        cols: dict[str, pa.Array] = {
            "insz": self.insz.take(take),
            "geboortedatum": self.birth.take(take),
            "geslacht": self.sex.take(take),
            "nis_arrondissement": _strings(self.d_arr, self.arr[ix]),
            "urbanisatiegraad": _strings(self.d_urb, self.urb_i[ix]),
            "herkomst": self.fixed["herkomst"].take(take),
            "nationaliteit": self.fixed["nationaliteit"].take(take),
            "geboorteland": self.fixed["geboorteland"].take(take),
            "jaren_verblijf_belgie": _ints(v["residence"][ix]),
            "onderwijsniveau": self.fixed["onderwijsniveau"].take(take),
            "lage_werkintensiteit": pa.array(v["lwi"][ix], type=pa.bool_()),
            "gezinstype": _strings(self.d_hh, v["hh"][ix]),
            "gezinsinkomen": _decimals(v["income"][ix], t_["gezinsinkomen"]),
            "ancienniteit_kwartalen": _ints(np.where(sal, self.seniority, 0)[ix]),
            "nace_code": _strings(self.d_nace, self.nace[ix], s),
            "paritair_comite": _strings(self.d_jc, self.jc[ix], s),
            "arbeidsregime": _strings(self.d_regime, self.regime[ix], s),
            "dagen_tewerkstelling": _ints(v["days"][ix]),
            "kwartalen_tewerkstelling": _ints(self.qworked[ix]),
            "percentage_deeltijds": _decimals(self.pct[ix], t_["percentage_deeltijds"], s),
            "werknemersklasse": _strings(self.d_digit, self.cls[ix], s),
            "zelfstandige": pa.array(((self.state == SELF) | (sal & pop.side_self))[ix], type=pa.bool_()),
            "dimensiecode_werkgever": _strings(self.d_digit, self.size[ix], s),
            "afstand_woon_werk_km": _decimals(self.dist[ix], t_["afstand_woon_werk_km"], s),
            "dagloon": _decimals(v["daily"][ix], t_["dagloon"]),
            "brutoloon_kwartaal": _decimals(v["gross"][ix], t_["brutoloon_kwartaal"]),
            "socio_economische_positie": _strings(self.d_sep, sep[ix]),
            "bijkomende_positie": _strings(self.d_add, v["add"][ix]),
            "categorie_werkzoekende": _strings(self.d_js, v["js"][ix]),
            "erkende_invaliditeit": pa.array(v["recognised"][ix], type=pa.bool_()),
            "percentage_arbeidsongeschiktheid": _ints(v["incap_pct"][ix]),
            "dagen_arbeidsongeschiktheid": _ints(v["incap_days"][ix]),
        }
        missing = set(schema.names) - set(cols)
        if missing:
            raise ValueError(f"snapshot columns in _dwh__sources.yml the generator does not produce: {sorted(missing)}")
        return pa.table([cols[name].cast(t_[name]) for name in schema.names], schema=schema)



class _Quarter:
    """One quarter's draws and states, handed from one step of `Panel.step` to the next."""

    def __init__(self, t: int, present: np.ndarray, prev: np.ndarray, arrived: np.ndarray, qend: np.ndarray,
                 age: np.ndarray):
        self.t, self.present, self.prev, self.arrived, self.qend, self.age = t, present, prev, arrived, qend, age


def write_snapshots(ref: Reference, pop: Population, rng: np.random.Generator, out: Path,
                    tick: Callable[[], None] = lambda: None) -> dict[str, int]:
    """Simulate and write dwh/snapshots/quarter=YYYYQn/part-0.parquet; returns rows per file."""
    panel = Panel(ref, pop, rng)
    counts: dict[str, int] = {}
    # dictionary-encode the code columns only (not the INSZ, amounts, distances)
    dictionary_columns = [f.name for f in ref.snapshot_schema
                          if pa.types.is_string(f.type) and f.name not in ("insz", "nace_code")]

    def write(table: pa.Table, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="snappy", use_dictionary=dictionary_columns)
        tick()

    # the next quarter is simulated while the previous one is written (pyarrow releases the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for t in range(N_QUARTERS):
            table = panel.step(t)
            name = f"dwh/snapshots/quarter={QUARTER_LABELS[t]}/part-0.parquet"
            counts[name] = table.num_rows
            if pending is not None:
                pending.result()
            pending = pool.submit(write, table, out / name)
        pending.result()
    return counts
