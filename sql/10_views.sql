-- Flat views for analysts and BI tools: stable column names, timestamptz, no bytea
-- (hashes are shown as hex).

create or replace view strata.v_datasets as
select d.id,
       d.name,
       d.description,
       d.owner,
       d.created_at,
       coalesce(s.version_count, 0)::bigint as version_count,
       l.tag                                as latest_tag,
       l.created_at                         as latest_at,
       l.file_count                         as latest_file_count,
       l.size                               as latest_size
from strata.datasets d
left join lateral (
  select count(*) as version_count from strata.versions v where v.dataset_id = d.id
) s on true
left join lateral (
  select v.tag, v.created_at, v.file_count, v.size
  from strata.versions v where v.dataset_id = d.id order by v.seq desc limit 1
) l on true;
