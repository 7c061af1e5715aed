// The private PostgreSQL cluster (loader/cluster/), against real servers in
// temporary folders. Every server is stopped and every folder removed in teardown.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import t from "tap";
import type { ClusterInfo } from "../../loader/cluster/cluster.js";
import { clusterStatus, ensureCluster, findPgBinDir, stopCluster } from "../../loader/cluster/cluster.js";
import { projectRoot } from "../../loader/paths.js";
import { createThrowawayCluster } from "../helpers/throwaway-cluster.js";

const isRoot = process.getuid?.() === 0;
const fast = { fsync: false, sharedBuffers: "32MB" };
const repoRoot = projectRoot();
const clusterModule = new URL("../../loader/cluster/cluster.js", import.meta.url).href;

/** A fresh home the server user can enter; its cluster is stopped and it is removed at the end. */
function tempHome(tt: { teardown(fn: () => Promise<void>): void }, leaf?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-cluster-test-"));
  fs.chmodSync(dir, 0o711);
  const home = leaf ? path.join(dir, leaf) : dir;
  tt.teardown(async () => {
    await stopCluster(home, { mode: "immediate" }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return home;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function initdbRuns(home: string): number {
  return fs.readFileSync(path.join(home, "pg", "log"), "utf8").match(/^strata: initdb /gm)?.length ?? 0;
}

/** ensureCluster in a separate node process, with the PostgreSQL binaries off PATH. */
function ensureInChild(home: string): Promise<ClusterInfo> {
  const code = `import { ensureCluster } from ${JSON.stringify(clusterModule)};
process.stdout.write(JSON.stringify(await ensureCluster(${JSON.stringify(home)}, ${JSON.stringify(fast)})));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", code],
      { cwd: repoRoot, env: { ...process.env, PATH: "/usr/bin:/bin" } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as ClusterInfo)),
    );
  });
}

/** No such process, or a zombie: here PID 1 reaps orphans only after a while. */
function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z";
  } catch {
    return true;
  }
}

function holdPort(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(srv));
  });
}

t.test("findPgBinDir finds initdb and pg_ctl", async (tt) => {
  const dir = findPgBinDir();
  tt.ok(fs.existsSync(path.join(dir, "initdb")), dir);
  tt.ok(fs.existsSync(path.join(dir, "pg_ctl")), dir);
});

t.test("create, reuse, stop, restart", async (tt) => {
  const home = tempHome(tt);
  const t0 = Date.now();
  const info = await ensureCluster(home, fast);
  tt.comment(`initdb + start + CREATE DATABASE took ${Date.now() - t0} ms`);
  tt.equal(info.created, true);
  tt.equal(info.started, true);
  tt.match(info.url, /^postgresql:\/\/strata_app:[^@]+@127\.0\.0\.1:\d+\/strata$/);
  tt.match(info.readerUrl, /^postgresql:\/\/strata_bi:[^@]+@127\.0\.0\.1:\d+\/strata$/);
  tt.match(info.installUrl, /^postgresql:\/\/strata:[^@]+@127\.0\.0\.1:\d+\/strata$/);
  tt.equal(fs.statSync(path.join(home, "pg", "logins.json")).mode & 0o777, 0o600);
  tt.equal(info.socketDir, path.join(home, "pg"));
  tt.equal(fs.statSync(path.join(home, "pg", "password")).mode & 0o777, 0o600);
  tt.equal(fs.readFileSync(path.join(home, "pg", "port"), "utf8").trim(), String(info.port));

  const r = await query(info.installUrl, "SELECT current_database() AS db, current_user AS who, current_setting('fsync') AS fsync");
  tt.same(r.rows[0], { db: "strata", who: "strata", fsync: "off" });
  const who = await query(info.url, "select current_user as who, (select rolsuper from pg_roles where rolname = current_user) as su");
  tt.same(who.rows[0], { who: "strata_app", su: false }, "the login people use is no superuser");
  const lua = await query(info.installUrl, "DO LANGUAGE pllua $$ local x = 1 + 1 $$");
  tt.equal(lua.command, "DO", "PL/Lua runs");

  const asRoot = isRoot ? false : "only as root: otherwise the server runs as this user, as it should";
  await tt.test("as root, the server runs as OS user postgres", { skip: asRoot }, async (ttt) => {
    const postgresUid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    ttt.equal(fs.statSync(`/proc/${info.pid}`).uid, postgresUid, "postmaster owner");
    ttt.equal(fs.statSync(path.join(home, "pg")).uid, postgresUid, "<home>/pg owner");
  });

  const again = await ensureCluster(home, fast);
  tt.same([again.port, again.pid, again.created, again.started], [info.port, info.pid, false, false], "reused");
  tt.equal(initdbRuns(home), 1, "one initdb");

  tt.equal(await stopCluster(home), true);
  tt.same(await clusterStatus(home), { initialized: true, running: false });
  tt.equal(await stopCluster(home), false, "stopping a stopped cluster says false");

  const restarted = await ensureCluster(home, fast);
  tt.same([restarted.port, restarted.created, restarted.started], [info.port, false, true], "same port");
  tt.not(restarted.pid, info.pid);
  const status = await clusterStatus(home);
  tt.same([status.running, status.port, status.pid, status.url], [true, info.port, restarted.pid, info.url]);

  await stopCluster(home);
  const squatter = await holdPort(info.port);
  try {
    const moved = await ensureCluster(home, fast);
    tt.not(moved.port, info.port, "a taken port is replaced");
    tt.equal(fs.readFileSync(path.join(home, "pg", "port"), "utf8").trim(), String(moved.port));
    tt.equal((await query(moved.url, "SELECT 1 AS one")).rows[0]?.one, 1);
  } finally {
    squatter.close();
  }
  tt.equal(initdbRuns(home), 1, "still one initdb");
});

t.test("two processes at once on a fresh home: one initdb, one server", async (tt) => {
  const home = tempHome(tt, "home");
  const [a, b] = await Promise.all([ensureInChild(home), ensureInChild(home)]);
  tt.same([a.port, a.pid], [b.port, b.pid], "both see the same server");
  tt.equal(Number(a.created) + Number(b.created), 1, "one of them created it");
  tt.equal(Number(a.started) + Number(b.started), 1, "one of them started it");
  tt.equal(initdbRuns(home), 1);
  tt.equal((await query(a.url, "SELECT 1 AS one")).rows[0]?.one, 1);
  tt.notOk(fs.existsSync(path.join(home, "pg.lock")), "lock released");
});

t.test("two calls at once in one process", async (tt) => {
  const home = tempHome(tt);
  const [a, b] = await Promise.all([ensureCluster(home, fast), ensureCluster(home, fast)]);
  tt.same([a.port, a.pid], [b.port, b.pid]);
  tt.equal(initdbRuns(home), 1);
});

t.test("a stale lock is broken; a path too long for a socket gives TCP only", async (tt) => {
  const home = tempHome(tt, "x".repeat(100));
  fs.mkdirSync(home);
  // A pid that surely is gone: a child that has exited.
  const deadPid = Number(execFileSync("/bin/sh", ["-c", "echo $$"], { encoding: "utf8" }).trim());
  fs.writeFileSync(path.join(home, "pg.lock"), `${deadPid} 1 feedface\n`);
  const info = await ensureCluster(home, { ...fast, lockTimeoutMs: 5_000 });
  tt.equal(info.socketDir, null);
  tt.match(fs.readFileSync(path.join(info.dataDir, "strata.conf"), "utf8"), /too long for a Unix socket path/);
  tt.equal((await query(info.url, "SELECT 1 AS one")).rows[0]?.one, 1);
});

t.test(
  "a home the postgres user cannot reach keeps its cluster where the server can (root in a mode-700 home)",
  { skip: isRoot ? false : "only as root: otherwise the server runs as this user" },
  async (tt) => {
    const locked = fs.mkdtempSync(path.join(os.tmpdir(), "strata-cluster-locked-")); // 0700, root's
    const pgRoot = fs.mkdtempSync(path.join(os.tmpdir(), "strata-pg-root-"));
    fs.chmodSync(pgRoot, 0o755);
    const home = path.join(locked, "home");
    const before = process.env.STRATA_PG_ROOT;
    process.env.STRATA_PG_ROOT = pgRoot;
    tt.teardown(async () => {
      await stopCluster(home, { mode: "immediate" });
      process.env.STRATA_PG_ROOT = before;
      fs.rmSync(locked, { recursive: true, force: true });
      fs.rmSync(pgRoot, { recursive: true, force: true });
    });
    const info = await ensureCluster(home, fast);
    const where = fs.readFileSync(path.join(home, "pg-location"), "utf8").trim();
    tt.equal(path.dirname(where), pgRoot, "the home names the cluster's folder");
    tt.equal(info.dataDir, path.join(where, "data"));
    tt.not(fs.statSync(where).uid, 0, "owned by the server user");
    tt.equal((await query(info.url, "select 1 as one")).rows[0]?.one, 1, "and it serves");
    tt.equal((await clusterStatus(home)).running, true);
  },
);

t.test("createThrowawayCluster", async (tt) => {
  const c = await createThrowawayCluster();
  let stopped = false;
  tt.teardown(async () => {
    if (!stopped) await c.stop();
  });
  tt.equal((await query(c.url, "SELECT current_setting('fsync') AS f")).rows[0]?.f, "off");
  // without a pid, 'server gone' below would hold whatever stop() did
  tt.ok(c.pid !== undefined && !exited(c.pid), `the server runs as pid ${c.pid}`);
  await c.stop();
  stopped = true;
  tt.notOk(fs.existsSync(c.home), "folder removed");
  tt.ok(exited(c.pid ?? 0), "server gone");
});
