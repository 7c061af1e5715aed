// test/helpers: under test/run.ts a test file never starts a cluster or an S3 server of
// its own (the run shares one of each); alone, it would.

import t from "tap";
import { freshDatabase, s3Server } from "../helpers/harness.js";
import { useS3Server } from "../helpers/s3server.js";

t.test("under the runner, a file without the shared services' addresses fails instead of starting its own", async (t) => {
  // As if test/run.ts had started this file but the addresses were lost on the way.
  process.env.STRATA_TEST_RUNNER = "1";
  delete process.env.STRATA_TEST_ADMIN_URL;
  delete process.env.STRATA_TEST_S3;
  const message = /^(dist\/)?test\/unit\/harness\.test\.[jt]s would start its own .* under test\/run\.ts/;
  await t.rejects(freshDatabase(t), { message: /own PostgreSQL cluster/ });
  await t.rejects(freshDatabase(t), { message }, "naming the file");
  await t.rejects(s3Server(), { message: /own S3 API server/ });
  await t.rejects(
    useS3Server(() => {}),
    { message: /own S3 API server/ },
  );
});
