// Kill the loader in the middle of a push: no version appears, everything stored is
// whole, and the same push re-run uploads only what is missing.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { packName } from "../../loader/push/packer.js";
import { strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const BIN = fileURLToPath(new URL("../../bin/strata.js", import.meta.url));

t.test("a push killed mid-way leaves no version, and its re-run resumes", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 48; i++) spec[`part-${i}.bin`] = bytes(1_500_000, 100 + i);
  writeTree(dir, spec);
  const total = 48 * 1_500_000;
  const env: NodeJS.ProcessEnv = { ...process.env, ...s.env, STRATA_PACK_SIZE: String(2 * 1024 * 1024) };
  delete env.NODE_OPTIONS;

  const child = spawn(process.execPath, [BIN, "push", dir, "--dataset", "crash"], { env, stdio: "ignore" });
  // wait until some packs are registered (a few of the about 34 the push makes), then
  // kill without warning
  for (let i = 0; i < 3000; i++) {
    const [row] = await s.query<{ n: number }>("select count(*)::int as n from strata.packs");
    if (row!.n >= 3) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));

  const [state] = await s.query<{ versions: number; packs: number; bytes: number }>(
    "select (select count(*) from strata.versions)::int as versions, (select count(*) from strata.packs)::int as packs, (select coalesce(sum(size), 0) from strata.chunks)::bigint as bytes",
  );
  t.equal(state!.versions, 0, "no partial version is visible");
  t.ok(state!.packs >= 3, `the killed push had registered ${state!.packs} packs`);

  // every registered pack is stored whole: named by its chunk list, each chunk intact
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
    t.equal(packName(chunks.map((c) => c.hash)).toString("hex"), hex, `pack ${hex.slice(0, 8)} is named by its chunks`);
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

  const rerun = await strata(["push", dir, "--dataset", "crash", "--json"], { ...s.env, STRATA_PACK_SIZE: String(2 * 1024 * 1024) });
  t.equal(rerun.code, 0, rerun.stderr);
  const result = JSON.parse(rerun.stdout) as { newBytes: number; version: { tag: string; size: number } };
  t.equal(result.version.tag, "v1");
  t.equal(result.version.size, total);
  t.ok(
    result.newBytes <= total - Number(state!.bytes),
    `the re-run uploaded ${result.newBytes} bytes, not the ${Number(state!.bytes)} already stored`,
  );
});
