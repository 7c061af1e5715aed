-- Flat views for analysts and BI tools: stable column names, timestamptz, no bytea
-- (BI tools cannot show it). The rule for hashes in results: views, and functions
-- returning a view's row type, show them as lower-case hex text; every other function
-- takes and returns raw 32-byte bytea. strata.v_datasets is also the list of datasets (deleted
-- ones left out); strata.v_versions holds deleted versions too (state 'deleted').

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
  select count(*) as version_count from strata.versions v where v.dataset_id = d.id and v.state = 'committed'
) s on true
left join lateral (
  select v.tag, v.created_at, v.file_count, v.size
  from strata.versions v where v.dataset_id = d.id and v.state = 'committed' order by v.seq desc limit 1
) l on true
where d.deleted_at is null;

create or replace view strata.v_versions as
select v.id,
       v.dataset_id,
       d.name                        as dataset,
       v.seq,
       v.tag,
       p.tag                         as parent_tag,
       encode(v.content_hash, 'hex') as content_hash,
       v.file_count,
       v.size,
       v.new_bytes,
       v.message,
       v.metadata,
       v.author,
       v.created_at,
       v.state,
       v.deleted_at,
       v.deleted_by
from strata.versions v
join strata.datasets d on d.id = v.dataset_id
left join strata.versions p on p.id = v.parent_id;
