// A Strata instance on a fresh database and a store of the test's own, plus small
// builders of input folders.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openStore, type ObjectStore } from "../../loader/store/index.js";
import { Strata } from "../../loader/strata.js";
import { freshDatabase, s3Server, type TestLike } from "./harness.js";
import { createBucket } from "./s3server.js";

export function tempDir(t: TestLike, prefix = "strata-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let buckets = 0;

/** A store of this test's own: a temp folder, or a new bucket on the shared S3 API server. */
export async function testStore(
  t: TestLike,
  kind: "file" | "s3",
): Promise<{ store: ObjectStore; url: string; env: Record<string, string> }> {
  if (kind === "file") {
    const url = `file://${tempDir(t, "strata-store-")}`;
    return { store: openStore(url), url, env: { STRATA_STORE: url } };
  }
  const s3 = await s3Server();
  const bucket = `b-${process.pid}-${++buckets}`;
  await createBucket(s3, bucket);
  const url = `s3://${bucket}/data`;
  const s3opts = {
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
  return {
    store: openStore(url, { s3: s3opts }),
    url,
    env: {
      STRATA_STORE: url,
      STRATA_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    },
  };
}

export async function openTestStrata(t: TestLike, kind: "file" | "s3" = "file"): Promise<Strata & { env: Record<string, string> }> {
  const databaseUrl = await freshDatabase(t);
  const { store, env } = await testStore(t, kind);
  const home = tempDir(t, "strata-home-");
  const strata = await Strata.open({ databaseUrl, store, home });
  t.teardown(() => strata.close());
  return Object.assign(strata, { env: { ...env, DATABASE_URL: databaseUrl, STRATA_HOME: home } });
}

export type Spec = Record<string, Buffer | string | { symlink: string }>;

/** Write `spec` (path -> contents or symlink) under `dir`. */
export function writeTree(dir: string, spec: Spec): void {
  for (const [path, v] of Object.entries(spec)) {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof v === "object" && !Buffer.isBuffer(v)) symlinkSync(v.symlink, abs);
    else writeFileSync(abs, v);
  }
}

/** Deterministic pseudo-random bytes (a counter hashed), so failures reproduce. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Deterministic CSV text of about n bytes (ids, timestamps, floats, categories, words): zstd makes it several times smaller. */
export function csvText(n: number, seed = 1): Buffer {
  const noise = bytes(Math.ceil(n / 16) + 64, seed);
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
  const lines = ["id,at,value,label,note"];
  let size = lines[0]!.length + 1;
  for (let i = 0; size < n; i++) {
    const r = noise[i % noise.length]!;
    const line = `${seed * 1_000_000 + i},2026-01-${String(1 + (i % 28)).padStart(2, "0")}T${String(i % 24).padStart(2, "0")}:00:00Z,${(Math.sin(i / 50) * 100 + r / 256).toFixed(4)},${words[r % 8]},${words[(r >> 3) % 8]} ${words[i % 8]}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(`${lines.join("\n")}\n`).subarray(0, n);
}
