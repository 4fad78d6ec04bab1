"""Everything reviewers read in the generated docs is described (issue 6; dbt-project-evaluator's
documentation-coverage rule, checked here ourselves): every column the catalog lists for the built
warehouse, of every project model and seed, has a non-empty description in the manifest, and so
has every model, seed and source.

The sources are landing files read by path (read_csv / read_parquet), not warehouse relations, so
the catalog does not list them: their columns are checked as declared in the sources yml, which
the staging models read column by column (and the staging columns are in the catalog)."""

from __future__ import annotations

import json

import pytest

from conftest import run_dbt

PROJECT = "wse_impact"
DOCUMENTED_TYPES = ("model", "seed", "source")


def _described(entry: dict) -> bool:
    return bool((entry.get("description") or "").strip())


@pytest.fixture(scope="module")
def docs_artifacts(pipeline) -> tuple[dict, dict]:
    """The manifest and catalog of the built pipeline; `dbt docs generate` runs only when no
    catalog is there yet (another test may already have generated it, e.g. with --static)."""
    catalog_path = pipeline.target_dir / "catalog.json"
    if not catalog_path.is_file():
        run_dbt(["docs", "generate"], pipeline.env, pipeline.target_dir)
    manifest = json.loads((pipeline.target_dir / "manifest.json").read_text())
    catalog = json.loads(catalog_path.read_text())
    return manifest, catalog


def project_nodes(manifest: dict) -> dict[str, dict]:
    """The project's own models, seeds and sources, by unique_id."""
    return {
        unique_id: node
        for unique_id, node in {**manifest["nodes"], **manifest["sources"]}.items()
        if node.get("package_name") == PROJECT and node["resource_type"] in DOCUMENTED_TYPES
    }


def undescribed_columns(manifest: dict, catalog: dict) -> list[str]:
    """'<unique_id>.<column>' for every catalog column of a project model, seed or source whose
    manifest description is missing or blank (names compared case-insensitively)."""
    nodes = project_nodes(manifest)
    missing = []
    for section in ("nodes", "sources"):
        for unique_id, entry in catalog[section].items():
            node = nodes.get(unique_id)
            if node is None:
                continue
            described = {name.lower() for name, column in node["columns"].items() if _described(column)}
            missing += [f"{unique_id}.{column}" for column in entry["columns"] if column.lower() not in described]
    return sorted(missing)


def undescribed_nodes_and_source_columns(manifest: dict) -> list[str]:
    """Every project model, seed and source without a description; every source that declares no
    columns, and every declared source column without a description."""
    missing = []
    for unique_id, node in sorted(project_nodes(manifest).items()):
        if not _described(node):
            missing.append(unique_id)
        if node["resource_type"] == "source":
            if not node["columns"]:
                missing.append(f"{unique_id}: no columns declared")
            missing += [f"{unique_id}.{name}" for name, column in node["columns"].items() if not _described(column)]
    return missing


def test_catalog_lists_the_project(docs_artifacts):
    """The checks below are only worth something if the catalog lists every built model and seed."""
    manifest, catalog = docs_artifacts
    built = {
        unique_id
        for unique_id, node in project_nodes(manifest).items()
        if node["resource_type"] in ("model", "seed") and node["config"].get("materialized") != "ephemeral"
    }
    absent = sorted(built - set(catalog["nodes"]))
    assert built and not absent, f"not in catalog.json: {absent}"


def test_every_column_is_described(docs_artifacts):
    manifest, catalog = docs_artifacts
    missing = undescribed_columns(manifest, catalog)
    assert not missing, f"{len(missing)} column(s) without a description:\n" + "\n".join(missing)


def test_every_model_seed_and_source_is_described(docs_artifacts):
    manifest, _ = docs_artifacts
    missing = undescribed_nodes_and_source_columns(manifest)
    assert not missing, f"{len(missing)} undescribed:\n" + "\n".join(missing)


def test_an_undescribed_column_is_reported(docs_artifacts):
    """The checks fail for the right reason: a column whose description is blank, a column the yml
    does not list at all, a blank source column and a blank model are each reported by name."""
    manifest, catalog = docs_artifacts
    model_id = "model.wse_impact.beneficiary_base"
    source_id = "source.wse_impact.dwh.snapshots"
    blank, dropped = list(manifest["nodes"][model_id]["columns"])[:2]
    source_column = next(iter(manifest["sources"][source_id]["columns"]))
    tampered = json.loads(json.dumps(manifest))
    tampered["nodes"][model_id]["columns"][blank]["description"] = "  "
    del tampered["nodes"][model_id]["columns"][dropped]
    tampered["sources"][source_id]["columns"][source_column]["description"] = ""
    tampered["nodes"]["model.wse_impact.control_base"]["description"] = ""

    # compared with the untouched manifest, so that this test is about the check, not the yml
    new_columns = set(undescribed_columns(tampered, catalog)) - set(undescribed_columns(manifest, catalog))
    assert new_columns == {f"{model_id}.{blank}", f"{model_id}.{dropped}"}
    new_nodes = set(undescribed_nodes_and_source_columns(tampered)) - set(undescribed_nodes_and_source_columns(manifest))
    assert new_nodes == {"model.wse_impact.control_base", f"{source_id}.{source_column}"}
