"""Synthetic landing files with the layout of the real extracts (`wse-impact generate`).

Writes, under OUT:
- ``measures/<measure>.csv``: the 16 WSE measure extracts (columns as in ``_wse__sources.yml``);
- ``dwh/snapshots/quarter=YYYYQn/part-0.parquet``: the warehouse's quarterly situations
  2014Q1-2022Q4 (columns and types as in ``_dwh__sources.yml``);
- ``dwh/control_sample.csv``: the INSZ of the control group;
- ``_generated.json``: scale, seed, generator version, and rows, size and SHA-256 per file,
  written last: the generator removes only files its manifest lists, and only unchanged.

Deterministic: one ``numpy.random.Generator(PCG64(seed))`` drives everything, so a seed
gives the same bytes in every file. At scale 1.0: ~150,000 beneficiaries, ~108,000 control
persons, ~9 million person-quarters.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from wse_impact.landing.checksums import sha256_of

GENERATOR_VERSION = "2"  # 2: the manifest records each file's size and SHA-256
MANIFEST = "_generated.json"
# generation happens in this folder inside OUT, marked as the generator's own, and the
# files move into place only once all are written
WORK_FOLDER = ".wse-generate-in-progress"
WORK_MARKER = "written-by-wse-impact-generate"

__all__ = ["generate_landing", "read_manifest", "GENERATOR_VERSION", "MANIFEST", "LandingFolderRefused"]


class LandingFolderRefused(RuntimeError):
    """The generator will not write into this folder; nothing in it was touched."""


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
    return all((out / name).is_file() and (out / name).stat().st_size == entry["bytes"]
               for name, entry in manifest.get("checksums", {}).items())


def _listed_path(out: Path, name: str) -> Path | None:
    """A file the manifest lists, if it lies inside OUT (a manifest naming '../x' lists nothing)."""
    candidate = Path(name)
    if candidate.is_absolute() or ".." in candidate.parts:
        return None
    return out / candidate


def _refuse(out: Path, why: str) -> None:
    raise LandingFolderRefused(
        f"wse-impact generate: refusing to write into {out}: {why}. Nothing was changed. The generator "
        f"writes only into a missing or empty folder, or one holding its own manifest ({MANIFEST}), and "
        f"removes only the files that manifest lists, unchanged. To build a delivery as it is, run "
        f"`make build WSE_LANDING_DIR={out}`; to generate synthetic data, choose a new or empty folder (--out)."
    )


def _first_few(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def planned_files(ref) -> list[str]:
    """The files a generation writes, relative to OUT (known before anything is written)."""
    from wse_impact.generate.reference import QUARTER_LABELS

    return sorted([*(f"measures/{m}.csv" for m in ref.measures), "dwh/control_sample.csv",
                   *(f"dwh/snapshots/quarter={q}/part-0.parquet" for q in QUARTER_LABELS)])


def _clear_previous_generation(out: Path, planned: list[str]) -> None:
    """Make OUT ready for a new generation, removing only what an earlier generation wrote
    and left unchanged; refuse, touching nothing, if OUT holds anything else it would have
    to remove or overwrite."""
    if not out.exists():
        return
    if not out.is_dir():
        _refuse(out, "it is not a folder")
    work = out / WORK_FOLDER
    if work.is_dir() and (work / WORK_MARKER).is_file():
        shutil.rmtree(work)  # an interrupted generation of ours
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return
    manifest = read_manifest(out)
    if manifest is None:
        if MANIFEST in entries:
            _refuse(out, f"its {MANIFEST} cannot be read")
        _refuse(out, f"it is not empty ({_first_few(entries)}) and holds no generator manifest: it looks like a delivery")
    checksums = manifest.get("checksums")
    if not isinstance(checksums, dict):
        _refuse(out, f"its {MANIFEST} is from generator version {manifest.get('generator_version')!r} and records "
                     "no checksums, so the generator cannot tell its own files from others")
    changed = []
    for name, entry in checksums.items():
        path = _listed_path(out, name)
        if path is None:
            _refuse(out, f"its {MANIFEST} lists {name!r}, which is not inside the folder")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            changed.append(name)
        elif path.exists() and (path.stat().st_size != entry.get("bytes") or sha256_of(path) != entry.get("sha256")):
            changed.append(name)
    if changed:
        _refuse(out, f"{len(changed)} file(s) its {MANIFEST} lists changed since they were generated "
                     f"({_first_few(changed)})")
    clashes = [name for name in planned if name not in checksums and ((out / name).exists() or (out / name).is_symlink())]
    if clashes:
        _refuse(out, f"it already holds files the generator would write, not listed in its manifest "
                     f"({_first_few(clashes)})")
    folders = set()
    for name in checksums:
        path = _listed_path(out, name)
        path.unlink(missing_ok=True)
        folders.update(parent for parent in path.parents if out in parent.parents)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # only folders its files were in, and only when nothing else is left
    (out / MANIFEST).unlink()  # last: an interrupted clean-up still knows its files


def _move_into_place(work: Path, out: Path, names: list[str]) -> None:
    """Move the generated files from the work folder into OUT (checked free beforehand)."""
    for name in names:
        if (out / name).exists() or (out / name).is_symlink():  # appeared while generating
            raise LandingFolderRefused(f"wse-impact generate: {out / name} appeared while generating; "
                                       f"the new files are left in {work}")
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(work / name, out / name)
    shutil.rmtree(work)


def generate_landing(out: Path, scale: float, seed: int, if_missing: bool = False, progress: bool = True) -> None:
    """Write the synthetic landing files for (scale, seed) into ``out``.

    With ``if_missing`` nothing happens when ``out`` already holds a complete generation for
    the same scale, seed and generator version. Otherwise the files of an earlier generation
    are removed first (only those its manifest lists, and only if unchanged) and everything
    is generated anew. ``out`` must be missing, empty or the generator's own: a folder with
    anything else (a delivery) is refused with `LandingFolderRefused`, touching nothing.
    The manifest is written last, so an interrupted run leaves no valid manifest behind.
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
    ref = Reference()
    planned = planned_files(ref)
    _clear_previous_generation(out, planned)
    work = out / WORK_FOLDER
    work.mkdir(parents=True)
    (work / WORK_MARKER).write_text("a generation of wse-impact in progress; removed by the next one\n")

    rng = np.random.Generator(np.random.PCG64(seed))
    with tqdm(total=N_QUARTERS + 2, desc=f"generate scale={scale} seed={seed}", unit="step",
              disable=not progress, file=sys.stderr) as bar:
        bar.set_postfix_str("persons and measures")
        pop = build_population(ref, scale, rng)
        counts = write_measures(ref, pop, rng, work)
        counts.update(write_control_sample(pop, work))
        bar.update(1)
        bar.set_postfix_str("quarterly snapshots")
        counts.update(write_snapshots(ref, pop, rng, work, tick=lambda: bar.update(1)))
        if sorted(counts) != planned:
            raise RuntimeError(f"the generator wrote other files than planned: {sorted(set(counts) ^ set(planned))}")
        checksums = {name: {"bytes": (work / name).stat().st_size, "sha256": sha256_of(work / name)}
                     for name in planned}
        _move_into_place(work, out, sorted(counts))
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
            "checksums": checksums,
        }
        tmp = out / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(out / MANIFEST)
        bar.update(1)
