// Kill the loader in the middle of a push, at exact steps (STRATA_FAULT, loader/fault.ts):
// no version appears, everything stored is whole, and the same push re-run uploads only
// what is missing.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { BIN, strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const PACK_SIZE = String(2 * 1024 * 1024);

type TestStrata = Awaited<ReturnType<typeof openTestStrata>>;

/** The application_name of the killed push's database sessions. */
const APP = "strata-crash-test-push";

/**
 * `strata push` in a child process armed with STRATA_FAULT; resolves with how it ended,
 * once the database sessions it left behind are gone too.
 */
async function pushWithFault(s: TestStrata, dir: string, fault: string): Promise<{ code: number | null; signal: string | null }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...s.env, STRATA_PACK_SIZE: PACK_SIZE, STRATA_FAULT: fault, PGAPPNAME: APP };
  delete childEnv.NODE_OPTIONS; // the compiled CLI, without the test runner's loader hooks
  const child = spawn(process.execPath, [BIN, "push", dir, "--dataset", "crash"], { env: childEnv, stdio: "ignore" });
  const ended = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  // A statement the dead process had sent (a pack registration in flight) may still be
  // running on the server. End those sessions, waiting for each to be gone, so that what
  // the test reads next is the final state the crash left.
  await s.query("select pg_terminate_backend(pid, 60000) from pg_stat_activity where application_name = $1", [APP]);
  return ended;
}

async function storeState(s: TestStrata): Promise<{ versions: number; packs: number; bytes: number }> {
  const [state] = await s.query<{ versions: number; packs: number; bytes: string }>(
    "select (select count(*) from strata.versions)::int as versions, (select count(*) from strata.packs)::int as packs, (select coalesce(sum(size), 0) from strata.chunks)::bigint as bytes",
  );
  return { versions: state!.versions, packs: state!.packs, bytes: Number(state!.bytes) };
}

/** Every registered pack is stored whole: named by its chunk list, each chunk intact; no stray objects. */
async function checkPacksWhole(t: Test, s: TestStrata): Promise<void> {
  const objects = join(s.env.STRATA_STORE!.slice("file://".length), "packs");
  const packs = await s.query<{ id: number; hash: Buffer; size: number }>("select id, hash, size from strata.packs");
  for (const p of packs) {
    const hex = p.hash.toString("hex");
    const body = readFileSync(join(objects, hex.slice(0, 2), hex));
    t.equal(body.length, Number(p.size));
    const chunks = await s.query<{ hash: Buffer; pack_offset: number; size: number }>(
      "select hash, pack_offset, size from strata.chunks where pack_id = $1 order by pack_offset",
      [p.id],
    );
    const bad = chunks.filter(
      (c) =>
        !createHash("sha256")
          .update(body.subarray(Number(c.pack_offset), Number(c.pack_offset) + c.size))
          .digest()
          .equals(c.hash),
    );
    t.equal(bad.length, 0, `pack ${hex.slice(0, 8)} holds intact chunks`);
  }
  const leftovers = readdirSync(objects, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(objects, f)).isFile() && !/^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f));
  t.same(
    leftovers.filter((f) => !f.includes(".")),
    [],
    "no stray objects under final-looking names",
  );
}

/** 16 files of 1.5 MB: about 12 packs of 2 MiB. */
function writeInput(t: Test): { dir: string; total: number } {
  const dir = tempDir(t);
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 16; i++) spec[`part-${i}.bin`] = bytes(1_500_000, 100 + i);
  writeTree(dir, spec);
  return { dir, total: 16 * 1_500_000 };
}

async function rerun(s: TestStrata, dir: string): Promise<{ newBytes: number; version: { tag: string; size: number } }> {
  const r = await strata(["push", dir, "--dataset", "crash", "--json"], { ...s.env, STRATA_PACK_SIZE: PACK_SIZE });
  if (r.code !== 0) throw new Error(`the re-run failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { newBytes: number; version: { tag: string; size: number } };
}

t.test("a push killed after its third pack is registered leaves no version, and its re-run resumes", async (t) => {
  const s = await openTestStrata(t);
  const { dir, total } = writeInput(t);

  const killed = await pushWithFault(s, dir, "push.after-pack-registered:3");
  t.same(killed, { code: null, signal: "SIGKILL" }, "the push died at the fault point");

  const state = await storeState(s);
  t.equal(state.versions, 0, "no partial version is visible");
  // Uploads run three at a time: the other two may have registered their packs too
  // (each registration commits or not, as a whole).
  t.ok(state.packs >= 3 && state.packs <= 5, `the killed push had registered ${state.packs} packs (3, and at most the 2 others in flight)`);
  t.ok(state.bytes < total, "the push had not uploaded everything");
  await checkPacksWhole(t, s);

  const result = await rerun(s, dir);
  t.equal(result.version.tag, "v1");
  t.equal(result.version.size, total);
  t.equal(
    result.newBytes,
    total - state.bytes,
    `the re-run uploaded the ${total - state.bytes} missing bytes, not the ${state.bytes} stored`,
  );
  const after = await storeState(s);
  t.same([after.versions, after.bytes], [1, total], "one version; every byte stored once");
});

t.test("a push killed after all its uploads, before its commit, re-runs without uploading anything", async (t) => {
  const s = await openTestStrata(t);
  const { dir, total } = writeInput(t);

  const killed = await pushWithFault(s, dir, "push.before-commit:1");
  t.same(killed, { code: null, signal: "SIGKILL" }, "the push died at the fault point");
  const state = await storeState(s);
  t.equal(state.versions, 0, "no version is visible");
  t.equal(state.bytes, total, "every chunk was stored and registered");
  await checkPacksWhole(t, s);

  const result = await rerun(s, dir);
  t.equal(result.version.tag, "v1");
  t.equal(result.version.size, total);
  t.equal(result.newBytes, 0, "the re-run found every chunk already stored");
});
