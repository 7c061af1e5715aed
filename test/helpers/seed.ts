// Test fixture: commits a version from an in-memory map of paths, as a push would,
// but simply: fixed-size chunks, one pack object per version, trees hashed as the
// database expects (see stored/commits.ts). For tests of the read side only.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { StrataError } from "../../loader/errors.js";
import { openStore, packKey, type ObjectStore } from "../../loader/store/index.js";
import { Strata } from "../../loader/strata.js";
import { freshDatabase, s3Server, type TestLike } from "./harness.js";

export type SeedEntry = Buffer | string | { symlink: string };

export interface SeedOptions {
  chunkSize?: number;
  /** Paths whose recorded content hash is deliberately wrong (to test the whole-file check). */
  badHash?: string[];
}

interface Leaf {
  kind: "file" | "dir" | "symlink";
  hash: Buffer;
  size: number;
  target: string | null;
  fileCount: number;
}

interface Dir {
  dirs: Map<string, Dir>;
  leaves: Map<string, Leaf>;
}

const sha = (b: Buffer | string): Buffer => createHash("sha256").update(b).digest();

export async function seedVersion(
  strata: Strata,
  store: ObjectStore,
  dataset: string,
  files: Record<string, SeedEntry>,
  opts: SeedOptions = {},
): Promise<{ tag: string; pack: string | undefined }> {
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const blobs = new Map<string, { hash: Buffer; size: number; chunks: Buffer }>();
  const packChunks = new Map<string, Buffer>();
  const root: Dir = { dirs: new Map(), leaves: new Map() };

  for (const [path, value] of Object.entries(files)) {
    const parts = path.split("/");
    const name = parts.pop()!;
    let dir = root;
    for (const p of parts) {
      let sub = dir.dirs.get(p);
      if (sub === undefined) {
        sub = { dirs: new Map(), leaves: new Map() };
        dir.dirs.set(p, sub);
      }
      dir = sub;
    }
    if (typeof value === "object" && !Buffer.isBuffer(value)) {
      dir.leaves.set(name, { kind: "symlink", hash: sha(value.symlink), size: 0, target: value.symlink, fileCount: 1 });
      continue;
    }
    const data = Buffer.isBuffer(value) ? value : Buffer.from(value);
    const hash = opts.badHash?.includes(path) ? sha(Buffer.concat([data, Buffer.from("!")])) : sha(data);
    const chunkHashes: Buffer[] = [];
    for (let off = 0; off < data.length; off += chunkSize) {
      const chunk = data.subarray(off, off + chunkSize);
      const h = sha(chunk);
      chunkHashes.push(h);
      packChunks.set(h.toString("hex"), chunk);
    }
    blobs.set(hash.toString("hex"), { hash, size: data.length, chunks: Buffer.concat(chunkHashes) });
    dir.leaves.set(name, { kind: "file", hash, size: data.length, target: null, fileCount: 1 });
  }

  const trees: Array<{ hash: Buffer; entries: number; files: number; size: number }> = [];
  const entries: Array<{ tree: Buffer; name: string } & Leaf> = [];
  const hashTree = (dir: Dir): Leaf => {
    const all = new Map(dir.leaves);
    for (const [name, sub] of dir.dirs) all.set(name, hashTree(sub));
    const names = [...all.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const parts: Buffer[] = [];
    let files = 0;
    let size = 0;
    for (const name of names) {
      const e = all.get(name)!;
      const sizeBytes = Buffer.alloc(8);
      sizeBytes.writeBigUInt64BE(BigInt(e.size));
      parts.push(Buffer.from(e.kind === "symlink" ? "l" : e.kind[0]!), Buffer.from(name), Buffer.from([0]), e.hash, sizeBytes);
      files += e.fileCount;
      if (e.kind !== "symlink") size += e.size;
    }
    const hash = sha(Buffer.concat(parts));
    trees.push({ hash, entries: names.length, files, size });
    for (const name of names) entries.push({ tree: hash, name, ...all.get(name)! });
    return { kind: "dir", hash, size, target: null, fileCount: files };
  };
  const rootHash = hashTree(root).hash;

  let packHex: string | undefined;
  const client = await strata.pool.connect();
  try {
    try {
      await client.query("select strata.create_dataset($1)", [dataset]);
    } catch (e) {
      if ((e as { code?: string }).code !== "ST002") throw e;
    }
    await client.query("begin");
    if (packChunks.size > 0) {
      const chunks = [...packChunks.values()];
      const pack = Buffer.concat(chunks);
      packHex = sha(pack).toString("hex");
      await store.put(packKey(packHex), pack);
      const offsets: number[] = [];
      let off = 0;
      for (const c of chunks) {
        offsets.push(off);
        off += c.length;
      }
      await client.query("select strata.register_pack($1::bytea, $2::bigint, $3::bytea[], $4::bigint[], $5::int[])", [
        Buffer.from(packHex, "hex"),
        pack.length,
        [...packChunks.keys()].map((h) => Buffer.from(h, "hex")),
        offsets,
        chunks.map((c) => c.length),
      ]);
    }
    await client.query("select strata.stage_commit()");
    const b = [...blobs.values()];
    await client.query(
      "insert into pg_temp.strata_stage_blobs (hash, size, chunks) select * from unnest($1::bytea[], $2::bigint[], $3::bytea[])",
      [b.map((x) => x.hash), b.map((x) => x.size), b.map((x) => x.chunks)],
    );
    await client.query(
      "insert into pg_temp.strata_stage_trees (hash, entry_count, file_count, size) select * from unnest($1::bytea[], $2::int[], $3::bigint[], $4::bigint[])",
      [trees.map((x) => x.hash), trees.map((x) => x.entries), trees.map((x) => x.files), trees.map((x) => x.size)],
    );
    await client.query(
      "insert into pg_temp.strata_stage_entries (tree, name, kind, hash, size, target) select * from unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[], $5::bigint[], $6::text[])",
      [
        entries.map((e) => e.tree),
        entries.map((e) => e.name),
        entries.map((e) => e.kind),
        entries.map((e) => e.hash),
        entries.map((e) => e.size),
        entries.map((e) => e.target),
      ],
    );
    await client.query("insert into pg_temp.strata_stage_new_chunks (hash) select * from unnest($1::bytea[])", [
      [...packChunks.keys()].map((h) => Buffer.from(h, "hex")),
    ]);
    const { rows } = await client.query<{ tag: string }>("select tag from strata.commit_version($1, $2)", [dataset, rootHash]);
    await client.query("commit");
    return { tag: rows[0]!.tag, pack: packHex };
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e instanceof Error && "code" in e ? new StrataError(`seed failed: ${e.message}`, "failure", { cause: e }) : e;
  } finally {
    client.release();
  }
}

/** What a checkout test needs: Strata on a fresh database, a store, and a scratch folder. */
export interface Fixture {
  strata: Strata;
  store: ObjectStore;
  /** Scratch folder, removed when the test ends. */
  tmp: string;
  /** The file store's root folder (file fixtures only). */
  storeRoot?: string;
  /** Opens another client on the same store (fresh request counters). */
  reopenStore(): ObjectStore;
}

export async function fixture(t: TestLike, kind: "file" | "s3"): Promise<Fixture> {
  const tmp = await mkdtemp(join(tmpdir(), "strata-checkout-"));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  let open: () => ObjectStore;
  let storeRoot: string | undefined;
  if (kind === "file") {
    storeRoot = join(tmp, "store");
    open = () => openStore(`file://${storeRoot}`);
  } else {
    const s3 = await s3Server();
    const prefix = `checkout-${randomBytes(6).toString("hex")}`;
    open = () =>
      openStore(`s3://${s3.bucket}/${prefix}`, {
        s3: { endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
      });
  }
  const stores: ObjectStore[] = [];
  const reopenStore = (): ObjectStore => {
    const s = open();
    stores.push(s);
    return s;
  };
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const store = reopenStore();
  const strata = await Strata.open({ databaseUrl: await freshDatabase(t), store, home: join(tmp, "home") });
  t.teardown(() => strata.close());
  await strata.session.checkStore(); // the store's id marker, written once
  const f: Fixture = { strata, store, tmp, reopenStore };
  if (storeRoot !== undefined) f.storeRoot = storeRoot;
  return f;
}

/** Every path under `dir` (files, symlinks and folders), relative, sorted. */
export async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const item of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel === "" ? item.name : `${rel}/${item.name}`;
    out.push(path);
    if (item.isDirectory()) out.push(...(await walk(dir, path)));
  }
  return out.sort();
}
