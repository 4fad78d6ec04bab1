-- Per delivered file: rows read = rows accepted + rows quarantined, each counted where it
-- happens (delivery_files). A row lost or doubled anywhere shows here, file by file.
select *
from {{ ref('delivery_files') }}
where rows_read <> rows_accepted + rows_quarantined
