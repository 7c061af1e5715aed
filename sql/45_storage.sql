-- Where the bytes are, and what keeps them: flat views for analysts and admins. Every
-- live version's trees are walked to the chunks its files use (set work, in SQL), each
-- chunk counted once per holder (strata._chunk_holders). Bytes are stored bytes (chunk
-- bytes in packs); logical bytes are file sizes.

create or replace view strata.v_retention_policies as
select d.name as dataset, p.keep_last, p.keep_within, p.set_by, p.set_at
from strata.retention_policies p join strata.datasets d on d.id = p.dataset_id
where d.deleted_at is null;

comment on view strata.v_retention_policies is
  'Retention policy per dataset (strata.set_retention): keep the last keep_last versions and those younger than keep_within; the latest, tagged and used versions are always kept.';

-- The chunks each holder uses, once per holder, with how many holders use each: the
-- holders are datasets (their live versions) or models (their versions), or, per_version,
-- each live version and model version. SQL-language, so both views below share one walk.
set local check_function_bodies = off;

create or replace function strata._chunk_holders(per_version boolean)
returns table (holder_kind text, holder_id bigint, stored_size integer, holders bigint)
language sql stable set jit = off
as $$
with recursive
  roots as (
    select case when per_version then 'version' else 'dataset' end as holder_kind,
           case when per_version then v.id else v.dataset_id end as holder_id, v.content_hash
    from strata.versions v where v.state = 'committed'
    union all
    select 'model', case when per_version then mv.id else mv.model_id end, mv.content_hash from strata.model_versions mv),
  trees (holder_kind, holder_id, hash) as (
    select holder_kind, holder_id, content_hash from roots
    union
    select t.holder_kind, t.holder_id, e.hash from trees t join strata.tree_entries e on e.tree = t.hash and e.kind = 'dir'),
  contents as (
    select distinct t.holder_kind, t.holder_id, e.hash
    from trees t join strata.tree_entries e on e.tree = t.hash and e.kind = 'file'),
  held as (
    select distinct c.holder_kind, c.holder_id, substring(b.chunks from i * 32 + 1 for 32) as chunk
    from contents c join strata.blobs b on b.hash = c.hash, generate_series(0, octet_length(b.chunks) / 32 - 1) i)
select h.holder_kind, h.holder_id, k.stored_size, count(*) over (partition by h.chunk)
from held h join strata.chunks k on k.hash = h.chunk
$$;

set local check_function_bodies = on;

create or replace view strata.v_storage_datasets as
with
  per_dataset as (
    select holder_id as dataset_id, sum(stored_size) as unique_bytes, coalesce(sum(stored_size) filter (where holders > 1), 0) as shared_bytes
    from strata._chunk_holders(false) where holder_kind = 'dataset' group by holder_id),
  logical as (
    select dataset_id, count(*) as versions, sum(size) as bytes from strata.versions where state = 'committed' group by dataset_id)
select d.id                                        as dataset_id,
       d.name                                      as dataset,
       coalesce(l.versions, 0)::bigint             as live_versions,
       coalesce(l.bytes, 0)::bigint                as logical_bytes,
       coalesce(p.unique_bytes, 0)::bigint         as unique_bytes,
       coalesce(p.shared_bytes, 0)::bigint         as shared_bytes,
       coalesce(p.unique_bytes - p.shared_bytes, 0)::bigint as exclusive_bytes,
       round(l.bytes::numeric / nullif(p.unique_bytes, 0), 2) as dedup_ratio
from strata.datasets d
left join logical l on l.dataset_id = d.id
left join per_dataset p on p.dataset_id = d.id
where d.deleted_at is null;

comment on view strata.v_storage_datasets is
  'Per dataset: its live versions; logical_bytes, the sum of their sizes; unique_bytes, the stored bytes of the distinct chunks they use; shared_bytes, those also used by another dataset or a model; exclusive_bytes, the rest (what deleting the dataset and running gc frees); dedup_ratio, logical over unique. Walks every live tree: seconds on large installations.';

create or replace view strata.v_storage_versions as
with per_version as (
  select holder_id as version_id, sum(stored_size) as unique_bytes, coalesce(sum(stored_size) filter (where holders = 1), 0) as exclusive_bytes
  from strata._chunk_holders(true) where holder_kind = 'version' group by holder_id)
select v.id                                as version_id,
       d.name                              as dataset,
       v.tag,
       v.seq,
       v.size                              as logical_bytes,
       v.new_bytes                         as brought_bytes,
       coalesce(p.unique_bytes, 0)::bigint    as unique_bytes,
       coalesce(p.exclusive_bytes, 0)::bigint as exclusive_bytes,
       v.created_at
from strata.versions v
join strata.datasets d on d.id = v.dataset_id
left join per_version p on p.version_id = v.id
where v.state = 'committed';

comment on view strata.v_storage_versions is
  'Per live version: logical_bytes, its size; brought_bytes, the stored bytes of the chunks its push stored first; unique_bytes, the stored bytes of the distinct chunks it uses; exclusive_bytes, those no other live version or model version uses (what deleting it and running gc frees). Walks every live tree: seconds on large installations.';

comment on column strata.v_retention_policies.dataset is 'Dataset name.';
comment on column strata.v_retention_policies.keep_last is 'Keep this many of its latest versions (null: no such rule).';
comment on column strata.v_retention_policies.keep_within is 'Keep versions younger than this (null: no such rule).';
comment on column strata.v_retention_policies.set_by is 'The login that set the policy.';
comment on column strata.v_retention_policies.set_at is 'When the policy was set.';

comment on column strata.v_storage_datasets.dataset_id is 'Internal id of the dataset.';
comment on column strata.v_storage_datasets.dataset is 'Dataset name.';
comment on column strata.v_storage_datasets.live_versions is 'Its versions not deleted.';
comment on column strata.v_storage_datasets.logical_bytes is 'Sum of the sizes of its live versions.';
comment on column strata.v_storage_datasets.unique_bytes is 'Stored bytes of the distinct chunks its live versions use.';
comment on column strata.v_storage_datasets.shared_bytes is 'Of those, the bytes another dataset or a model uses too.';
comment on column strata.v_storage_datasets.exclusive_bytes is 'Of those, the bytes no other dataset or model uses: what deleting it and running gc frees.';
comment on column strata.v_storage_datasets.dedup_ratio is 'logical_bytes over unique_bytes.';

comment on column strata.v_storage_versions.version_id is 'Internal id of the version.';
comment on column strata.v_storage_versions.dataset is 'Dataset name.';
comment on column strata.v_storage_versions.tag is 'Tag of the version.';
comment on column strata.v_storage_versions.seq is 'Sequence number within the dataset.';
comment on column strata.v_storage_versions.logical_bytes is 'Size of the version (its files).';
comment on column strata.v_storage_versions.brought_bytes is 'Stored bytes of the chunks its push stored first.';
comment on column strata.v_storage_versions.unique_bytes is 'Stored bytes of the distinct chunks it uses.';
comment on column strata.v_storage_versions.exclusive_bytes is 'Of those, the bytes no other live version or model version uses: what deleting it and running gc frees.';
comment on column strata.v_storage_versions.created_at is 'When the version was committed.';

comment on table strata.retention_policies is 'Retention policy per dataset (strata.set_retention); read it through strata.v_retention_policies.';
comment on table strata.gc_runs is 'One row per gc run: its grace, cutoff, threshold, whether a dry run, and what it did.';
comment on table strata.gc_planned_packs is 'The packs a gc run in progress will delete or repack.';
comment on table strata.gc_repack_chunks is 'The live chunks of the packs a gc run in progress repacks.';
comment on table strata.gc_dead_blobs is 'File contents no live version used when a gc run planned; it forgets those that lose a chunk.';
