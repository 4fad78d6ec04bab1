"""Synthetic landing files with the layout of the real extracts (`wse-impact generate`).

Writes, under OUT:
- ``measures/<measure>.csv``: the 16 WSE measure extracts (columns as in ``_wse__sources.yml``);
- ``dwh/snapshots/quarter=YYYYQn/part-0.parquet``: the warehouse's quarterly situations
  2014Q1-2022Q4 (columns and types as in ``_dwh__sources.yml``);
- ``dwh/control_sample.csv``: the INSZ of the control group;
- ``_generated.json``: scale, seed, generator version and rows per file, written last.

Deterministic: one ``numpy.random.Generator(PCG64(seed))`` drives everything, so a seed
gives the same bytes in every file. At scale 1.0: ~150,000 beneficiaries, ~108,000 control
persons, ~9 million person-quarters.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

GENERATOR_VERSION = "1"
MANIFEST = "_generated.json"
OWNED = ("measures", "dwh")  # the folders the generator writes (and removes when stale)

__all__ = ["generate_landing", "read_manifest", "GENERATOR_VERSION", "MANIFEST"]


def read_manifest(out: Path) -> dict | None:
    try:
        return json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(out: Path, scale: float, seed: int) -> bool:
    manifest = read_manifest(out)
    if not manifest:
        return False
    if (manifest.get("generator_version"), manifest.get("scale"), manifest.get("seed")) != (
            GENERATOR_VERSION, float(scale), int(seed)):
        return False
    return all((out / name).is_file() for name in manifest.get("files", {}))


def generate_landing(out: Path, scale: float, seed: int, if_missing: bool = False, progress: bool = True) -> None:
    """Write the synthetic landing files for (scale, seed) into ``out``.

    With ``if_missing`` nothing happens when ``out`` already holds a complete generation for
    the same scale, seed and generator version. Otherwise stale files are removed first and
    everything is regenerated; the manifest is written last, so an interrupted run leaves
    no valid manifest behind.
    """
    from tqdm import tqdm

    from wse_impact.generate.measures import write_control_sample, write_measures
    from wse_impact.generate.panel import write_snapshots
    from wse_impact.generate.population import build_population
    from wse_impact.generate.reference import N_QUARTERS, Reference

    out = Path(out)
    if scale <= 0:
        raise ValueError("scale must be positive")
    if if_missing and _is_current(out, scale, seed):
        if progress:
            print(f"{out}: synthetic data for scale {scale} and seed {seed} already present", file=sys.stderr)
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for name in OWNED:
        if (out / name).exists():
            shutil.rmtree(out / name)

    rng = np.random.Generator(np.random.PCG64(seed))
    ref = Reference()
    with tqdm(total=N_QUARTERS + 2, desc=f"generate scale={scale} seed={seed}", unit="step",
              disable=not progress, file=sys.stderr) as bar:
        bar.set_postfix_str("persons and measures")
        pop = build_population(ref, scale, rng)
        counts = write_measures(ref, pop, rng, out)
        counts.update(write_control_sample(pop, out))
        bar.update(1)
        bar.set_postfix_str("quarterly snapshots")
        counts.update(write_snapshots(ref, pop, rng, out, tick=lambda: bar.update(1)))
        manifest = {
            "generator_version": GENERATOR_VERSION,
            "scale": float(scale),
            "seed": int(seed),
            "persons": {"total": int(pop.n), "beneficiaries": int(pop.is_beneficiary.sum()),
                        "control": int(pop.is_control.sum()),
                        "control_and_beneficiary": int((pop.is_control & pop.is_beneficiary).sum())},
            "rows": {"measures": sum(v for k, v in counts.items() if k.startswith("measures/")),
                     "snapshots": sum(v for k, v in counts.items() if k.startswith("dwh/snapshots/"))},
            "files": dict(sorted(counts.items())),
        }
        tmp = out / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(out / MANIFEST)
        bar.update(1)
