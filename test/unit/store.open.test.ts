// Store URLs, S3 settings from options and environment, keys: no network needed.

import { resolve } from "node:path";

import t from "tap";

import { FileStore, openStore, packKey, planRanges, S3Store, StoreError } from "../../loader/store/index.js";
import { resolveS3Settings } from "../../loader/store/s3-config.js";

function kindOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (err) {
    return err instanceof StoreError ? err.kind : String(err);
  }
}

t.test("openStore parses the store URL forms", async (t) => {
  const s3 = openStore("s3://my-bucket/some/prefix", { s3: { env: {} } });
  t.ok(s3 instanceof S3Store);
  t.equal(s3.describe(), "s3://my-bucket/some/prefix/");
  t.equal(openStore("s3://my-bucket", { s3: { env: {} } }).describe(), "s3://my-bucket/");
  t.equal(openStore("s3://my-bucket/p/", { s3: { env: {} } }).describe(), "s3://my-bucket/p/");

  const abs = openStore("file:///var/tmp/strata objects");
  t.ok(abs instanceof FileStore);
  t.equal((abs as FileStore).root, "/var/tmp/strata objects");
  t.equal(abs.describe(), "file:///var/tmp/strata%20objects");
  t.equal((openStore("file://.strata/objects", { cwd: "/srv/x" }) as FileStore).root, "/srv/x/.strata/objects");
  t.equal((openStore(".strata/objects", { cwd: "/srv/x" }) as FileStore).root, "/srv/x/.strata/objects");
  t.equal((openStore("/srv/objects") as FileStore).root, "/srv/objects");
  t.equal((openStore("objects") as FileStore).root, resolve("objects"));

  for (const bad of [
    "",
    "gs://bucket/x",
    "http://host/x",
    "s3://",
    "s3:///x",
    "s3://Bad_Bucket/x",
    "s3://b/x?region=y",
    "file:",
    "s3://bucket/../x",
  ]) {
    t.equal(
      kindOf(() => openStore(bad, { s3: { env: {} } })),
      "bad_config",
      `refused: ${JSON.stringify(bad)}`,
    );
  }
});

t.test("S3 settings: endpoint override, path style, retries, concurrency", async (t) => {
  const plain = resolveS3Settings({ bucket: "b-1", env: {} });
  t.equal(plain.endpoint, undefined, "no endpoint: the SDK resolves AWS S3");
  t.equal(plain.forcePathStyle, false, "virtual-hosted style on AWS");
  t.equal(plain.region, undefined, "region left to the SDK chain (then us-east-1)");
  t.same([plain.concurrency, plain.maxAttempts, plain.retryMode], [8, 5, "standard"], "defaults");

  const minio = resolveS3Settings({ bucket: "b-1", env: { STRATA_S3_ENDPOINT: "http://127.0.0.1:9000" } });
  t.equal(minio.endpoint, "http://127.0.0.1:9000");
  t.equal(minio.forcePathStyle, true, "path style follows an endpoint override");

  const sdkVar = resolveS3Settings({ bucket: "b-1", env: { AWS_ENDPOINT_URL: "http://a:1", AWS_ENDPOINT_URL_S3: "http://s3:2" } });
  t.equal(sdkVar.endpoint, "http://s3:2", "AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL");
  const ours = resolveS3Settings({ bucket: "b-1", env: { STRATA_S3_ENDPOINT: "http://ours:3", AWS_ENDPOINT_URL_S3: "http://s3:2" } });
  t.equal(ours.endpoint, "http://ours:3", "STRATA_S3_ENDPOINT first");
  t.equal(
    resolveS3Settings({ bucket: "b-1", env: { AWS_ENDPOINT_URL: "http://r2:1", STRATA_S3_FORCE_PATH_STYLE: "0" } }).forcePathStyle,
    false,
    "path style can be turned off",
  );
  t.equal(resolveS3Settings({ bucket: "b-1", env: { STRATA_S3_FORCE_PATH_STYLE: "1" } }).forcePathStyle, true, "or on without an endpoint");

  const tuned = resolveS3Settings({
    bucket: "b-1",
    env: { STRATA_S3_CONCURRENCY: "32", AWS_MAX_ATTEMPTS: "9", AWS_RETRY_MODE: "adaptive", AWS_REGION: "eu-west-1" },
  });
  t.same([tuned.concurrency, tuned.maxAttempts, tuned.retryMode, tuned.region], [32, 9, "adaptive", "eu-west-1"]);
  const explicit = resolveS3Settings({
    bucket: "b-1",
    concurrency: 2,
    maxAttempts: 1,
    env: { STRATA_S3_CONCURRENCY: "32", AWS_MAX_ATTEMPTS: "9" },
  });
  t.same([explicit.concurrency, explicit.maxAttempts], [2, 1], "options beat the environment");

  for (const env of [
    { STRATA_S3_CONCURRENCY: "0" },
    { STRATA_S3_MAX_ATTEMPTS: "many" },
    { STRATA_S3_ENDPOINT: "ftp://x" },
    { AWS_RETRY_MODE: "legacy" },
    { STRATA_S3_FORCE_PATH_STYLE: "maybe" },
  ]) {
    t.equal(
      kindOf(() => resolveS3Settings({ bucket: "b-1", env })),
      "bad_config",
      `refused: ${JSON.stringify(env)}`,
    );
  }
});

t.test("packKey and range planning", async (t) => {
  const hash = "ab".padEnd(64, "0");
  t.equal(packKey(hash), `packs/ab/${hash}`);
  t.equal(
    kindOf(() => packKey("AB".padEnd(64, "0"))),
    "bad_key",
  );
  t.equal(
    kindOf(() => packKey("abc")),
    "bad_key",
  );

  const groups = planRanges(
    [
      { offset: 0, length: 10 },
      { offset: 5, length: 10 }, // overlaps
      { offset: 100, length: 10 }, // within the gap
      { offset: 10_000, length: 10 }, // beyond it
      { offset: 50, length: 0 }, // empty: no read
    ],
    { gap: 1000 },
  );
  t.same(groups, [
    { offset: 0, length: 110, members: [0, 1, 2] },
    { offset: 10_000, length: 10, members: [3] },
  ]);
  const capped = planRanges(
    Array.from({ length: 10 }, (_, i) => ({ offset: i * 100, length: 100 })),
    { maxSpan: 300 },
  );
  t.same(
    capped.map((g) => [g.offset, g.length]),
    [
      [0, 300],
      [300, 300],
      [600, 300],
      [900, 100],
    ],
    "maxSpan splits long runs",
  );
});
