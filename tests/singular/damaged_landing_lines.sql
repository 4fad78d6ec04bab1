{{ config(severity='warn') }}
-- A warning, not an error: damaged lines of the delivery (wrong number of fields, unbalanced
-- quote, bytes not UTF-8) are quarantined and the build goes on, but the data manager should
-- see them in the build's output and ask WSE or KSZ for the lines (intermediate.quarantine
-- holds each with its file, line number, reason and raw text).
select
    source_name,
    source_file,
    source_line_number,
    reasons
from {{ ref('quarantine') }}
where reasons like 'damaged line:%'
