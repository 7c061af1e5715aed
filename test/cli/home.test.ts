// Where the home is: found as git finds .git (STRATA_HOME, else the nearest .strata in
// this folder or a parent); made only by strata init or the first push, which says so.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { BIN } from "../helpers/cli.js";
import { tempDir } from "../helpers/strata.js";

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ["STRATA_HOME", "DATABASE_URL", "STRATA_STORE", "NODE_OPTIONS"]) if (!(k in env)) delete merged[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: merged });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

t.test("a command outside any home says so, creates nothing; push makes one; sub-folders find it", async (t) => {
  const top = tempDir(t);
  const project = join(top, "project");
  const elsewhere = join(top, "elsewhere");
  mkdirSync(join(project, "data", "sub"), { recursive: true });
  mkdirSync(elsewhere);
  writeFileSync(join(project, "data", "a.txt"), "a");
  t.teardown(() => run(["db", "stop"], project));

  const lost = await run(["log", "demo"], elsewhere);
  t.equal(lost.code, 8, "exit 8: not set up");
  t.match(lost.stderr, /^strata: no Strata home in .*elsewhere or a parent folder: run strata init/);
  t.notOk(existsSync(join(elsewhere, ".strata")), "nothing created there");
  t.match((await run(["db", "status"], elsewhere)).stdout, /^not created here/);

  const pushed = await run(["push", "data", "--dataset", "demo"], project);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stderr, `made a Strata home in ${join(project, ".strata")}`);
  t.match(pushed.stdout, /^demo@v1: 1 files/);

  const fromSub = await run(["log", "demo", "--json"], join(project, "data", "sub"));
  t.equal(fromSub.code, 0, fromSub.stderr);
  t.equal((JSON.parse(fromSub.stdout) as { tag: string }[])[0]?.tag, "v1", "a sub-folder finds the home above it");
  t.notOk(existsSync(join(project, "data", "sub", ".strata")));
  t.match((await run(["db", "status"], join(project, "data"))).stdout, /^running \(pid \d+, port \d+\) in /);
  t.equal((await run(["db", "stop"], project)).stdout, "stopped\n");
  t.match((await run(["db", "status"], project)).stdout, /^stopped /);

  const again = await run(["push", "data", "--dataset", "demo", "--tag", "again"], project);
  t.equal(again.code, 0, again.stderr);
  t.notMatch(again.stderr, /made a Strata home/, "the second push uses the home it finds");
});

t.test("strata init makes a home where asked, once", async (t) => {
  const top = tempDir(t);
  const first = await run(["init"], top);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.stdout, `made a Strata home in ${join(top, ".strata")}\n`);
  t.match((await run(["init"], top)).stdout, /is a Strata home already/);
  t.match((await run(["db", "status"], top)).stdout, /^not created in .* yet/);
});
