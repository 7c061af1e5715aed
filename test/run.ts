// npm test (and npm run test:db, test:cli, test:store, test:unit): starts the services every test
// file shares, one throwaway PostgreSQL cluster with a template database built by the
// real migrations and one S3 API server; runs tap (with this script's arguments: files,
// globs, tap options) with their addresses in STRATA_TEST_ADMIN_URL and STRATA_TEST_S3;
// stops both at the end, whatever happened. Each file then clones its databases from
// the template (test/helpers/harness.ts) instead of running initdb and the migrations.
// Unit test files alone need neither service, and get none.
//
// STRATA_TEST_RUNNER tells the helpers they run under this script: there they refuse to
// start services of their own, and note every cluster or server a test starts itself
// (the cluster tests do) in STRATA_TEST_SERVICE_LOG, summed up at the end.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "../loader/db/migrate.js";
import { projectRoot } from "../loader/paths.js";
import { TEMPLATE_DB, withDatabase } from "./helpers/env.js";
import { type S3ServerInfo, startS3Server } from "./helpers/s3server.js";
import { livePostmaster } from "../loader/cluster/state.js";
import { createThrowawayCluster, type ThrowawayCluster } from "./helpers/throwaway-cluster.js";

const TAP = fileURLToPath(new URL("../node_modules/tap/dist/esm/run.mjs", import.meta.url));

const started = Date.now();
const scratch = mkdtempSync(join(tmpdir(), "strata-test-run-"));
const serviceLog = join(scratch, "services.log");
let cluster: ThrowawayCluster | undefined;
let s3: S3ServerInfo | undefined;
let tap: ReturnType<typeof spawn> | undefined;
let code = 1;
let stopping = false;

// Ctrl-C or a CI timeout: end tap (the finally below then stops the services).
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
  process.on(sig, () => {
    stopping = true;
    tap?.kill(sig);
  });

try {
  // In memory where it can be: the run creates and drops databases by the hundred, and
  // each drop waits for a checkpoint, which on a disk busy with other work waits long.
  const parent = existsSync("/dev/shm") ? "/dev/shm" : undefined;
  const services: Record<string, string> = {};
  if (!unitOnly(process.argv.slice(2))) {
    [cluster, s3] = await Promise.all([createThrowawayCluster({ parent }), startS3Server()]);
    const adminUrl = withDatabase(cluster.installUrl, "postgres");
    await migrateTemplate(adminUrl);
    console.log(
      `# test/run.ts: PostgreSQL on port ${cluster.port}, template migrated, S3 API server at ${s3.endpoint} (${Date.now() - started} ms)`,
    );
    services.STRATA_TEST_ADMIN_URL = adminUrl;
    services.STRATA_TEST_S3 = JSON.stringify({ ...s3, stop: undefined });
  }
  if (!stopping) {
    const env = {
      ...process.env,
      STRATA_TEST_RUNNER: "1",
      STRATA_TEST_SERVICE_LOG: serviceLog,
      ...services,
      // The pinned AWS SDK runs on Node 20; its notice that later releases will not is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const tapArgs = compiledTapArgs(process.argv.slice(2));
    console.log(
      tapArgs
        ? "# test/run.ts: the test files run compiled, from dist/"
        : "# test/run.ts: the test files run from source under tsx (dist/ is older than a source, or the arguments are not test files)",
    );
    code = await new Promise<number>((resolve, reject) => {
      tap = spawn(process.execPath, [TAP, ...(tapArgs ?? process.argv.slice(2))], { stdio: "inherit", env });
      tap.on("error", reject);
      tap.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
  }
} finally {
  const pgCpu = cluster ? postmasterCpu(cluster) : undefined;
  await s3?.stop().catch(() => {});
  await cluster?.stop().catch(() => {});
  console.log(`# test/run.ts: ${summary()}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  // CPU, which other load on the machine leaves as it is (wall time it does not)
  const own = readStat("self");
  console.log(
    `# test/run.ts: CPU ${(own.children + own.self).toFixed(1)} s in tap and its tests${cluster ? `, ${pgCpu?.toFixed(1) ?? "?"} s in the shared PostgreSQL` : ""}`,
  );
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(code);

async function migrateTemplate(adminUrl: string): Promise<void> {
  const pg = (await import("pg")).default;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  await migrate(withDatabase(adminUrl, TEMPLATE_DB));
}

/** Whether the arguments name test files, all of the unit tier (which needs no services). */
function unitOnly(args: string[]): boolean {
  const files = args.filter((a) => !a.startsWith("-"));
  return files.length > 0 && files.every((f) => relative(projectRoot(), resolve(f)).startsWith(`test${sep}unit${sep}`));
}

/**
 * tap's arguments for running the compiled test files under dist/ (npm run build compiles
 * them with the rest): the same code, without the tsx hooks that cost every test process
 * about 0.3 s of CPU. undefined, to run the sources under tsx, when a source is newer than
 * its compiled copy (a run never tests stale code) or an argument is neither an option nor
 * a test file.
 */
function compiledTapArgs(args: string[]): string[] | undefined {
  const root = projectRoot();
  const tsconfig = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")) as { include: string[] };
  for (const pattern of tsconfig.include) {
    const base = pattern.replace(/\/?\*\*.*$/, "");
    const sources = pattern.endsWith(".ts") && !pattern.includes("*") ? [base] : tsFilesUnder(root, base);
    for (const src of sources) {
      const built = join(root, "dist", src.replace(/\.ts$/, ".js"));
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, src)).mtimeMs) return undefined;
    }
  }
  const options = args.filter((a) => a.startsWith("-"));
  let files = args.filter((a) => !a.startsWith("-"));
  if (!files.every((f) => f.endsWith(".test.ts"))) return undefined;
  if (files.length === 0) {
    // package.json's tap "include": folder/*.test.ts patterns
    const include = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { tap: { include: string[] } }).tap.include;
    files = include.flatMap((g) => {
      const dir = dirname(g);
      return readdirSync(join(root, dir))
        .filter((f) => f.endsWith(".test.ts"))
        .map((f) => join(dir, f));
    });
  }
  const compiled = files.map((f) => join("dist", relative(root, resolve(f)).replace(/\.ts$/, ".js")));
  // replaces the config's --import=tsx; stack traces still name the .ts lines
  return ["--node-arg=--enable-source-maps", ...options, ...compiled];
}

/** The .ts files (not .d.ts) under root/dir, relative to root. */
function tsFilesUnder(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(dir, f));
}

/** CPU seconds (user + system) of a process itself and of its children that ended. */
function readStat(pid: number | "self"): { self: number; children: number } {
  // fields after the command's closing parenthesis: utime is the 12th, then stime, cutime, cstime
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  return { self: (f[11]! + f[12]!) / 100, children: (f[13]! + f[14]!) / 100 };
}

/** The shared cluster's CPU so far: the postmaster and the backends it reaped. */
function postmasterCpu(c: ThrowawayCluster): number | undefined {
  try {
    const pm = livePostmaster(c.dataDir);
    if (!pm) return undefined;
    const s = readStat(pm.pid);
    return s.self + s.children;
  } catch {
    return undefined;
  }
}

/** One line on what the test files started beyond the shared services. */
function summary(): string {
  let lines: string[] = [];
  try {
    lines = readFileSync(serviceLog, "utf8").trim().split("\n").filter(Boolean);
  } catch {
    // nothing was started
  }
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  const list = [...counts].map(([what, n]) => `${n} by ${what}`).join(", ");
  const shared = cluster ? "one shared cluster and S3 server" : "no shared services (unit tests only)";
  return `${shared}; test files started ${lines.length} more${list ? ` (${list})` : ""}`;
}
