"""Check and release at once, without the review: the tests' and benchmarks' way to put
outputs through the gate (`check_release` then `publish_release`, the release log and the
person sets on a restricted folder of files). Everything that leaves the secure environment
goes through the release service (`wse_impact.review`); this is not part of the package."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from wse_impact.project import retain_until as configured_retain_until
from wse_impact.release.disclosure import Release
from wse_impact.release.export import (
    CUSTODIAN_REPORTS,
    RELEASE_LOG,
    RETENTION_FILE,
    ExportRefused,
    check_release,
    publish_release,
)
from wse_impact.release.person_sets import open_file_store
from wse_impact.settings import export_dir as default_export_dir
from wse_impact.settings import restricted_dir_of


@dataclass
class ExportResult:
    folder: Path
    report: dict
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    custodian_report: Path | None = None
    release: Release | None = None


def export_outputs(warehouse_dir: str | Path | None = None, export_dir: str | Path | None = None,
                   today: date | None = None, restricted_dir: str | Path | None = None, **check) -> ExportResult:
    """Check and release at once (no review): `check_release` (taking `check`: rules,
    retain_until, outputs, specs, links, source, project) then `publish_release`. The command
    line releases only through the review (review.py); this is for tests and tools."""
    today = today or date.today()
    export_dir = default_export_dir(export_dir)
    restricted = Path(restricted_dir) if restricted_dir else restricted_dir_of(warehouse_dir)
    if (export_dir / today.isoformat()).exists():
        raise ExportRefused(f"export refused: {export_dir / today.isoformat()} already exists (a release is never overwritten)")
    staging = export_dir / f".{today.isoformat()}.checked-{os.getpid()}"
    prepared = check_release(staging, warehouse_dir, today, restricted_dir=restricted, **check)
    try:
        published = publish_release(staging, prepared.custodian, prepared.log_entry, export_dir, restricted, today,
                                    move=True, person_sets=prepared.person_sets)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    folder = published.folder
    connection, store = open_file_store(restricted)
    try:
        with connection:
            store.add(folder.name, published.person_sets)
    finally:
        connection.close()
    custodian_path = restricted / CUSTODIAN_REPORTS / f"{today.isoformat()}.json"
    return ExportResult(folder, prepared.report, [folder / f for f in prepared.files], prepared.warnings,
                        custodian_path, prepared.release)


def purge_exports(export_dir: str | Path | None = None, today: date | None = None,
                  retain_until: date | None = None, project: str | Path | None = None,
                  restricted_dir: str | Path | None = None) -> list[Path]:
    """Delete every export folder once the retention date (default: the project's
    `vars: retain_until`) has passed; log each deletion in the restricted release log."""
    today = today or date.today()
    export_dir = default_export_dir(export_dir)
    retain_until = retain_until or configured_retain_until(project)
    restricted = Path(restricted_dir) if restricted_dir else restricted_dir_of()
    purged = []
    if not export_dir.is_dir() or today <= retain_until:
        return purged
    for folder in sorted(p for p in export_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / RETENTION_FILE).exists():
            continue  # not a release folder
        shutil.rmtree(folder)
        purged.append(folder)
        restricted.mkdir(parents=True, exist_ok=True)
        with (restricted / RELEASE_LOG).open("a") as f:
            f.write(json.dumps({"event": "purge", "folder": folder.name, "retain_until": retain_until.isoformat(),
                                "purged_on": today.isoformat()}) + "\n")
    return purged
