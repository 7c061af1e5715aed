// The lint rule that keeps stored/ portable: outside stored/host/, Lua and PL/Lua globals
// fail `npm run lint`. Runs Biome with the project's biome.json on probe files.

import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { projectRoot } from "../../loader/paths.js";

interface Override {
  includes: string[];
  linter?: { rules?: { style?: { noRestrictedGlobals?: { options: { deniedGlobals: Record<string, string> } } } } };
}

const config = JSON.parse(readFileSync(join(projectRoot(), "biome.json"), "utf8")) as { overrides: Override[] };
const denied = Object.keys(
  config.overrides.find((o) => o.linter?.rules?.style?.noRestrictedGlobals)?.linter?.rules?.style?.noRestrictedGlobals?.options
    .deniedGlobals ?? {},
);

/** Lint `files` (path -> source) in a scratch project holding a copy of biome.json; returns the exit code and output. */
function lint(t: { teardown(fn: () => void): void }, files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "strata-lint-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(projectRoot(), "biome.json"), join(dir, "biome.json"));
  for (const [path, src] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), src);
  }
  const r = spawnSync(
    join(projectRoot(), "node_modules", ".bin", "biome"),
    ["lint", "--vcs-enabled=false", "--max-diagnostics=none", "--colors=off", "."],
    { cwd: dir, encoding: "utf8" },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

t.test("the rule denies the Lua and PL/Lua globals", async (t) => {
  for (const name of ["spi", "coroutine", "string", "LuaTable", "math", "type", "pcall", "error", "tostring", "pairs", "PgArray"])
    t.ok(denied.includes(name), `${name} is denied`);
});

t.test("a Lua global outside stored/host/ fails the lint; inside it and plain TypeScript pass", async (t) => {
  const probe = `export function f(a: PgArray<string>): number {\n  coroutine.yield(1);\n  return string.len("x") + a.len();\n}\n`;
  const r = lint(t, {
    "stored/probe.ts": probe,
    "stored/host/probe.ts": probe,
    "stored/plain.ts": 'export const n = Math.floor(1.5) + "a/b".split("/").length;\n',
  });
  t.not(r.status, 0, "biome lint fails");
  const flagged = [...r.out.matchAll(/^(\S+):\d+:\d+ lint\/style\/noRestrictedGlobals/gm)].map((m) => m[1]);
  t.same(flagged, ["stored/probe.ts", "stored/probe.ts", "stored/probe.ts"], "PgArray, coroutine and string in stored/probe.ts only");
  t.match(r.out, "A Lua global: outside stored/host/");
});

t.test("every denied name is caught", async (t) => {
  const src = denied.map((n, i) => `export const v${i} = ${n};\n`).join("");
  const r = lint(t, { "stored/all.ts": src });
  const n = [...r.out.matchAll(/lint\/style\/noRestrictedGlobals/g)].length;
  t.equal(n, denied.length, `${denied.length} names`);
});
