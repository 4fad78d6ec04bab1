"""The project's declarations, read from dbt's manifest: one reader for what the models' yml
declares on their columns and tests.

- a code column names its seed column (`codes: <seed>.<column>`), a class column its raw
  column and class scheme (`classes: {value, scheme}`), a raw value its range (`range: [min,
  max]`), a column holding values of a seed column without its type `values_of:
  <seed>.<column>` (the study quarters). A model's column inherits the
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

    def value_sets(self, model: str, columns: Iterable[str] | None = None) -> list[CodeColumn]:
        """Columns holding values of a seed column without its ENUM type (`values_of:
        <seed>.<column>`, e.g. the study quarters)."""
        return [CodeColumn(column, *declared.split("."))
                for column, declared in self._declared(model, "values_of", columns)]

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


# ----------------------------------------------------------------------------- sources


def declared_sources(source_nodes: Iterable[dict[str, Any]], package: str = "wse_impact") -> list[dict[str, Any]]:
    """The project's declared landing sources (those with an `external_location` or a
    `landing_file`), from source nodes in the shape of manifest.json (dbt's parse result, or
    `source_nodes_from_yaml`), as the landing check takes them: the shape the on-run-start
    hook (macros/check_landing_files.sql) passes from dbt's graph."""
    declared = []
    for node in source_nodes:
        if node.get("package_name", package) != package:
            continue
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        if not (meta.get("external_location") or meta.get("landing_file")):
            continue
        columns = node.get("columns") or {}
        declared.append({
            "source_name": node["source_name"], "name": node["name"],
            "identifier": node.get("identifier") or node["name"],
            "schema": node.get("schema") or node["source_name"], "database": node.get("database"),
            "tags": list(node.get("tags") or []), "meta": meta,
            "columns": [{"name": c["name"], "data_type": c.get("data_type")}
                        for c in (columns.values() if isinstance(columns, dict) else columns)],
        })
    return declared


def source_nodes_from_yaml(project_dir: Path, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The source tables of the project's `_*__sources.yml` files in the shape of manifest.json,
    without a dbt parse (for `wse-impact check-landing`): a meta value's `{{ env_var(...) }}`
    rendered as dbt renders it, from `env` and then the environment."""
    import yaml

    nodes = []
    for yml in sorted((Path(project_dir) / "models").rglob("_*__sources.yml")):
        doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
        for source in doc.get("sources", []):
            source_meta = {**(source.get("meta") or {}), **((source.get("config") or {}).get("meta") or {})}
            for table in source.get("tables", []):
                meta = {**source_meta, **(table.get("meta") or {})}
                config_meta = (table.get("config") or {}).get("meta") or {}
                nodes.append({
                    "package_name": "wse_impact", "source_name": source["name"], "name": table["name"],
                    "identifier": table.get("identifier", table["name"]),
                    "schema": source.get("schema", source["name"]), "database": source.get("database"),
                    "tags": table.get("tags") or [],
                    "meta": _rendered(meta, env or {}), "config": {"meta": _rendered(config_meta, env or {})},
                    "columns": {c["name"]: c for c in table.get("columns", [])},
                })
    return nodes


def _rendered(meta: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Meta values with `{{ env_var(name[, default]) }}` rendered (dbt renders them at parse)."""
    import jinja2

    def env_var(name: str, default: str | None = None) -> str:
        value = env.get(name) or os.environ.get(name) or default
        if value is None:
            raise KeyError(f"env_var {name!r} is not set and has no default")
        return value

    return {key: (jinja2.Environment().from_string(value).render(env_var=env_var)
                  if isinstance(value, str) and "{{" in value else value)
            for key, value in meta.items()}
