"""dbt-duckdb plugin: gives every dbt connection the keyed hash used for pseudonymisation.

The key is read here, from the environment, and never passed through SQL: it does not
appear in compiled models, in dbt's logs or in the manifest.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

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
