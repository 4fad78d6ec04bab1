"""The synthetic population's parameters: sizes at scale 1.0, code sets, and each measure's
specification (ages, duration, window, traits of its beneficiaries)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ----- sizes at scale 1.0 ----------------------------------------------------------------------
N_BENEFICIARIES = 150_000
N_CONTROL = 108_000
CONTROL_OVERLAP_SHARE = 0.03      # control persons who are also beneficiaries
ROW_FACTOR = 1.03                 # measure rows sum to ~159,000 for 150,000 distinct persons
MIN_ROWS_PER_MEASURE = 5
BIS_SHARE = 0.01
EXIT_SHARE = 0.015                # emigrate or die during the period
MEASURE_SIZES = {                 # rows per extract, in proportion to the real ones
    "vop": 18_000, "doelgroepvermindering": 30_000, "transitiepremie": 2_000,
    "vlaams_opleidingsverlof": 20_000, "betaald_educatief_verlof": 6_000, "duaal_leren": 10_000,
    "startbonus_stagebonus": 8_000, "lokale_diensteneconomie": 2_400, "maatwerk": 24_000,
    "arbeidsmatige_activiteiten": 1_650, "opleidingscheques": 12_000, "vlaams_zorgkrediet": 3_000,
    "aanmoedigingspremie": 8_000, "aanwervingsincentive": 4_000, "outreach_activering": 3_000,
    "amif": 2_500,
}

# window kinds: the situation a primary beneficiary is in while the measure runs
WIN_NONE, WIN_SALARIED, WIN_SELF, WIN_JOBSEEKER, WIN_CAREER_BREAK, WIN_DISABILITY = range(6)

EDU_CODES = np.array(["1", "2", "3", "9"])
ORIGIN_CODES = np.array(["1", "2", "3", "9"])  # Belgium, other EU, outside EU, unknown
EDU_DEFAULT = (0.28, 0.40, 0.30, 0.02)


@dataclass(frozen=True)
class MeasureSpec:
    ages: tuple[tuple[float, float, float], ...]      # (from, to, weight) bands of age at the start
    period: tuple[int, int]                           # first quarter drawn in this range
    mean_duration: float                              # quarters from first to last (0: one quarter)
    pre: float                                        # employment propensity before the start
    post: float                                       # ... and after it
    window: int = WIN_SALARIED
    female: float = 0.45
    edu: tuple[float, float, float, float] = EDU_DEFAULT
    flemish: float = 0.90
    origin: tuple[float, float, float, float] = (0.72, 0.10, 0.17, 0.01)
    disabled: float = 0.03
    window_jc: str = ""                               # joint committee of the supported job
    secondary: bool = True                            # may be a person's second measure


SPECS: dict[str, MeasureSpec] = {
    "vop": MeasureSpec(((20, 30, .2), (30, 50, .5), (50, 63, .3)), (0, 35), 8, .50, .82,
                       female=.40, edu=(.40, .40, .17, .03), disabled=1.0),
    "doelgroepvermindering": MeasureSpec(((16, 26, .5), (55, 64.5, .5)), (0, 35), 5, .40, .85, female=.45,
                                         secondary=True),
    "transitiepremie": MeasureSpec(((25, 40, .5), (40, 60, .5)), (8, 35), 0, .80, .95, window=WIN_SELF,
                                   female=.35, edu=(.15, .40, .43, .02)),
    "vlaams_opleidingsverlof": MeasureSpec(((22, 35, .45), (35, 60, .55)), (22, 35), 0, .90, .93,
                                           female=.50, edu=(.12, .40, .46, .02)),
    "betaald_educatief_verlof": MeasureSpec(((22, 35, .45), (35, 60, .55)), (0, 35), 1, .90, .92,
                                            female=.45, edu=(.15, .42, .41, .02)),
    "duaal_leren": MeasureSpec(((15, 19, .6), (19, 25, .4)), (0, 35), 4, .05, .62, female=.35,
                               edu=(.65, .33, 0, .02), flemish=.95, secondary=False),
    "startbonus_stagebonus": MeasureSpec(((15, 19, .6), (19, 25, .4)), (0, 35), 0, .10, .60, female=.35,
                                         edu=(.65, .33, 0, .02), flemish=.95),
    "lokale_diensteneconomie": MeasureSpec(((25, 45, .5), (45, 64, .5)), (0, 35), 8, .30, .62,
                                           edu=(.55, .35, .07, .03), disabled=.30, window_jc="329.01"),
    "maatwerk": MeasureSpec(((20, 40, .45), (40, 64, .55)), (0, 35), 10, .35, .78, female=.35,
                            edu=(.55, .35, .07, .03), disabled=.60, window_jc="327.01"),
    "arbeidsmatige_activiteiten": MeasureSpec(((20, 40, .45), (40, 64, .55)), (0, 35), 8, .05, .12,
                                              window=WIN_DISABILITY, edu=(.60, .30, .05, .05), disabled=.70),
    "opleidingscheques": MeasureSpec(((20, 35, .5), (35, 60, .5)), (0, 35), 2, .85, .88, female=.55,
                                     edu=(.15, .45, .38, .02)),
    "vlaams_zorgkrediet": MeasureSpec(((25, 40, .5), (40, 60, .5)), (22, 35), 2, .92, .86,
                                      window=WIN_CAREER_BREAK, female=.75, edu=(.15, .42, .41, .02)),
    "aanmoedigingspremie": MeasureSpec(((25, 45, .5), (45, 62, .5)), (0, 35), 4, .92, .86, female=.70,
                                       edu=(.18, .42, .38, .02)),
    "aanwervingsincentive": MeasureSpec(((25, 45, .5), (45, 64, .5)), (34, 35), 1, .08, .70,
                                        edu=(.50, .35, .12, .03)),
    "outreach_activering": MeasureSpec(((18, 30, .4), (30, 64, .6)), (0, 35), 3, .12, .55,
                                       window=WIN_JOBSEEKER, edu=(.50, .33, .12, .05), flemish=.97,
                                       origin=(.50, .10, .38, .02)),
    "amif": MeasureSpec(((18, 30, .5), (30, 55, .5)), (4, 35), 3, .08, .50, window=WIN_JOBSEEKER,
                        edu=(.40, .30, .20, .10), flemish=.97, origin=(0, 0, 1, 0)),
}
