// What the database cannot see: a pack deleted, truncated or with a flipped byte is found
// by fsck (a flip only by --full), reported by dataset, version and path, and healed by
// pushing the same data again; a pack registered but never stored (chunk poisoning) and a
// symlink hashed as another target (tree poisoning) cannot make an honest push wrong.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { cliSession, strata } from "../helpers/cli.js";
import { bytes, csvText, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

type S = Awaited<ReturnType<typeof openTestStrata>>;

function packFiles(s: S): string[] {
  const root = join(s.env.STRATA_STORE!.slice("file://".length), "packs");
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

const damages = {
  deleted: (f: string) => unlinkSync(f),
  truncated: (f: string) => truncateSync(f, statSync(f).size - 1),
  flipped: (f: string) => {
    const b = readFileSync(f);
    b[b.length >> 1]! ^= 0xff;
    writeFileSync(f, b);
  },
};

for (const [how, damage] of Object.entries(damages)) {
  t.test(`a ${how} pack is found by fsck${how === "flipped" ? " --full" : ""} and healed by a re-push`, async (t) => {
    const s = await openTestStrata(t);
    const cli = cliSession(t);
    const env = { ...s.env, STRATA_PACK_SIZE: String(256 * 1024) };
    const dir = tempDir(t);
    writeTree(dir, { "a.bin": bytes(600_000, 1), "b/c.bin": bytes(600_000, 2) });
    t.equal((await cli(["push", dir, "--dataset", "ds"], env)).code, 0);
    const packs = packFiles(s);
    t.ok(packs.length >= 2, `${packs.length} packs`);
    const victim = packs.find((p) => readFileSync(p).includes(bytes(600_000, 2).subarray(0, 200_000)));
    damage(victim ?? packs[0]!);

    const quick = await cli(["fsck", "--json"], env);
    if (how === "flipped") {
      t.equal(quick.code, 0, "a flipped byte keeps the size: only --full reads it");
      t.equal((JSON.parse(quick.stdout) as { damaged: unknown[] }).damaged.length, 0);
    } else t.equal(quick.code, 7, "damage found");
    const found = await cli(["fsck", ...(how === "flipped" ? ["--full"] : [])], env);
    t.equal(found.code, 7, found.stderr);
    t.match(found.stdout, /1 damaged/);
    t.match(found.stdout, /unreadable: ds@v1 b\/c\.bin\n/, "named by dataset, version and path");
    t.notMatch(found.stdout, /unreadable: ds@v1 a\.bin/, "only what the pack holds");
    const broken = await cli(["checkout", "ds@v1", tempDir(t)], env);
    t.equal(broken.code, 7, "the damaged version cannot be checked out");

    const again = await cli(["push", dir, "--dataset", "ds", "--json"], env);
    t.equal(again.code, 0, again.stderr);
    t.equal(JSON.parse(again.stdout).unchanged, true, "the same data: no new version, yet...");
    const after = await cli(["fsck", "--full"], env);
    t.equal(after.code, 0, `...the damage is repaired: ${after.stdout}${after.stderr}`);
    const out = tempDir(t);
    t.equal((await cli(["checkout", "ds@v1", out], env)).code, 0, "and the old version checks out");
    t.ok(readFileSync(join(out, "b/c.bin")).equals(bytes(600_000, 2)), "byte for byte");
  });
}

t.test("a flipped byte in a compressed chunk is found by checkout and fsck --full; a re-push heals it", async (t) => {
  const s = await openTestStrata(t);
  const env = { ...s.env, STRATA_PACK_SIZE: String(64 * 1024) };
  const dir = tempDir(t);
  const table = csvText(2_000_000, 5);
  writeTree(dir, { "a.bin": bytes(300_000, 1), "table.csv": table });
  t.equal((await strata(["push", dir, "--dataset", "ds"], env)).code, 0);
  const [c] = await s.query<{ pack: Buffer; pack_offset: number; stored_size: number; codec: number }>(
    `select c.pack, c.pack_offset, c.stored_size, c.codec from strata.ls('ds', null) l, strata.blob_chunks(array[l.hash]) c
     where l.path = 'table.csv' order by c.seq limit 1`,
  );
  t.equal(c!.codec, 1, "the table is stored compressed");
  const file = join(s.env.STRATA_STORE!.slice("file://".length), "packs", c!.pack.toString("hex").slice(0, 2), c!.pack.toString("hex"));
  const b = readFileSync(file);
  b[c!.pack_offset + (c!.stored_size >> 1)]! ^= 0xff;
  writeFileSync(file, b);

  const broken = await strata(["checkout", "ds@v1", tempDir(t)], env);
  t.equal(broken.code, 7, "checkout refuses the corrupt frame");
  t.match(broken.stderr, /chunk 1 of table\.csv does not match its hash/);
  const found = await strata(["fsck", "--full"], env);
  t.equal(found.code, 7, found.stderr);
  t.match(found.stdout, /1 damaged/);
  t.match(found.stdout, /unreadable: ds@v1 table\.csv\n/);

  t.equal((await strata(["push", dir, "--dataset", "ds"], env)).code, 0);
  const after = await strata(["fsck", "--full"], env);
  t.equal(after.code, 0, `the damage is repaired: ${after.stdout}${after.stderr}`);
  const out = tempDir(t);
  t.equal((await strata(["checkout", "ds@v1", out], env)).code, 0);
  t.ok(readFileSync(join(out, "table.csv")).equals(table), "byte for byte");
});

t.test("chunk poisoning: a pack registered but never stored cannot make an honest push unreadable", async (t) => {
  const s = await openTestStrata(t);
  const data = bytes(300_000, 9);
  const chunk = createHash("sha256").update(data).digest(); // one chunk: below the minimum chunk size it is the file
  // A hostile writer registers the chunk in a pack that is not in the store.
  const [begun] = await s.query<{ push: number }>("select push from strata.push_begin('evil')");
  const push = begun!.push;
  await s.query("select strata.register_pack($1, $2, $3::bytea[], $4::bigint[], $5::int[], $6)", [
    Buffer.alloc(32, 7),
    data.length,
    [chunk],
    [0],
    [data.length],
    push,
  ]);
  const dir = tempDir(t);
  writeTree(dir, { "honest.bin": data });
  const r = await s.push(dir, { dataset: "honest" });
  t.equal(r.damagedPacks, 1, "the push found the pack missing");
  t.equal(r.newBytes, data.length, "and uploaded the chunk itself");
  const out = tempDir(t);
  await s.checkout({ dataset: "honest" }, out);
  t.ok(readFileSync(join(out, "honest.bin")).equals(data), "the honest push gets exactly what it pushed");
});

t.test("tree poisoning: a symlink hashed as another target is refused; the honest link is kept", async (t) => {
  const s = await openTestStrata(t);
  const honest = createHash("sha256").update("data/train.csv").digest();
  const err = await s
    .query(
      "select strata.put_trees($1::bytea[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::boolean[], $8::bytea[], $9::bigint[], $10::text[])",
      [[Buffer.alloc(32, 1)], [1], [0], [1], ["latest"], ["symlink"], [false], [honest], [0], ["/etc"]],
    )
    .catch((e: unknown) => e);
  t.match(err, { code: "ST011", message: /symlink latest .* another target than \/etc/ });
  const dir = tempDir(t);
  writeTree(dir, { "data/train.csv": "a,b\n", latest: { symlink: "data/train.csv" } });
  await s.push(dir, { dataset: "ds" });
  const ls = await s.ls({ dataset: "ds" });
  t.same(
    ls.filter((f) => f.kind === "symlink").map((f) => [f.path, f.target, f.hash]),
    [["latest", "data/train.csv", honest.toString("hex")]],
  );
});
