import t from "tap";
import { type EntryPoint, entryPoints } from "../../stored/entrypoints.js";
import { generateWrappers } from "../../scripts/wrappers.js";
import { freshDatabase } from "../helpers/harness.js";
import { connect } from "../helpers/db.js";

t.test("every declared entry point has a PL/Lua wrapper with the declared arguments", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  const { rows } = await db.query<{ name: string; args: string; lang: string; body: string; rows: number }>(
    `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args, l.lanname as lang, p.prosrc as body,
            p.prorows::int as rows
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
     where n.nspname = 'strata'`,
  );
  t.ok(entryPoints.length > 0, `${entryPoints.length} entry points declared`); // else the loop checks nothing
  for (const e of entryPoints as readonly EntryPoint[]) {
    const fn = rows.find((r) => r.name === e.name);
    t.ok(fn, `strata.${e.name} exists`);
    t.equal(fn?.lang, "pllua", `strata.${e.name} is PL/Lua`);
    t.equal(fn?.args, e.args.map((a) => `${a.name} ${a.type}`).join(", "), `strata.${e.name} arguments`);
    t.match(fn?.body, `__strata.api.${e.name}(`, `strata.${e.name} forwards to the bundle`);
    t.notMatch(fn?.body, "____modules", `strata.${e.name} does not paste the bundle`);
    if (e.rows !== undefined) t.equal(fn?.rows, e.rows, `strata.${e.name} tells the planner it returns ${e.rows} rows`);
  }
});

t.test("one bundle load per session serves every wrapper", async (t) => {
  const db = await connect(t, await freshDatabase(t));
  await db.query("begin");
  await db.query("set local track_functions = 'all'");
  await db.query("select strata.create_dataset('one')");
  const { rows } = await db.query("select count(*)::int as n from strata.missing_blobs(array[sha256('x')])");
  await db.query("select strata.create_dataset('two')");
  const { rows: loads } = await db.query("select pg_stat_get_xact_function_calls('strata._bundle_source'::regproc)::int as n");
  await db.query("commit");
  t.equal(rows[0].n, 1, "the wrappers work");
  t.equal(loads[0].n, 1, "the bundle source was read once for three calls of two wrappers");
});

t.test("the generator refuses what would break a wrapper", async (t) => {
  const base = { module: "chunks", returns: "bigint", volatility: "volatile", access: "reader", comment: "x" } as const;
  t.throws(() => generateWrappers([{ ...base, name: "Bad-Name", args: [] }], "00"), /plain SQL identifier/);
  t.throws(() => generateWrappers([{ ...base, name: "f", args: [{ name: "end", type: "text" }] }], "00"), /Lua local/);
  t.throws(
    () =>
      generateWrappers(
        [
          {
            ...base,
            name: "f",
            args: [
              { name: "a", type: "text", default: "null" },
              { name: "b", type: "text" },
            ],
          },
        ],
        "00",
      ),
    /follows an argument with a default/,
  );
  t.throws(
    () =>
      generateWrappers(
        [
          { ...base, name: "f", args: [] },
          { ...base, name: "f", args: [] },
        ],
        "00",
      ),
    /declared twice/,
  );
  t.throws(() => generateWrappers([{ ...base, name: "f", args: [], rows: 1 }], "00"), /set-returning/);
});
