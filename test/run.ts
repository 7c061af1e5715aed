// npm test: starts the services every test file shares (one throwaway PostgreSQL cluster
// with a template database built by the real migrations, one S3 API server), runs tap
// with their addresses in the environment, and stops both at the end, whatever happened.

import { spawn } from "node:child_process";
import { createThrowawayCluster } from "./helpers/throwaway-cluster.js";
import { migrate } from "../loader/db/migrate.js";
import { startS3Server } from "./helpers/s3server.js";
import { TEMPLATE_DB, withDatabase } from "./helpers/env.js";

const cluster = await createThrowawayCluster();
let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;
let code = 1;
try {
  const adminUrl = withDatabase(cluster.url, "postgres");
  await migrateTemplate(adminUrl);
  s3 = await startS3Server();
  const env = {
    ...process.env,
    STRATA_TEST_ADMIN_URL: adminUrl,
    STRATA_TEST_S3: JSON.stringify({ ...s3, stop: undefined }),
  };
  code = await new Promise<number>((resolve) => {
    const tap = spawn(
      process.execPath,
      [new URL("../node_modules/tap/dist/esm/run.mjs", import.meta.url).pathname, ...process.argv.slice(2)],
      {
        stdio: "inherit",
        env,
      },
    );
    const forward = (sig: NodeJS.Signals) => tap.kill(sig);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    tap.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
} finally {
  await s3?.stop().catch(() => {});
  await cluster.stop().catch(() => {});
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
