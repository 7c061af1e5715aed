-- Lineage walks, impact, the reverse index of the Merkle trees and model listings, as
-- SQL-language functions for the reason sql/20_diffs.sql gives: set work in the executor,
-- rows streamed. Each first calls a PL/Lua resolver (stored/lineage.ts, stored/models.ts;
-- created after this file, so bodies are checked when first called) that checks the
-- arguments and raises Strata's errors before any row is read.
--
-- impact and versions_containing run with hash and merge joins off: their recursive
-- CTEs and resolvers get row estimates far above what they hold (a working table is
-- assumed ten times its seed), so the planner would hash whole tables (lineage_edges,
-- versions) to join a few rows; with nested loops every step is an index lookup, and a
-- walk costs what it finds. lineage's seed is one row, so its plan needs no help, and it
-- aggregates its walks' sets with hashes. Nodes are named by index lookups, one at a
-- time: joining the walks' sets with each other would be nested loops over unindexed
-- sets, quadratic.
--
-- Edges go source --relation--> target, the source made from the target: "up" follows
-- them source -> target (lineage_edges' unique key leads with the source), "down" target
-- -> source (index lineage_edges_target).
set local check_function_bodies = off;

-- A lineage node's readable name and label (as strata.v_lineage_nodes gives them), found by
-- index lookups on its kind's table. Plain SQL without SET clauses, so the planner inlines
-- it into the walks below (joining the view instead made them about ten times slower).
create or replace function strata._node_name(kind text, id bigint)
returns table (node text, label text)
language sql stable
as $$
select 'dataset:' || d.name || '@' || v.tag, d.name || '@' || v.tag
from strata.versions v join strata.datasets d on d.id = v.dataset_id
where _node_name.kind = 'dataset_version' and v.id = _node_name.id
union all
select 'run:' || x.run_id::text, x.name || ' (' || x.status || ')'
from strata.experiments x where _node_name.kind = 'experiment' and x.id = _node_name.id
union all
select 'model:' || m.name || '/' || mv.version, m.name || '/' || mv.version
from strata.model_versions mv join strata.models m on m.id = mv.model_id
where _node_name.kind = 'model_version' and mv.id = _node_name.id
$$;


-- Walk up and/or down from a node to max_depth. Each walk is a breadth-first recursive
-- union over (kind, id, depth): UNION drops a row equal to any row before it, so a node
-- is expanded at most once per depth, however many paths lead to it (a diamond does not
-- multiply rows, a cycle stops at max_depth); each node is then reported once, at its
-- least depth. Edges are those the walks crossed: from a node expanded (below max_depth)
-- to a node reached. Rows: item 'node' (depth, node, kind, label) and item 'edge'
-- (depth of its far end, source, relation, target).
drop function if exists strata.lineage(text, text, integer);
create function strata.lineage(node text, direction text default 'both', max_depth integer default 20)
returns table (item text, depth integer, node text, kind text, label text, source text, relation text, target text)
language sql stable set jit = off
as $$
with recursive
  start as materialized (select * from strata._lineage_start(lineage.node, lineage.direction, lineage.max_depth)),
  up (kind, id, depth) as (
    select s.kind, s.id, 0 from start s where s.up
    union
    select e.target_kind, e.target_id, u.depth + 1
    from up u join strata.lineage_edges e on e.source_kind = u.kind and e.source_id = u.id
    where u.depth < lineage.max_depth),
  down (kind, id, depth) as (
    select s.kind, s.id, 0 from start s where s.down
    union
    select e.source_kind, e.source_id, d.depth + 1
    from down d join strata.lineage_edges e on e.target_kind = d.kind and e.target_id = d.id
    where d.depth < lineage.max_depth),
  up_min as materialized (select kind, id, min(depth) as depth from up group by kind, id),
  down_min as materialized (select kind, id, min(depth) as depth from down group by kind, id),
  reached as (
    select kind, id, min(depth) as depth from (select * from up_min union all select * from down_min) r group by kind, id),
  -- An expanded node's edges lead to nodes the same walk reached: no join with the walk.
  crossed as (
    select e.id, e.source_kind, e.source_id, e.relation, e.target_kind, e.target_id, min(c.depth) as depth
    from (select e.id, s.depth + 1 as depth from up_min s
          join strata.lineage_edges e on e.source_kind = s.kind and e.source_id = s.id
          where s.depth < lineage.max_depth
          union all
          select e.id, t.depth + 1 from down_min t
          join strata.lineage_edges e on e.target_kind = t.kind and e.target_id = t.id
          where t.depth < lineage.max_depth) c
    join strata.lineage_edges e on e.id = c.id
    group by e.id)
select 'node', r.depth, n.node, case r.kind when 'experiment' then 'run' else r.kind end, n.label, null, null, null
from reached r
cross join lateral strata._node_name(r.kind, r.id) n
union all
select 'edge', c.depth, null, null, null, s.node, c.relation, t.node
from crossed c
cross join lateral strata._node_name(c.source_kind, c.source_id) s
cross join lateral strata._node_name(c.target_kind, c.target_id) t
order by 1 desc, 2, 3, 6, 7, 8
$$;

comment on function strata.lineage(text, text, integer) is
  'The lineage of a node (dataset:NAME@TAG, run:UUID, model:NAME/N or model:NAME@ALIAS) up (what it came from), down (what came from it) or both, to max_depth (0-1000): rows item ''node'' (each node once, at its least depth; kind dataset_version, run or model_version; a readable label) and item ''edge'' (source --relation--> target, the source made from the target).';

-- The trees that hold contents `blob`, at any depth, with the path the contents have
-- below each: the reverse index (tree_entries_hash) walked up, one level per step. A
-- tree shared by many parents is one row per (tree, path).
create or replace function strata._trees_containing(blob bytea)
returns table (tree bytea, path text)
language sql stable
as $$
with recursive up (tree, path) as (
  select e.tree, e.name from strata.tree_entries e where e.hash = _trees_containing.blob and e.kind = 'file'
  union
  select e.tree, e.name || '/' || u.path from up u join strata.tree_entries e on e.hash = u.tree and e.kind = 'dir')
select tree, path from up
$$;

-- Every dataset version and model version whose files include the contents of the file
-- at path in dataset@tag, under whatever name: the trees holding the contents, walked up
-- to the roots versions name.
drop function if exists strata.versions_containing(text, text, text);
create function strata.versions_containing(dataset text, tag text, path text)
returns table (kind text, name text, version text, node text, path text, created_at timestamptz)
language sql stable set jit = off set enable_hashjoin = off set enable_mergejoin = off
as $$
with b as materialized (select * from strata._resolve_file(versions_containing.dataset, versions_containing.tag, versions_containing.path)),
     t as materialized (select c.* from b cross join lateral strata._trees_containing(b.blob) c)
select 'dataset_version', d.name, v.tag, 'dataset:' || d.name || '@' || v.tag, t.path, v.created_at
from t join strata.versions v on v.content_hash = t.tree join strata.datasets d on d.id = v.dataset_id
union all
select 'model_version', m.name, mv.version::text, 'model:' || m.name || '/' || mv.version, t.path, mv.created_at
from t join strata.model_versions mv on mv.content_hash = t.tree join strata.models m on m.id = mv.model_id
order by 1, 2, 6, 4, 5
$$;

comment on function strata.versions_containing(text, text, text) is
  'Every version of every dataset, and every model version, holding the exact contents of the file at path in version tag of dataset (the latest when null), with the path the contents have there.';

-- Everything downstream of a node, or of a file (every version holding its contents, as
-- versions_containing finds them): the runs, model versions and dataset versions made
-- from it, at any depth, and the aliases serving those model versions now. Later versions
-- of the same dataset (its derived_from parent edges) are successors, not consumers, and
-- are not followed: start from the file to follow contents into them. The walk is a
-- union over (kind, id, start), complete and safe on cycles.
drop function if exists strata.impact(text, text);
create function strata.impact(node text, path text default null)
returns table (kind text, node text, label text, serves text, weight numeric, start boolean)
language sql stable set jit = off set enable_hashjoin = off set enable_mergejoin = off
as $$
with recursive
  s as materialized (select * from strata._impact_start(impact.node, impact.path)),
  holding as materialized (select c.tree from s cross join lateral strata._trees_containing(s.blob) c where s.blob is not null),
  roots as materialized (
    select s.kind, s.id from s where s.blob is null
    union
    select 'dataset_version', v.id from holding c join strata.versions v on v.content_hash = c.tree
    union
    select 'model_version', mv.id from holding c join strata.model_versions mv on mv.content_hash = c.tree),
  down (kind, id, start) as (
    select kind, id, true from roots
    union
    select e.source_kind, e.source_id, false
    from down d join strata.lineage_edges e on e.target_kind = d.kind and e.target_id = d.id
    left join strata.versions vs on e.relation = 'derived_from' and e.source_kind = 'dataset_version' and vs.id = e.source_id
    left join strata.versions vt on e.relation = 'derived_from' and e.target_kind = 'dataset_version' and vt.id = e.target_id
    where vs.dataset_id is distinct from vt.dataset_id or vs.dataset_id is null),
  named as materialized (
    select r.kind, r.id, r.start, n.node, n.label
    from (select kind, id, bool_or(start) as start from down group by kind, id) r
    cross join lateral strata._node_name(r.kind, r.id) n)
select case n.kind when 'experiment' then 'run' else n.kind end, n.node, n.label, null::text, null::numeric, n.start
from named n
union all
select 'alias', 'alias:' || m.name || '@' || t.alias, m.name || '@' || t.alias, n.node, t.weight, false
from named n
join strata.model_alias_targets t on n.kind = 'model_version' and t.model_version_id = n.id
join strata.models m on m.id = t.model_id
order by 1, 2, 4
$$;

comment on function strata.impact(text, text) is
  'Everything downstream of a node, or with path of the file at path in it (every dataset or model version holding those contents): dataset versions, runs and model versions made from it at any depth (start: true for where it began), and the aliases serving those model versions now (serves: the model version, weight: its share). Later versions of the same dataset are successors and not followed.';

-- A model version's files, as strata.ls lists a dataset version's (sql/30_files.sql).
drop function if exists strata.model_ls(text, integer, text);
create function strata.model_ls(model text, version integer default null, prefix text default '')
returns table (path text, kind text, executable boolean, size bigint, hash bytea, target text)
language sql stable set jit = off
as $$
select w.path, w.kind, w.executable, w.size, w.hash, w.target
from strata._resolve_model_prefix(model_ls.model, model_ls.version, model_ls.prefix) s,
     strata._tree_walk(s.tree, s.base, s.rest) w
order by w.path collate "C"
$$;

comment on function strata.model_ls(text, integer, text) is
  'Files, symlinks and empty folders of a model version (the latest when null) whose path starts with prefix, in path order (as strata.ls).';

set local check_function_bodies = on;
