{#- Structural check of every declared landing file before anything is built (run as an
    `on-run-start` hook). The declared sources (external_location + columns with their
    data_type) go as JSON to `wse_check_landing`, a function of the project's dbt-duckdb
    plugin (src/wse_impact/landing/check.py); it returns '' or the list of problems, and
    this macro stops the run with that list, naming each file and its problem.
    Runs for `dbt build`, `run` and `test` (not `seed`); skip with `--vars '{check_landing_files: false}'` (e.g. to build seeds only).
    On Spark, `wse-impact spark-build` runs the same check in Python before it registers the
    files (src/wse_impact/engines/spark.py): the hook is DuckDB's only. -#}
{% macro check_landing_files() %}
    {%- if execute and target.type == 'duckdb' and var('check_landing_files', true) and flags.WHICH in ['build', 'run', 'test'] -%}
        {%- set declared = [] -%}
        {%- for node in graph.sources.values() if node.package_name == project_name -%}
            {%- set meta = {} -%}
            {%- do meta.update(node.meta or {}) -%}
            {%- do meta.update(node.config.meta or {}) -%}
            {%- if meta.get('external_location') or meta.get('landing_file') -%}
                {%- set columns = [] -%}
                {%- for column in node.columns.values() -%}
                    {%- do columns.append({'name': column.name, 'data_type': column.data_type}) -%}
                {%- endfor -%}
                {%- do declared.append({
                    'source_name': node.source_name,
                    'name': node.name,
                    'identifier': node.identifier,
                    'schema': node.schema,
                    'database': node.database,
                    'tags': node.tags,
                    'meta': meta,
                    'columns': columns,
                }) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set payload = tojson(declared) | replace("'", "''") -%}
        {%- set result = run_query("select wse_check_landing('" ~ payload ~ "') as problems") -%}
        {%- set problems = result.columns[0].values()[0] -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error(problems) }}
        {%- endif -%}
        {{ log("Landing files: " ~ declared | length ~ " declared sources checked, no structural problem.", info=true) }}
    {%- endif -%}
    select 1 as landing_files_checked
{% endmacro %}
