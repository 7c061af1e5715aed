-- Up Migration
-- Chunk references below each tree: the number of chunks of the files below it, a chunk
-- counted once per place it is used (a chunk used by two files, or twice in one file,
-- counts twice). Like file_count and size it composes up the Merkle tree, so commit
-- computes it for new trees only, and diff_summary reads a version's total from its root
-- without walking the version: it then counts chunks over the changed files alone and
-- derives common / only-in-a / only-in-b exactly (see stored/diffs.ts).
-- Null means "not computed" (a tree written by a path that does not fill it); readers
-- then count by walking the tree.

alter table strata.trees add column chunk_refs bigint check (chunk_refs >= 0);

-- Fill the trees that exist, leaves first: each round fills the trees whose subtrees are
-- all filled.
update strata.trees set chunk_refs = 0 where entry_count = 0;
do $$
declare
  n bigint;
begin
  loop
    update strata.trees t set chunk_refs = x.refs
    from (
      select e.tree,
             sum(case e.kind when 'file' then octet_length(b.chunks) / 32
                             when 'dir' then c.chunk_refs
                             else 0 end)::bigint as refs
      from strata.tree_entries e
      left join strata.blobs b on e.kind = 'file' and b.hash = e.hash
      left join strata.trees c on e.kind = 'dir' and c.hash = e.hash
      group by e.tree
      having bool_and(e.kind <> 'dir' or c.chunk_refs is not null)
    ) x
    where t.hash = x.tree and t.chunk_refs is null;
    get diagnostics n = row_count;
    exit when n = 0;
  end loop;
end
$$;
