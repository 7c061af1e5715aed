// The bundle's dispatch is generated from stored/entrypoints.ts: a declared entry without
// an implementation, or with one that takes other types, fails the build.

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { projectRoot } from "../../loader/paths.js";
import { buildStored } from "../../scripts/build-stored.js";
import { exportName, generateDispatch, tsType } from "../../scripts/dispatch.js";
import { type EntryPoint, entryPoints } from "../../stored/entrypoints.js";
import type { TestLike } from "../helpers/harness.js";

/** A copy of stored/ under dist/ (where node_modules, and so lua-types, resolve), removed when `t` ends. */
function storedCopy(t: TestLike): string {
  const root = mkdtempSync(join(projectRoot(), "dist", "dispatch-test-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(projectRoot(), "stored"), join(root, "stored"), { recursive: true });
  return root;
}

const extra = (e: Partial<EntryPoint> & { name: string; module: string }): EntryPoint => ({
  args: [],
  returns: "bigint",
  volatility: "stable",
  access: "reader",
  comment: "x",
  ...e,
});

t.test("an implementation is the camelCase export of the declared module", async (t) => {
  t.equal(exportName("create_dataset"), "createDataset");
  t.equal(exportName("_diff_rows_sides"), "diffRowsSides");
  t.equal(exportName("version"), "version");
  const ts = generateDispatch(entryPoints);
  t.match(ts, 'import { diffSides, diffSummary } from "./diffs";');
  t.match(ts, "  _diff_sides: diffSides,");
  t.match(ts, "readonly version_history: (this: void, dataset: string | undefined) => void;");
  t.equal(tsType("bytea[]"), "SqlArray<Bytes>");
  t.throws(() => tsType("money"), /no TypeScript type for SQL type money/);
  t.throws(() => generateDispatch([extra({ name: "f", module: "../loader" })]), /not a module name/);
});

/**
 * The project's own built bundle when npm run build made it from the current sources (as
 * under npm test, which builds first: a second build would only repeat it), else a build
 * of a copy. Either way, the folder whose dist/stored/ holds the bundle.
 */
function builtBundle(t: TestLike): { root: string; entries: number } {
  const root = projectRoot();
  const bundle = join(root, "dist", "stored", "strata.lua");
  const sources = [
    ...readdirSync(join(root, "stored"), { recursive: true }).map((f) => join(root, "stored", String(f))),
    ...["build-stored.ts", "dispatch.ts", "wrappers.ts"].map((f) => join(root, "scripts", f)),
  ];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest) {
    const manifest = JSON.parse(readFileSync(join(root, "dist", "stored", "manifest.json"), "utf8")) as { signatures: string[] };
    return { root, entries: manifest.signatures.length };
  }
  const copy = storedCopy(t);
  return { root: copy, entries: buildStored(copy).entries };
}

t.test("the declared entries build, and the bundle's api has each of them", async (t) => {
  const { root, entries } = builtBundle(t);
  t.equal(entries, entryPoints.length);
  const lua = readFileSync(join(root, "dist", "stored", "strata.lua"), "utf8");
  for (const e of entryPoints) t.match(lua, `${e.name} = ${exportName(e.name)}`, `api.${e.name}`);
});

t.test("an entry without an implementation, in no module, or taking other SQL types fails the build, naming it", async (t) => {
  // One build with every fault: the compiler reports them all.
  const root = storedCopy(t);
  const changed = entryPoints.map((e) =>
    e.name === "create_dataset" ? { ...e, args: [{ name: "name", type: "bigint" }, ...e.args.slice(1)] } : e,
  );
  const broken = [...changed, extra({ name: "no_such_function", module: "chunks" }), extra({ name: "in_no_module", module: "nowhere" })];
  let message = "";
  try {
    buildStored(root, broken);
  } catch (e) {
    message = (e as Error).message;
  }
  t.match(message, /compiling stored\/ failed/);
  t.match(
    message,
    /main\.ts\(\d+,\d+\) \[strata\.no_such_function\]: error TS2305: Module .+chunks.+ has no exported member 'noSuchFunction'/,
  );
  t.match(message, /nowhere/);
  t.match(message, /main\.ts\(\d+,\d+\) \[strata\.create_dataset\]: error TS2322/);
});
