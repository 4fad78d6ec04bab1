"""The seed files as written (text): the reference for code sets, labels and class bounds."""

from __future__ import annotations

import csv
from functools import cached_property
from pathlib import Path

from wse_impact.settings import PROJECT_DIR


class Seeds:
    """The seed files as written (text): the reference for code sets, labels and bounds."""

    def __init__(self, project_dir: Path = PROJECT_DIR):
        self.project_dir = project_dir

    def rows(self, seed: str) -> list[dict[str, str]]:
        return seed_rows(seed, self.project_dir)

    def codes(self, seed: str, column: str) -> list[str]:
        return sorted({row[column] for row in self.rows(seed) if row[column] != ""})

    @cached_property
    def class_bounds(self) -> dict[str, list[dict[str, str]]]:
        schemes: dict[str, list[dict[str, str]]] = {}
        for row in sorted(self.rows("class_bounds"), key=lambda r: (r["class_scheme"], int(r["class_order"]))):
            schemes.setdefault(row["class_scheme"], []).append(row)
        return schemes

    def labels(self, scheme: str) -> list[str]:
        if scheme not in self.class_bounds:
            raise KeyError(f"class scheme {scheme!r} has no rows in seeds/class_bounds.csv")
        return [row["class_label"] for row in self.class_bounds[scheme]]


def seed_rows(seed: str, project_dir: Path = PROJECT_DIR) -> list[dict[str, str]]:
    """A seed as written (text), the reference for code sets."""
    with open(project_dir / "seeds" / f"{seed}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
