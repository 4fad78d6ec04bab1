"""The same dbt project on Apache Spark (dbt-spark, `spark` target, `session` method).

dbt-spark has no plugin mechanism, so what the dbt-duckdb plugin (duckdb_plugin.py) does inside
each DuckDB connection is done here, in the Python process that then runs dbt in-process
(dbt-spark's session method reuses the SparkSession this module creates):

1. the structural landing check (landing.check.check_sources, the same check the DuckDB
   on-run-start hook runs; the hook itself runs on DuckDB only), before anything is read;
2. the project's functions as Spark UDFs of the session: `wse_keyed_hash` (the key is read
   from WSE_PSEUDONYM_KEY inside the Python workers, never passed through SQL, so it is in
   no compiled model, plan, log or the metastore), `wse_file_size`, `wse_file_sha256`;
3. the declared sources, registered from their engine-neutral declaration in the source
   yml: a `plugin: wse_impact` source is read by the project's own line reader
   (delimited.read_delimited: the same true line numbers and damaged lines as on DuckDB),
   written once as parquet under the Spark warehouse and registered as an unmanaged table
   `<source>.<table>`; the hive-partitioned parquet snapshots (`external_location:
   read_parquet(...)`) are registered in place (`USING parquet`, `RECOVER PARTITIONS`, without
   which the partitions read as empty) behind a view that adds the lineage DuckDB gives
   (`filename` as DuckDB spells it, from `_metadata.file_path`; `file_row_number` from
   `_metadata.row_index`).

Then `dbt build --target spark` runs in this process. Warehouse and Derby metastore live
under $WSE_WAREHOUSE_DIR/spark; one JVM at a time may open that metastore.

`research_connection` gives a DuckDB connection onto what a local Spark build wrote (the
parquet files of its tables), so validate/export and the tests read a Spark build without
starting a JVM. `SparkEngine` offers all this behind the engine protocol (engines/base.py).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from wse_impact.engines.base import EngineBase, NoBuild
from wse_impact.engines.spark_cluster import check_key, cluster_config, register_cluster_functions
from wse_impact.landing.check import check_sources, format_problems, sources_from_graph

from wse_impact.settings import PROJECT_DIR, warehouse_dir as default_warehouse_dir
# restricted (INSZ, exact values) and research (pseudonymised, classed) schemas of the one
# Spark catalog; see README "Spark"
RESEARCH_SCHEMAS = ("marts", "outputs", "reference")
RESTRICTED_SCHEMAS = ("staging", "intermediate", "wse", "dwh")


def spark_root(warehouse_dir: str | Path | None = None) -> Path:
    return default_warehouse_dir(warehouse_dir).resolve() / "spark"


def session_config(warehouse_dir: str | Path | None = None) -> dict[str, str]:
    """The settings of a local session (the `spark` target of profiles.yml names the same)."""
    root = spark_root(warehouse_dir)
    return {
        "spark.master": os.environ.get("WSE_SPARK_MASTER", "local[2]"),
        "spark.driver.memory": os.environ.get("WSE_SPARK_DRIVER_MEMORY", "4g"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root / 'derby'}",
        "spark.sql.shuffle.partitions": os.environ.get("WSE_SPARK_SHUFFLE_PARTITIONS", "8"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        # no broadcast joins planned from file sizes: the base files' parquet is compressed
        # ~20 times (codes and classes), so a 5-million-row base file looked small enough to
        # broadcast and the driver ran out of memory at scale 1.0; adaptive execution still
        # broadcasts what its runtime statistics show to be small (the seeds)
        "spark.sql.autoBroadcastJoinThreshold": "-1",
        "spark.sql.adaptive.autoBroadcastJoinThreshold": "10MB",
    }


def start_session(warehouse_dir: str | Path | None = None):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # the Python workers of the UDFs run this interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    root = spark_root(warehouse_dir)
    (root / "derby").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    # on a cluster, also executors, their Python, redaction (engines/spark_cluster.py)
    for key, value in {**session_config(warehouse_dir), **cluster_config()}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ------------------------------------------------------------------------------ functions

def register_functions(spark) -> None:
    from pyspark.sql.functions import udf
    from pyspark.sql.types import LongType, StringType

    from wse_impact.landing.checksums import landing_file_sha256, landing_file_size
    from wse_impact.landing.pseudonym import keyed_hash_udf

    spark.udf.register("wse_keyed_hash", udf(keyed_hash_udf, StringType()))
    # these read files: never cache or fold them
    spark.udf.register("wse_file_size", udf(landing_file_size, LongType()).asNondeterministic())
    spark.udf.register("wse_file_sha256", udf(landing_file_sha256, StringType()).asNondeterministic())
    register_cluster_functions(spark)  # on a cluster: the key from its file, absolute landing paths


# -------------------------------------------------------------------------------- sources

def declared_sources(manifest) -> list[dict[str, Any]]:
    """The project's declared sources as macros/check_landing_files.sql passes them (the one
    reader of source declarations, project/declarations.py, over dbt's parse result)."""
    from wse_impact.project.declarations import declared_sources as read_declared

    return read_declared(node.to_dict() for node in manifest.sources.values())


def landing_problems(declared: list[dict[str, Any]]) -> str:
    """The structural check the DuckDB build runs as its on-run-start hook: '' or the message."""
    return format_problems(check_sources(sources_from_graph(declared)), "; the run stops before anything is built")


def register_sources(spark, declared: list[dict[str, Any]], warehouse_dir: str | Path | None = None) -> None:
    for source in declared:
        schema, table = source["source_name"], source["identifier"]
        spark.sql(f"create database if not exists {schema}")
        meta = source["meta"]
        if meta.get("plugin") == "wse_impact":
            _register_delimited(spark, source, schema, table, warehouse_dir)
        else:
            _register_parquet(spark, source, schema, table)


def _register_delimited(spark, source, schema: str, table: str, warehouse_dir) -> None:
    import pyarrow.parquet as pq

    from wse_impact.landing.check import read_landing_source

    parsed = read_landing_source(source["meta"], source["name"], source["identifier"])
    location = spark_root(warehouse_dir) / "landing" / schema / table
    shutil.rmtree(location, ignore_errors=True)
    location.mkdir(parents=True)
    pq.write_table(parsed.to_arrow(), location / "part-0.parquet")
    spark.sql(f"drop table if exists {schema}.{table}")
    spark.sql(f"create table {schema}.{table} using parquet location '{_sql_text(location)}'")


def _register_parquet(spark, source, schema: str, table: str) -> None:
    (declared,) = sources_from_graph([source])  # its external_location, rendered as dbt-duckdb does
    reader, pattern = declared.reader, declared.path
    if reader != "read_parquet":
        raise ValueError(f"source {schema}.{table}: only read_parquet external locations are registered on Spark")
    # the folder above the first glob: Spark discovers the files and hive partitions itself
    parts = Path(pattern).parts
    first_glob = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    base = Path(*parts[:first_glob])
    partitions = [part.split("=", 1)[0] for part in parts[first_glob:-1] if "=" in part]
    files_table = f"{table}__files"
    spark.sql(f"drop view if exists {schema}.{table}")
    spark.sql(f"drop table if exists {schema}.{files_table}")
    spark.sql(f"create table {schema}.{files_table} using parquet location '{_sql_text(base.resolve())}'")
    if partitions:
        spark.sql(f"alter table {schema}.{files_table} recover partitions")
    # lineage as DuckDB's read_parquet(filename = true, file_row_number = true) gives it: the
    # path as globbed (landing folder as named in WSE_LANDING_DIR) and the 0-based row number
    uri_prefix = "file:" + str(base.resolve()) + "/"
    as_read_prefix = pattern[:pattern.index(parts[first_glob])]  # as written, e.g. with a leading ./
    spark.sql(
        f"create view {schema}.{table} as select *, "
        f"concat('{_sql_text(as_read_prefix)}', substr(_metadata.file_path, {len(uri_prefix) + 1})) as filename, "
        f"_metadata.row_index as file_row_number "
        f"from {schema}.{files_table}"
    )


def _sql_text(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


# ------------------------------------------------------------------------------------ run

def dbt_env_ready() -> None:
    check_key()  # stops with the same message as the DuckDB build when the key is missing
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR))


def run(dbt_commands: list[list[str]], warehouse_dir: str | Path | None = None) -> int:
    """Start the session, check and register the landing files, run each dbt command."""
    dbt_env_ready()
    from dbt.cli.main import dbtRunner

    target = os.environ.get("WSE_SPARK_TARGET", "spark")  # spark_cluster: profiles.yml
    parsed = dbtRunner().invoke(["parse", "--target", target, "--quiet"])
    if not parsed.success:
        print(parsed.exception, file=sys.stderr)
        return 2
    manifest = parsed.result
    declared = declared_sources(manifest)
    problems = landing_problems(declared)
    if problems:
        print(problems, file=sys.stderr)
        return 1
    print(f"Landing files: {len(declared)} declared sources checked, no structural problem.", flush=True)
    spark = start_session(warehouse_dir)
    register_functions(spark)
    register_sources(spark, declared, warehouse_dir)
    runner = dbtRunner(manifest=manifest)
    for command in dbt_commands:
        # the landing check ran above, before the files were read (the dbt hook runs on DuckDB only)
        result = runner.invoke([*command, "--target", target])
        if not result.success:
            return 1
    return 0


def _parquet_views(con, warehouse: Path, schemas: tuple[str, ...], catalog: str = "") -> None:
    """A DuckDB view `[catalog.]schema.table` over each table a Spark build wrote in `schemas`."""
    prefix = f"{catalog}." if catalog else ""
    for schema in schemas:
        schema_dir = warehouse / f"{schema}.db"
        if not schema_dir.is_dir():
            continue
        con.execute(f"create schema if not exists {prefix}{schema}")
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir() and any(p.glob("*.parquet"))):
            files = str(table_dir / "*.parquet").replace("'", "''")
            con.execute(f"create view {prefix}{schema}.{table_dir.name} as select * from read_parquet('{files}')")


def spark_warehouse(warehouse_dir: str | Path | None) -> Path:
    warehouse = spark_root(warehouse_dir) / "warehouse"
    if not warehouse.is_dir():
        raise NoBuild(f"no Spark build under {warehouse} (make build ENGINE=spark)")
    return warehouse


def spark_sql(sql: str) -> str:
    """SQL written for the DuckDB layout, where the research tables are in the attached
    database `wse_impact` (`wse_impact.marts.beneficiary_base`), for the one Spark catalog,
    where they are schemas (`marts.beneficiary_base`)."""
    return re.sub(rf"\bwse_impact\.(?=(?:{'|'.join(RESEARCH_SCHEMAS)})\.)", "", sql)


def research_connection(warehouse_dir: str | Path | None = None, schemas: tuple[str, ...] = RESEARCH_SCHEMAS,
                        database: str = "wse_impact"):
    """An in-memory DuckDB connection with a view `<database>.<schema>.<table>` over each
    table a local Spark build wrote under `schemas` (parquet files of the Spark warehouse):
    what validate, export and the tests read of a Spark build, without a JVM."""
    import duckdb

    warehouse = spark_warehouse(warehouse_dir)
    con = duckdb.connect()
    con.execute(f"attach ':memory:' as {database}")
    _parquet_views(con, warehouse, schemas, database)
    return con


class SparkEngine(EngineBase):
    """The Spark engine behind the protocol of engines/base.py."""

    name = "spark"

    def build_location(self, warehouse_dir: str | Path | None = None) -> Path:
        return spark_warehouse(warehouse_dir)

    def research_connection(self, warehouse_dir: str | Path | None = None):
        return research_connection(warehouse_dir)

    def query_connection(self, warehouse_dir: str | Path | None = None, session=None) -> "SessionQueries":
        """SQL on the build's tables in `session`, else in a session started here."""
        return SessionQueries(session or self.suite_connection(warehouse_dir))

    def suite_connection(self, warehouse_dir: str | Path | None = None):
        """A session on the build's warehouse and metastore (`NoBuild` without a build)."""
        spark_warehouse(warehouse_dir)
        return start_session(warehouse_dir)

    def suite_sql(self, sql: str) -> str:
        return spark_sql(sql)


class SessionQueries:
    """SQL written for the DuckDB layout, run in a Spark session (which its owner stops)."""

    def __init__(self, spark):
        self.spark = spark

    def close(self) -> None:
        pass  # the session belongs to whoever started it

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(spark_sql(sql)).collect()]

    def columns(self, relation: str) -> list[str]:
        return self.spark.table(spark_sql(relation)).columns


def main(argv: list[str] | None = None) -> int:
    """`wse-impact spark-build [--docs] [dbt build arguments]`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    docs = "--docs" in argv
    if docs:
        argv.remove("--docs")
    commands = [["build", *argv]]
    if docs:
        commands.append(["docs", "generate", "--static"])
    return run(commands)


if __name__ == "__main__":
    sys.exit(main())
