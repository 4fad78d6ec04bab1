"""The project's declarations, read from dbt's manifest: one reader for what the models' yml
declares on their columns and tests.

- a code column names its seed column (`codes: <seed>.<column>`), a class column its raw
  column and class scheme (`classes: {value, scheme}`), a raw value its range (`range: [min,
  max]`), a column holding study quarters `quarters: true`. A model's column inherits the
  declaration of the parent model's column of the same name (the base files copy the
  panel's columns), so the panel's yml declares them once for the panel's casts, the base
  files and the Great Expectations suites.
- key columns: the models' `unique_combination` data tests.
- the domain each class scheme must cover: class_bounds' `scheme_domains` meta.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from wse_impact.settings import PROJECT_DIR

@dataclass(frozen=True)
class CodeColumn:
    column: str
    seed: str
    seed_column: str


@dataclass(frozen=True)
class ClassColumn:
    column: str
    value_column: str
    scheme: str


@dataclass(frozen=True)
class ValueRange:
    column: str
    minimum: float | None
    maximum: float | None


class Declarations:
    """The column declarations of dbt's manifest (see the module doc)."""

    def __init__(self, manifest: dict):
        self.nodes = manifest["nodes"]
        self.by_name = {n["name"]: n for n in self.nodes.values() if n["resource_type"] in ("model", "seed")}

    @classmethod
    def load(cls, manifest_path: Path | str | None = None) -> "Declarations":
        path = Path(manifest_path) if manifest_path else default_manifest()
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run `dbt build` (or `dbt parse`) first")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _meta(self, model: str, column: str, key: str, seen: frozenset = frozenset()) -> Any:
        """A column's declaration `key`: its own, else that of the same-named column of the
        nearest parent model that declares it."""
        node = self.by_name.get(model)
        if node is None or model in seen:
            return None
        info = node.get("columns", {}).get(column)
        if info is not None:
            meta = {**(info.get("config") or {}).get("meta", {}), **info.get("meta", {})}
            if key in meta:
                return meta[key]
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = self.nodes.get(parent_id)
            if parent and parent["resource_type"] == "model":
                value = self._meta(parent["name"], column, key, seen | {model})
                if value is not None:
                    return value
        return None

    def columns(self, model: str) -> list[str]:
        return list(self.by_name[model].get("columns", {})) if model in self.by_name else []

    def _declared(self, model: str, key: str, columns: Iterable[str] | None) -> list[tuple[str, Any]]:
        """(column, declaration) for the model's columns (or `columns`) that declare `key`."""
        found = ((column, self._meta(model, column, key))
                 for column in (self.columns(model) if columns is None else columns))
        return [(column, declared) for column, declared in found if declared]

    def codes(self, model: str, columns: Iterable[str] | None = None) -> list[CodeColumn]:
        return [CodeColumn(column, *declared.split("."))
                for column, declared in self._declared(model, "codes", columns)]

    def classes(self, model: str, columns: Iterable[str] | None = None) -> list[ClassColumn]:
        return [ClassColumn(column, declared["value"], declared["scheme"])
                for column, declared in self._declared(model, "classes", columns)]

    def ranges(self, model: str, columns: Iterable[str] | None = None) -> list[ValueRange]:
        return [ValueRange(column, declared[0], declared[1])
                for column, declared in self._declared(model, "range", columns)]

    def unique_keys(self, model: str) -> list[list[str]]:
        """The column lists of the model's `unique_combination` data tests."""
        node = self.by_name[model]
        keys = []
        for test in self.nodes.values():
            meta = test.get("test_metadata") or {}
            if (test["resource_type"] == "test" and meta.get("name") == "unique_combination"
                    and test.get("attached_node") == node["unique_id"]):
                keys.append(list(meta["kwargs"]["columns"]))
        return keys

    def contract_type(self, model: str, column: str) -> str | None:
        info = self.by_name[model].get("columns", {}).get(column) or {}
        return info.get("data_type")

    def seed_enum_type(self, seed: str, column: str) -> str | None:
        info = self.by_name[seed]["columns"].get(column) or {}
        return {**(info.get("config") or {}).get("meta", {}), **info.get("meta", {})}.get("enum_type")

    def scheme_domains(self) -> tuple[dict[str, tuple[float, float | None]], tuple[float, float | None]]:
        meta = self.by_name["class_bounds"]["config"].get("meta", {})
        domains = {scheme: (lo, hi) for scheme, (lo, hi) in meta.get("scheme_domains", {}).items()}
        default = tuple(meta.get("default_domain", [0, None]))
        return domains, default  # type: ignore[return-value]


def default_manifest() -> Path:
    target = os.environ.get("DBT_TARGET_PATH", "target")
    return Path(target) / "manifest.json" if Path(target).is_absolute() else PROJECT_DIR / target / "manifest.json"
