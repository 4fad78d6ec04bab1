"""The 16 measure extracts: one `;`-separated CSV per measure, columns as in _wse__sources.yml."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wse_impact.generate.population import MeasureRows, Population
from wse_impact.generate.reference import N_QUARTERS, QUARTER_LABELS, Reference

_QUARTERS = np.array(QUARTER_LABELS)


def _q(idx: np.ndarray) -> np.ndarray:
    return _QUARTERS[np.clip(idx, 0, N_QUARTERS - 1)]


def _euro(cents: np.ndarray) -> np.ndarray:
    """Exact euros with a decimal point and two decimals, e.g. 1234.50."""
    cents = np.maximum(np.rint(cents).astype(np.int64), 0)
    whole = (cents // 100).astype(str)
    frac = np.char.zfill((cents % 100).astype(str), 2)
    return np.char.add(np.char.add(whole, "."), frac)


def _whole(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.int64).astype(str)


def _yn(b: np.ndarray) -> np.ndarray:
    return np.where(b, "J", "N")


def _values(m: str, mr: MeasureRows, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The measure-specific columns (by Dutch name); code columns not set here are drawn generically."""
    f, l = mr.first, mr.last  # noqa: E741
    n = f.size
    span = l - f + 1
    u = rng.random((6, n))
    v = mr.variant
    if m == "vop":
        multi = (span >= 3) & (u[0] < .15)
        duration = np.where(multi, span - 1 - (u[1] * (span - 2)).astype(np.int64), span)
        share = np.array([.4, .3, .2])[(u[2] * 3).astype(np.int64)]
        per_quarter = share * (7000 + u[3] * 7250) * 100
        return {"kwartaal_eerste_toekenning": _q(f), "kwartaal_laatste_toekenning": _q(l),
                "totaal_bedrag": _euro(per_quarter * duration), "duurtijd_toekenning_kwartalen": _whole(duration),
                "meerdere_periodes": _yn(multi), "type_toelage": v["allowance_type"]}
    if m == "doelgroepvermindering":
        code = v["reduction_code"]
        used = np.maximum(span - (u[0] < .2) * (u[1] * span).astype(np.int64), 1)
        per_quarter = np.select([code == "6300", code == "6301", code == "6310", code == "6320"],
                                [1150 + u[2] * 350, 1000 + u[2] * 150, 300 + u[2] * 500, 400 + u[2] * 1100],
                                1150 + u[2] * 350) * 100
        return {"kwartaal_eerste_toekenning": _q(f), "kwartaal_laatste_toekenning": _q(l),
                "totaal_bedrag_vermindering": _euro(per_quarter * used), "verminderingscode": code,
                "aantal_kwartalen_gebruik": _whole(used)}
    if m == "transitiepremie":
        schedule = np.cumsum([1000, 1000, 1000, 900, 800, 700, 600, 500, 400, 300, 300, 300]) * 100
        months = 1 + (u[0] * 12).astype(np.int64)
        return {"kwartaal_eerste_ontvangst": _q(f), "voordien_zelfstandige_bijberoep": _yn(v["side_self"]),
                "totaal_bedrag": _euro(schedule[months - 1])}
    if m == "vlaams_opleidingsverlof":
        return {"kwartaal_goedkeuring_dossier": _q(f), "aantal_aangevraagde_uren": _whole(8 + u[0] * 118),
                "aantal_goedgekeurde_dossiers": _whole(rng.geometric(.6, size=n))}
    if m == "betaald_educatief_verlof":
        return {"kwartaal_aanmaak_dossier": _q(f), "kwartaal_afsluiting_dossier": _q(l),
                "aantal_goedgekeurde_dossiers": _whole(rng.geometric(.55, size=n))}
    if m == "duaal_leren":
        return {"kwartaal_start_overeenkomst": _q(f), "kwartaal_einde_overeenkomst": _q(l),
                "aantal_overeenkomsten": _whole(rng.geometric(.7, size=n))}
    if m == "startbonus_stagebonus":
        start = u[0] < .75
        intern = np.array(["GEEN", "GEWOON", "VERRUIMD", "AANVULLEND"])[
            np.where(start & (u[1] < .5), 0, 1 + (u[2] * 3).astype(np.int64))]
        years = 1 + (u[3] * 3).astype(np.int64)
        amount = (start * 500 * years + (intern != "GEEN") * 750 * np.maximum(years - (u[4] < .5), 1)) * 100
        return {"kwartaal_eerste_uitbetaling": _q(f), "totaal_bedrag": _euro(amount),
                "startbonus_ontvangen": _yn(start), "stagebonus_ontvangen": intern}
    if m == "lokale_diensteneconomie":
        return {"kwartaal_eerste_ondersteuning": _q(f), "kwartaal_laatste_ondersteuning": _q(l),
                "subsidie_laatste_volledig_kwartaal": _euro(np.exp(rng.normal(np.log(5500), 0.3, size=n)) * 100)}
    if m == "maatwerk":
        premium = (2500 + u[0] * 3500) * span * 100
        return {"kwartaal_eerste_ondersteuning": _q(f), "kwartaal_laatste_ondersteuning": _q(l),
                "bedrag_loon_begeleidingspremie": _euro(premium), "totale_subsidie": _euro(premium * (1.1 + .4 * u[1]))}
    if m == "arbeidsmatige_activiteiten":
        return {"kwartaal_eerste_ondersteuning": _q(f), "kwartaal_laatste_ondersteuning": _q(l)}
    if m == "opleidingscheques":
        amount = np.where(u[1] < .97, (1 + (u[0] * 20).astype(np.int64)) * 1250, 25000 + u[2] * 25000)
        return {"kwartaal_eerste_aanvraag": _q(f), "kwartaal_laatste_aanvraag": _q(l),
                "aantal_cheques": _whole(1 + rng.geometric(.12, size=n)), "bedrag_laatste_uitbetaling": _euro(amount)}
    if m == "vlaams_zorgkrediet":
        days = np.maximum(np.rint(span * 90 * np.array([.2, .5, 1.0])[(u[0] * 3).astype(np.int64)]), 5)
        return {"kwartaal_start": _q(f), "kwartaal_einde": _q(l), "aantal_dagen_opname": _whole(days),
                "totaal_bedrag": _euro(days * (18 + u[1] * 17) * 100)}
    if m == "aanmoedigingspremie":
        months = span * 3
        return {"kwartaal_goedkeuring": _q(f), "kwartaal_laatste_uitbetaling": _q(l),
                "totaal_bedrag": _euro(months * (100 + u[0] * 150) * 100),
                "aantal_aanvragen": _whole(rng.geometric(.7, size=n))}
    if m == "aanwervingsincentive":
        pct = np.where(u[1] < .7, 10000, 5000 + (u[2] * 50).astype(np.int64) * 100)
        return {"kwartaal_laatste_uitbetaling": _q(l), "totaal_bedrag": _euro(np.where(u[0] < .6, 425000, 125000)),
                "tewerkstellingspercentage": _euro(pct)}
    if m in ("outreach_activering", "amif"):
        return {"kwartaal_start_traject": _q(f), "kwartaal_einde_traject": _q(l),
                "traject_afgerond": _yn(u[0] < .6), "aantal_projecten": _whole(1 + (u[1] < .15) + (u[1] < .03))}
    raise ValueError(f"the generator does not know measure {m!r}")


def write_measures(ref: Reference, pop: Population, rng: np.random.Generator, out: Path) -> dict[str, int]:
    """Write measures/<measure>.csv for every measure; returns rows per file."""
    folder = out / "measures"
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for m in ref.measures:
        mr = pop.measures[m]
        values = _values(m, mr, rng)
        columns = ref.measure_columns(m)
        names = [c.name for c in columns]
        unknown = set(values) - set(names)
        if unknown:
            raise ValueError(f"measure {m}: the generator writes columns absent from _wse__sources.yml: {sorted(unknown)}")
        out_cols = [pop.insz[mr.person]]
        for c in columns[1:]:
            if c.name in values:
                col = np.asarray(values[c.name])
            elif c.attribute is not None:
                codes = ref.measure_codes.get((m, c.attribute))
                if not codes:
                    raise ValueError(f"measure {m}: no codes for {c.attribute} in seeds/measure_codes.csv")
                w = 1.0 / np.arange(1, len(codes) + 1)
                col = np.array(codes)[np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(mr.person.size),
                                                                 side="right"), len(codes) - 1)]
            else:
                raise ValueError(f"measure {m}: the generator has no values for column {c.name}")
            if c.attribute is not None:
                bad = set(np.unique(col)) - set(ref.measure_codes.get((m, c.attribute), []))
                if bad:
                    raise ValueError(f"measure {m}: codes {sorted(bad)} of {c.attribute} not in seeds/measure_codes.csv")
            out_cols.append(col)
        order = np.argsort(out_cols[0], kind="stable")
        lines = [";".join(names)]
        lines.extend(";".join(row) for row in zip(*(col[order].tolist() for col in out_cols)))
        text = "\n".join(lines) + "\n"
        if '"' in text or text.count(";") != (len(names) - 1) * len(lines):
            raise ValueError(f"measure {m}: a value contains the separator or a quote")
        (folder / f"{m}.csv").write_text(text, encoding="utf-8", newline="")
        counts[f"measures/{m}.csv"] = mr.person.size
    return counts


def write_control_sample(pop: Population, out: Path) -> dict[str, int]:
    folder = out / "dwh"
    folder.mkdir(parents=True, exist_ok=True)
    insz = np.sort(pop.insz[pop.is_control])
    (folder / "control_sample.csv").write_text("insz\n" + "".join(s + "\n" for s in insz.tolist()),
                                               encoding="utf-8", newline="")
    return {"dwh/control_sample.csv": int(insz.size)}
