// The embedded default: no DATABASE_URL, a private cluster under STRATA_HOME.

import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import t from "tap";
import { strata } from "../helpers/cli.js";

t.test("the CLI creates, reuses and stops its private cluster", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "strata-home-"));
  chmodSync(home, 0o711); // as root the server runs as an unprivileged user, who must reach it
  const env = { DATABASE_URL: undefined, STRATA_HOME: home };
  t.teardown(async () => {
    await strata(["db", "stop"], env);
    rmSync(home, { recursive: true, force: true });
  });

  const before = await strata(["db", "status"], env);
  t.match(before.stdout, /not created/);

  const created = await strata(["dataset", "create", "demo"], env);
  t.equal(created.code, 0, created.stderr);
  const listed = await strata(["dataset", "list", "--json"], env);
  t.same(
    (JSON.parse(listed.stdout) as { name: string }[]).map((d) => d.name),
    ["demo"],
  );

  const status = JSON.parse((await strata(["db", "status", "--json"], env)).stdout) as { running: boolean; pid: number; port: number };
  t.ok(status.running, "running after first use");
  if (process.getuid?.() === 0) {
    t.equal(statSync(join(home, "pg")).uid !== 0, true, "as root, the cluster belongs to an unprivileged user");
  }

  const url = (await strata(["db", "url"], env)).stdout.trim();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query(
    "select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang where p.oid = 'strata.create_dataset'::regproc",
  );
  await c.end();
  t.same(rows, [{ lanname: "pllua" }], "psql on db url sees the PL/Lua wrapper");

  const again = JSON.parse((await strata(["db", "status", "--json"], env)).stdout) as { pid: number; port: number };
  t.equal(again.pid, status.pid, "the next command reuses the running server");

  const stopped = await strata(["db", "stop"], env);
  t.equal(stopped.stdout, "stopped\n");
  t.match((await strata(["db", "status"], env)).stdout, /stopped/);
  const restarted = await strata(["dataset", "list", "--json"], env);
  t.same(
    (JSON.parse(restarted.stdout) as { name: string }[]).map((d) => d.name),
    ["demo"],
    "data survives a restart",
  );
});
