-- Flat views of runs, metrics, models, aliases and lineage, for analysts and BI tools
-- (the rules of sql/10_views.sql: stable names, timestamptz, hashes as hex). Nodes of the
-- lineage graph are named for people: dataset:NAME@TAG, run:UUID, model:NAME/N; their
-- kinds are dataset_version, run and model_version (lineage_edges says experiment for run).

create or replace view strata.v_runs as
select x.run_id,
       x.id,
       x.name,
       x.status,
       x.params,
       x.metrics,
       coalesce(i.inputs, '[]'::jsonb)                                  as inputs,
       coalesce(i.inputs_text, '')                                      as inputs_text,
       x.code_ref,
       x.author,
       x.started_at,
       x.ended_at,
       extract(epoch from coalesce(x.ended_at, now()) - x.started_at)::double precision as duration_seconds
from strata.experiments x
left join lateral (
  select jsonb_agg(jsonb_build_object('role', ei.role, 'dataset', d.name, 'tag', v.tag, 'version_id', v.id)
                   order by ei.role, d.name) as inputs,
         string_agg(ei.role || '=' || d.name || '@' || v.tag, ', ' order by ei.role, d.name) as inputs_text
  from strata.experiment_inputs ei
  join strata.versions v on v.id = ei.version_id
  join strata.datasets d on d.id = v.dataset_id
  where ei.experiment_id = x.id
) i on true;

comment on view strata.v_runs is 'Runs (experiments): params, final metrics and inputs, one row per run.';
comment on column strata.v_runs.run_id is 'The run''s UUID (its OpenLineage run id; node run:<uuid>).';
comment on column strata.v_runs.id is 'Internal id of the run.';
comment on column strata.v_runs.name is 'The run''s name (its job name in OpenLineage).';
comment on column strata.v_runs.status is 'running, succeeded, failed or killed.';
comment on column strata.v_runs.params is 'Parameters, a JSON object.';
comment on column strata.v_runs.metrics is 'Final metrics: each logged metric at its last step, overridden by those given at finish.';
comment on column strata.v_runs.inputs is 'Inputs as a JSON array of {role, dataset, tag, version_id}, pinned at start.';
comment on column strata.v_runs.inputs_text is 'Inputs as text: role=dataset@tag, ...';
comment on column strata.v_runs.code_ref is 'The code the run ran, e.g. a git commit.';
comment on column strata.v_runs.author is 'Database user who started the run.';
comment on column strata.v_runs.started_at is 'When the run started.';
comment on column strata.v_runs.ended_at is 'When it finished; null while running.';
comment on column strata.v_runs.duration_seconds is 'Seconds from start to end (to now while running).';

create or replace view strata.v_metrics as
select x.run_id,
       x.name as run_name,
       m.name,
       m.step,
       m.value,
       m.recorded_at
from strata.experiment_metrics m
join strata.experiments x on x.id = m.experiment_id;

comment on view strata.v_metrics is 'Every metric point, long form: one row per run, metric and step.';
comment on column strata.v_metrics.run_id is 'The run''s UUID.';
comment on column strata.v_metrics.run_name is 'The run''s name.';
comment on column strata.v_metrics.name is 'Metric name.';
comment on column strata.v_metrics.step is 'Step (0, 1, ...).';
comment on column strata.v_metrics.value is 'Value (finite).';
comment on column strata.v_metrics.recorded_at is 'When the point was logged.';

create or replace view strata.v_models as
select m.id,
       m.name,
       m.description,
       m.owner,
       m.created_at,
       coalesce(s.version_count, 0)::bigint as version_count,
       l.version                            as latest_version,
       l.created_at                         as latest_at,
       coalesce(a.aliases, '')              as aliases
from strata.models m
left join lateral (select count(*) as version_count from strata.model_versions v where v.model_id = m.id) s on true
left join lateral (
  select v.version, v.created_at from strata.model_versions v where v.model_id = m.id order by v.version desc limit 1
) l on true
left join lateral (
  select string_agg(a.alias, ', ' order by a.alias) as aliases from strata.model_aliases a where a.model_id = m.id
) a on true;

comment on view strata.v_models is 'Models of the registry, with their version count, latest version and aliases.';
comment on column strata.v_models.id is 'Internal id of the model.';
comment on column strata.v_models.name is 'Model name.';
comment on column strata.v_models.description is 'Description.';
comment on column strata.v_models.owner is 'Database user who made it.';
comment on column strata.v_models.created_at is 'When it was made.';
comment on column strata.v_models.version_count is 'Number of versions.';
comment on column strata.v_models.latest_version is 'The latest version number.';
comment on column strata.v_models.latest_at is 'When the latest version was pushed.';
comment on column strata.v_models.aliases is 'Its aliases, comma-separated.';

create or replace view strata.v_model_versions as
select mv.id,
       mv.model_id,
       m.name                                    as model,
       mv.version,
       'model:' || m.name || '/' || mv.version   as node,
       encode(mv.content_hash, 'hex')            as content_hash,
       mv.file_count,
       mv.size,
       mv.new_bytes,
       x.run_id,
       x.name                                    as run_name,
       mv.message,
       mv.metadata,
       mv.author,
       mv.created_at,
       coalesce(a.aliases, '')                   as aliases
from strata.model_versions mv
join strata.models m on m.id = mv.model_id
left join strata.experiments x on x.id = mv.experiment_id
left join lateral (
  select string_agg(t.alias || case when t.weight < 1 then ' (' || t.weight::text || ')' else '' end, ', ' order by t.alias) as aliases
  from strata.model_alias_targets t where t.model_version_id = mv.id
) a on true;

comment on view strata.v_model_versions is 'Model versions (1, 2, ... per model): their files, the run that produced them, the aliases serving them now.';
comment on column strata.v_model_versions.id is 'Internal id of the model version.';
comment on column strata.v_model_versions.model_id is 'Internal id of the model.';
comment on column strata.v_model_versions.model is 'Model name.';
comment on column strata.v_model_versions.version is 'Version number within the model.';
comment on column strata.v_model_versions.node is 'Its lineage node name, model:NAME/N.';
comment on column strata.v_model_versions.content_hash is 'Root tree of its files, hex.';
comment on column strata.v_model_versions.file_count is 'Files (and symlinks) it holds.';
comment on column strata.v_model_versions.size is 'Bytes of its files.';
comment on column strata.v_model_versions.new_bytes is 'Stored bytes (compressed where it paid) of the chunks its push stored first (the rest deduplicated).';
comment on column strata.v_model_versions.run_id is 'UUID of the run that produced it, if known.';
comment on column strata.v_model_versions.run_name is 'Name of that run.';
comment on column strata.v_model_versions.message is 'Message given at push.';
comment on column strata.v_model_versions.metadata is 'JSON object given at push.';
comment on column strata.v_model_versions.author is 'Database user who pushed it.';
comment on column strata.v_model_versions.created_at is 'When it was pushed.';
comment on column strata.v_model_versions.aliases is 'Aliases that serve it now, with their weight when split.';

create or replace view strata.v_aliases as
select a.model_id,
       m.name                                    as model,
       a.alias,
       mv.version,
       t.weight,
       t.model_version_id = a.model_version_id   as is_primary,
       'model:' || m.name || '/' || mv.version   as node,
       t.model_version_id,
       a.updated_at
from strata.model_aliases a
join strata.models m on m.id = a.model_id
join strata.model_alias_targets t on t.model_id = a.model_id and t.alias = a.alias
join strata.model_versions mv on mv.id = t.model_version_id;

comment on view strata.v_aliases is 'Current targets of every alias, one row per target version with its share of traffic.';
comment on column strata.v_aliases.model_id is 'Internal id of the model.';
comment on column strata.v_aliases.model is 'Model name.';
comment on column strata.v_aliases.alias is 'Alias name (production, staging, ...).';
comment on column strata.v_aliases.version is 'A version the alias serves.';
comment on column strata.v_aliases.weight is 'Its share of traffic (the weights of an alias sum to 1).';
comment on column strata.v_aliases.is_primary is 'The target with the largest weight: what the alias serves without a routing key.';
comment on column strata.v_aliases.node is 'Lineage node of the version, model:NAME/N.';
comment on column strata.v_aliases.model_version_id is 'Internal id of the model version.';
comment on column strata.v_aliases.updated_at is 'When the alias last moved.';

create or replace view strata.v_alias_history as
select h.id,
       h.model_id,
       m.name        as model,
       h.alias,
       h.action,
       h.from_targets,
       h.to_targets,
       mv.version    as version,
       h.undoes,
       h.changed_by,
       h.changed_at
from strata.model_alias_history h
join strata.models m on m.id = h.model_id
left join strata.model_versions mv on mv.id = h.model_version_id;

comment on view strata.v_alias_history is 'Every alias move, oldest first by id: who, when, from which targets to which.';
comment on column strata.v_alias_history.id is 'Id of the move.';
comment on column strata.v_alias_history.model_id is 'Internal id of the model.';
comment on column strata.v_alias_history.model is 'Model name.';
comment on column strata.v_alias_history.alias is 'Alias name.';
comment on column strata.v_alias_history.action is 'set, or rollback (which undoes the move named by undoes).';
comment on column strata.v_alias_history.from_targets is 'Targets before, {"version": weight}; null for a new alias.';
comment on column strata.v_alias_history.to_targets is 'Targets after, {"version": weight}.';
comment on column strata.v_alias_history.version is 'The primary target after the move.';
comment on column strata.v_alias_history.undoes is 'For a rollback: the id of the move it undid.';
comment on column strata.v_alias_history.changed_by is 'Database user who moved it.';
comment on column strata.v_alias_history.changed_at is 'When.';

create or replace view strata.v_lineage_nodes as
select 'dataset_version'::text as kind, v.id, 'dataset:' || d.name || '@' || v.tag as node,
       d.name || '@' || v.tag as label, v.created_at
from strata.versions v join strata.datasets d on d.id = v.dataset_id
union all
select 'run', x.id, 'run:' || x.run_id::text, x.name || ' (' || x.status || ')', x.started_at
from strata.experiments x
union all
select 'model_version', mv.id, 'model:' || m.name || '/' || mv.version, m.name || '/' || mv.version, mv.created_at
from strata.model_versions mv join strata.models m on m.id = mv.model_id;

comment on view strata.v_lineage_nodes is 'Every node of the lineage graph: dataset versions, runs, model versions, with readable names.';
comment on column strata.v_lineage_nodes.kind is 'dataset_version, run or model_version.';
comment on column strata.v_lineage_nodes.id is 'Internal id within its kind.';
comment on column strata.v_lineage_nodes.node is 'Readable name: dataset:NAME@TAG, run:UUID, model:NAME/N.';
comment on column strata.v_lineage_nodes.label is 'Short label: NAME@TAG, run name (status), NAME/N.';
comment on column strata.v_lineage_nodes.created_at is 'When the node was made.';

create or replace view strata.v_lineage_edges as
select e.id,
       s.node                                                              as source,
       e.relation,
       t.node                                                              as target,
       case e.source_kind when 'experiment' then 'run' else e.source_kind end as source_kind,
       case e.target_kind when 'experiment' then 'run' else e.target_kind end as target_kind,
       s.label                                                             as source_label,
       t.label                                                             as target_label,
       e.origin,
       e.created_by,
       e.created_at
from strata.lineage_edges e
join strata.v_lineage_nodes s on s.kind = case e.source_kind when 'experiment' then 'run' else e.source_kind end and s.id = e.source_id
join strata.v_lineage_nodes t on t.kind = case e.target_kind when 'experiment' then 'run' else e.target_kind end and t.id = e.target_id;

comment on view strata.v_lineage_edges is 'Every lineage edge source --relation--> target (the source made from or depending on the target), with readable node names.';
comment on column strata.v_lineage_edges.id is 'Id of the edge.';
comment on column strata.v_lineage_edges.source is 'The node made from, or depending on, the target.';
comment on column strata.v_lineage_edges.relation is 'derived_from, trained_on, evaluated_on, used, produced_by, or a user''s relation.';
comment on column strata.v_lineage_edges.target is 'The node the source came from.';
comment on column strata.v_lineage_edges.source_kind is 'dataset_version, run or model_version.';
comment on column strata.v_lineage_edges.target_kind is 'dataset_version, run or model_version.';
comment on column strata.v_lineage_edges.source_label is 'Short label of the source.';
comment on column strata.v_lineage_edges.target_label is 'Short label of the target.';
comment on column strata.v_lineage_edges.origin is 'system (seen by Strata) or user (strata.add_edge).';
comment on column strata.v_lineage_edges.created_by is 'Database user who recorded it.';
comment on column strata.v_lineage_edges.created_at is 'When it was recorded.';

-- The views that were there before, described too.
comment on view strata.v_datasets is 'Datasets with their version count and latest version.';
comment on column strata.v_datasets.id is 'Internal id of the dataset.';
comment on column strata.v_datasets.name is 'Dataset name.';
comment on column strata.v_datasets.description is 'Description.';
comment on column strata.v_datasets.owner is 'Database user who made it.';
comment on column strata.v_datasets.created_at is 'When it was made.';
comment on column strata.v_datasets.version_count is 'Number of versions.';
comment on column strata.v_datasets.latest_tag is 'Tag of the latest version.';
comment on column strata.v_datasets.latest_at is 'When the latest version was committed.';
comment on column strata.v_datasets.latest_file_count is 'Files of the latest version.';
comment on column strata.v_datasets.latest_size is 'Bytes of the latest version.';

comment on view strata.v_versions is 'Versions of every dataset: tag, parent, root tree, totals.';
comment on column strata.v_versions.id is 'Internal id of the version.';
comment on column strata.v_versions.dataset_id is 'Internal id of the dataset.';
comment on column strata.v_versions.dataset is 'Dataset name.';
comment on column strata.v_versions.seq is 'Sequence number within the dataset (1, 2, ...).';
comment on column strata.v_versions.tag is 'Tag (v1, v2, ... or a chosen one).';
comment on column strata.v_versions.parent_tag is 'Tag of the parent version.';
comment on column strata.v_versions.content_hash is 'Root tree of its files, hex.';
comment on column strata.v_versions.file_count is 'Files (and symlinks) it holds.';
comment on column strata.v_versions.size is 'Bytes of its files.';
comment on column strata.v_versions.new_bytes is 'Stored bytes (compressed where it paid) of the chunks its push stored first.';
comment on column strata.v_versions.message is 'Message given at push.';
comment on column strata.v_versions.metadata is 'JSON object given at push.';
comment on column strata.v_versions.author is 'Database user who pushed it.';
comment on column strata.v_versions.created_at is 'When it was committed.';
comment on column strata.v_versions.state is 'committed, or deleted (strata.delete_version, retention): a deleted version keeps its row and lineage.';
comment on column strata.v_versions.deleted_at is 'When it was deleted; null while it lives.';
comment on column strata.v_versions.deleted_by is 'The login that deleted it.';
