"""dbt-duckdb plugin: gives every dbt connection the project's functions.

- `wse_keyed_hash(insz)`: the keyed hash used for pseudonymisation. The key is read here,
  from the environment, and never passed through SQL: it does not appear in compiled
  models, in dbt's logs or in the manifest.
- `wse_check_landing(json)`: the structural check of the landing files (missing file or
  column, wrong delimiter, not UTF-8, empty file, snapshot partition with another schema),
  given the declared sources as JSON; returns '' or the list of problems, which the
  `on-run-start` hook (macros/check_landing_files.sql) raises to stop the build.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from wse_impact.landing_check import check_graph_json
from wse_impact.pseudonym import keyed_hash_udf


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        conn.create_function(
            "wse_keyed_hash",
            keyed_hash_udf,
            ["VARCHAR"],
            "VARCHAR",
            side_effects=False,
        )
        conn.create_function(
            "wse_check_landing",
            check_graph_json,
            ["VARCHAR"],
            "VARCHAR",
            # reads files: never cache or fold it
            side_effects=True,
        )
