"""dbt-duckdb plugin: gives every dbt connection the project's functions, and reads the
delimited landing files.

- `wse_keyed_hash(insz)`: the keyed hash used for pseudonymisation. The key is read here,
  from the environment, and never passed through SQL: it does not appear in compiled
  models, in dbt's logs or in the manifest.
- `wse_check_landing(json)`: the structural check of the landing files (missing file or
  column, wrong delimiter, a file not UTF-8 as a whole or with too many damaged lines,
  empty file, snapshot partition with another schema), given the declared sources as JSON;
  returns '' or the list of problems, which the `on-run-start` hook
  (macros/check_landing_files.sql) raises to stop the build.
- `wse_file_size(path)`, `wse_file_sha256(path)`: what the delivery record notes of each
  file read (path relative to the landing folder).
- Sources whose meta says `plugin: wse_impact` are read by `load`: the file named by their
  `landing_file` (relative to $WSE_LANDING_DIR) through `delimited.read_delimited`, every
  line kept with its true line number and damaged lines with their reason. dbt-duckdb
  stores the result as the source table, in the restricted database.
- DuckDB's `memory_limit`, from `WSE_DUCKDB_MEMORY_LIMIT`: `auto` (the default, sized to the
  delivery's snapshots, see settings.py), a share of this machine's memory ("40%") or an
  amount ("6GB"). DuckDB spills what does not fit to `<database>.tmp`.
"""

from __future__ import annotations


from dbt.adapters.duckdb.plugins import BasePlugin

from wse_impact.landing.checksums import landing_file_sha256, landing_file_size
from wse_impact.landing.check import check_graph_json
from wse_impact.settings import duckdb_memory_limit
from wse_impact.landing.pseudonym import keyed_hash_udf


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        # the compile-only lint target reads no landing file
        self.read_landing_files = bool((plugin_config or {}).get("read_landing_files", True))

    def configure_connection(self, conn):
        limit = duckdb_memory_limit()
        conn.execute(f"set memory_limit = '{limit}'")
        # for the models' pre-hook release_cached_blocks(), which lowers the limit for a
        # moment and sets it again from this (current_setting shows a rounded value, and a
        # variable would not reach dbt's cursors)
        conn.create_function("wse_memory_limit", lambda: limit, [], "VARCHAR", side_effects=False)
        conn.create_function("wse_keyed_hash", keyed_hash_udf, ["VARCHAR"], "VARCHAR", side_effects=False)
        # these read files: never cache or fold them
        conn.create_function("wse_check_landing", check_graph_json, ["VARCHAR"], "VARCHAR", side_effects=True)
        conn.create_function("wse_file_size", landing_file_size, ["VARCHAR"], "BIGINT", side_effects=True)
        conn.create_function("wse_file_sha256", landing_file_sha256, ["VARCHAR"], "VARCHAR", side_effects=True)

    def load(self, source_config):
        from wse_impact.landing.delimited import DelimitedFile
        from wse_impact.landing.check import read_landing_source

        if not self.read_landing_files:
            return DelimitedFile(name="").to_arrow()  # the lineage columns, no row
        return read_landing_source(source_config.meta, source_config.name, source_config.identifier).to_arrow()

