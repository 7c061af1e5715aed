// Rules of the SQL API as a whole: one name per thing, and how hashes are shown.

import t from "tap";
import { connect } from "../helpers/db.js";
import { freshDatabase } from "../helpers/harness.js";

/** Names of arguments and result columns that hold a SHA-256 hash (row hashes are 8-byte bigints, not these). */
const HASHY = /^(hash|hashes|blob|blobs|blob_[ab]|chunk|chunks|chunk_hashes|pack|tree|tree_[ab]|hash_[ab]|content_hash)$/;

t.test("views show hashes as hex text; other functions take and return raw bytea", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const { rows: viewCols } = await db.query<{ view: string; col: string; type: string }>(
    `select c.relname as view, a.attname as col, format_type(a.atttypid, a.atttypmod) as type
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'strata' and c.relkind = 'v' and a.attnum > 0 and not a.attisdropped`,
  );
  const viewHashes = viewCols.filter((c) => HASHY.test(c.col));
  t.ok(viewHashes.length > 0, "the views show some hashes");
  for (const c of viewHashes) t.equal(c.type, "text", `${c.view}.${c.col} is hex text`);
  t.same(
    viewCols.filter((c) => c.type === "bytea"),
    [],
    "no view has a bytea column",
  );

  const { rows: fns } = await db.query<{ fn: string; view_row: boolean; name: string; type: string }>(
    `select p.proname as fn, exists (select 1 from pg_class r where r.reltype = p.prorettype and r.relkind = 'v') as view_row,
            x.name, format_type(x.type, null) as type
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     cross join lateral unnest(coalesce(p.proargnames, '{}'), coalesce(p.proallargtypes, p.proargtypes::oid[])) as x(name, type)
     where n.nspname = 'strata' and p.proname <> '_bundle_source'`,
  );
  const hashArgs = fns.filter((f) => HASHY.test(f.name));
  t.ok(hashArgs.length > 10, "the functions take and return hashes");
  for (const f of hashArgs) t.match(f.type, /^bytea(\[\])?$/, `${f.fn}: ${f.name} is raw bytea`);
  const viewRowFns = [...new Set(fns.filter((f) => f.view_row).map((f) => f.fn))].sort();
  t.same(
    viewRowFns,
    [
      "commit_model_version",
      "commit_version",
      "delete_dataset",
      "delete_version",
      "finish_experiment",
      "model_history",
      "model_version",
      "rollback_alias",
      "run",
      "set_alias",
      "version",
      "version_history",
    ],
    "these return rows of views (v_versions, v_model_versions: hex hashes; v_runs, v_aliases)",
  );
});

t.test("functions do not share a name with a table or view", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const { rows } = await db.query(
    `select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'strata' and exists (select 1 from pg_class c where c.relnamespace = n.oid and c.relname = p.proname)`,
  );
  t.same(rows, []);
  const fns = (
    await db.query(
      "select p.proname as f, l.lanname as lang from pg_proc p join pg_language l on l.oid = p.prolang where p.proname in ('ls', 'blob_chunks', 'version_history', 'datasets', 'versions')",
    )
  ).rows;
  t.same(
    fns.sort((a, b) => (a.f < b.f ? -1 : 1)),
    [
      { f: "blob_chunks", lang: "sql" },
      { f: "ls", lang: "sql" },
      { f: "version_history", lang: "pllua" },
    ],
  );
});
