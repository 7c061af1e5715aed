// npm test (and npm run test:db, test:cli, test:store): starts the services every test
// file shares, one throwaway PostgreSQL cluster with a template database built by the
// real migrations and one S3 API server; runs tap (with this script's arguments: files,
// globs, tap options) with their addresses in STRATA_TEST_ADMIN_URL and STRATA_TEST_S3;
// stops both at the end, whatever happened. Each file then clones its databases from
// the template (test/helpers/harness.ts) instead of running initdb and the migrations.
//
// STRATA_TEST_RUNNER tells the helpers they run under this script: there they refuse to
// start services of their own, and note every cluster or server a test starts itself
// (the cluster tests do) in STRATA_TEST_SERVICE_LOG, summed up at the end.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "../loader/db/migrate.js";
import { TEMPLATE_DB, withDatabase } from "./helpers/env.js";
import { type S3ServerInfo, startS3Server } from "./helpers/s3server.js";
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
  [cluster, s3] = await Promise.all([createThrowawayCluster(), startS3Server()]);
  const adminUrl = withDatabase(cluster.installUrl, "postgres");
  await migrateTemplate(adminUrl);
  console.log(
    `# test/run.ts: PostgreSQL on port ${cluster.port}, template migrated, S3 API server at ${s3.endpoint} (${Date.now() - started} ms)`,
  );
  if (!stopping) {
    const env = {
      ...process.env,
      STRATA_TEST_RUNNER: "1",
      STRATA_TEST_SERVICE_LOG: serviceLog,
      STRATA_TEST_ADMIN_URL: adminUrl,
      STRATA_TEST_S3: JSON.stringify({ ...s3, stop: undefined }),
      // The pinned AWS SDK runs on Node 20; its notice that later releases will not is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    code = await new Promise<number>((resolve, reject) => {
      tap = spawn(process.execPath, [TAP, ...process.argv.slice(2)], { stdio: "inherit", env });
      tap.on("error", reject);
      tap.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
  }
} finally {
  await s3?.stop().catch(() => {});
  await cluster?.stop().catch(() => {});
  console.log(`# test/run.ts: ${summary()}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
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
  return `one shared cluster and S3 server; test files started ${lines.length} more${list ? ` (${list})` : ""}`;
}
