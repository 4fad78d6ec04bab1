"""Running the suites: each suite's rows in the engine's GX source, Data Docs, and a report
whose failures name the table, the column, the expectation and example values."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from wse_impact.project.declarations import Declarations
from wse_impact.quality.sources import DuckDBSource, SparkSource, source_for
from wse_impact.quality.suite import Failure, Report, Suite
from wse_impact.quality.suites import GROUPS, build_suites


def _columns_of(config) -> str:
    kw = config.kwargs
    if "column" in kw:
        return kw["column"]
    if "column_A" in kw:
        return f"{kw['column_A']}, {kw['column_B']}"
    if "column_list" in kw:
        return ", ".join(kw["column_list"])
    return "(table)"


def raised_exception(result) -> str | None:
    """The message of an exception GX caught while computing an expectation's metrics: the
    expectation then "fails" without having looked at the data (a wrong-reason failure)."""
    info = result.exception_info or {}
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for item in candidates:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


def _plain(value):
    """An example value as plain Python: numpy scalars and Decimals as numbers, a compound
    key's row ({column: value}) as a tuple in column order (hashable, printable)."""
    from decimal import Decimal

    if isinstance(value, dict):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, Decimal):
        return float(value)
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _details(result) -> str:
    error = raised_exception(result)
    if error:
        return f"raised: {error}"
    res = result.result or {}
    parts = []
    if "observed_value" in res:
        parts.append(f"observed {_plain(res['observed_value'])!r}")
    if "unexpected_count" in res:
        parts.append(f"{res['unexpected_count']} of {res.get('element_count')} rows unexpected")
    examples = [_plain(v) for v in res.get("partial_unexpected_list") or []]
    if examples:
        distinct = list(dict.fromkeys(examples))[:5]
        parts.append("examples " + ", ".join(repr(v) for v in distinct))
    kw = {k: v for k, v in result.expectation_config.kwargs.items()
          if k in ("min_value", "max_value", "value", "or_equal") and v is not None}
    if kw:
        parts.append(f"expected {kw}")
    return "; ".join(parts) or "failed"


def validate(warehouse_dir: Path | str, groups: tuple[str, ...] = GROUPS, docs_dir: Path | str | None = "reports/gx",
             suite_filter: Callable[[Suite], bool] | None = None, manifest: Path | str | None = None,
             result_format: str = "BOOLEAN_ONLY", source: DuckDBSource | SparkSource | None = None,
             engine: str | None = None) -> Report:
    """Run the suites on the built warehouse (read-only) of either engine; write Data Docs to
    `docs_dir`."""
    started = time.perf_counter()
    if source is None:
        source = source_for(warehouse_dir, engine)
    try:
        wh = source.warehouse()
        try:
            suites = [s for s in build_suites(wh, groups, Declarations.load(manifest))
                      if suite_filter is None or suite_filter(s)]
        finally:
            wh.close()
        return run_suites(suites, source, docs_dir, result_format, started)
    finally:
        source.close()


def run_suites(suites: list[Suite], source: DuckDBSource | SparkSource, docs_dir: Path | str | None = None,
               result_format: str = "BOOLEAN_ONLY", started: float | None = None) -> Report:
    """Validate each suite on its rows in the source's engine.

    A first pass computes every expectation in `result_format` (BOOLEAN_ONLY: one pass of
    aggregates per suite, no example rows); a suite with a failure is validated again in
    BASIC, so its failures show counts and example values."""
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    started = time.perf_counter() if started is None else started
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_index = None
    if docs_dir:
        docs_path = Path(docs_dir).resolve()
        docs_path.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site("wse_impact", {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_path)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        docs_index = docs_path / "index.html"
    source.add_to(context)
    failures: list[Failure] = []
    n_expectations = 0
    element_counts, results, timings = {}, {}, {}
    for suite in suites:
        batch_definition, batch_parameters = source.batch(suite)
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=suite.name, validation_definitions=[definition], actions=[],
            result_format={"result_format": result_format}))
        t0 = time.perf_counter()
        run = checkpoint.run(batch_parameters=batch_parameters)
        if not run.success and result_format == "BOOLEAN_ONLY":
            checkpoint.result_format = {"result_format": "BASIC", "partial_unexpected_count": 20}
            checkpoint.save()
            run = checkpoint.run(batch_parameters=batch_parameters)
        timings[suite.name] = time.perf_counter() - t0
        for validation in run.run_results.values():
            results[suite.name] = validation
            for result in validation.results:
                n_expectations += 1
                count = (result.result or {}).get("element_count")
                if count is not None:
                    element_counts[suite.name] = max(count, element_counts.get(suite.name, 0))
                if not result.success:
                    failures.append(Failure(suite.name, suite.relation, result.expectation_config.type,
                                            _columns_of(result.expectation_config), _details(result)))
    if docs_index:
        context.build_data_docs(site_names=["wse_impact"])
    return Report([s.name for s in suites], n_expectations, failures, time.perf_counter() - started,
                  docs_index, element_counts, results, timings)
