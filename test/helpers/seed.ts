// Test fixture: commits a version from an in-memory map of paths, as a push would, but
// simply: fixed-size chunks, the ones the database lacks in one pack object, the trees
// built by loader/push/tree.ts, and the commit made through loader/push/protocol.ts
// (registerPack, commitVersion), so the fixture follows the push protocol as it changes.
// For tests of the read side only.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { packName } from "../../loader/push/packer.js";
import { type BlobRecord, commitVersion, missingHashes, pushBegin, putBlobs, putTrees, registerPack } from "../../loader/push/protocol.js";
import { buildTrees, type PushedPath, symlinkHash } from "../../loader/push/tree.js";
import { openStore, packKey, type ObjectStore } from "../../loader/store/index.js";
import { Strata } from "../../loader/strata.js";
import { freshDatabase, s3Server, type TestLike } from "./harness.js";

export type SeedEntry = Buffer | string | { symlink: string };

export interface SeedOptions {
  chunkSize?: number;
  /** Paths whose recorded content hash is deliberately wrong (to test the whole-file check). */
  badHash?: string[];
}

const sha = (b: Buffer | string): Buffer => createHash("sha256").update(b).digest();

/**
 * Commits `files` as the next version of `dataset` (created when missing). Returns the
 * version's tag and the name of the pack it stored (undefined when the database had
 * every chunk already).
 */
export async function seedVersion(
  strata: Strata,
  store: ObjectStore,
  dataset: string,
  files: Record<string, SeedEntry>,
  opts: SeedOptions = {},
): Promise<{ tag: string; pack: string | undefined }> {
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const records: PushedPath[] = [];
  const blobs = new Map<string, BlobRecord>();
  const chunks = new Map<string, Buffer>();
  for (const [path, value] of Object.entries(files)) {
    if (typeof value === "object" && !Buffer.isBuffer(value)) {
      records.push({ path, kind: "symlink", hash: symlinkHash(value.symlink), size: 0, target: value.symlink });
      continue;
    }
    const data = Buffer.isBuffer(value) ? value : Buffer.from(value);
    // A wrong hash is still a well-formed one: the database cannot tell without the bytes.
    const hash = opts.badHash?.includes(path) ? sha(Buffer.concat([data, Buffer.from("!")])) : sha(data);
    const chunkHashes: Buffer[] = [];
    for (let off = 0; off < data.length; off += chunkSize) {
      const chunk = data.subarray(off, off + chunkSize);
      const h = sha(chunk);
      chunkHashes.push(h);
      chunks.set(h.toString("hex"), chunk);
    }
    blobs.set(hash.toString("hex"), { hash, size: data.length, chunks: Buffer.concat(chunkHashes) });
    records.push({ path, kind: "file", hash, size: data.length });
  }

  // As a push does: store and register the chunks the database lacks, in one pack; put
  // the contents and trees; commit the root.
  const s = strata.session.withStore(store);
  const { push } = await pushBegin(s, dataset, undefined, undefined);
  const missing = await missingHashes(
    s,
    "missing_chunks",
    [...chunks.keys()].map((h) => Buffer.from(h, "hex")),
  );
  let pack: string | undefined;
  if (missing.length > 0) {
    const parts = missing.map((h) => chunks.get(h.toString("hex"))!);
    const name = packName(`seed:${push}`, missing);
    pack = name.toString("hex");
    await store.put(packKey(pack), parts);
    const offsets: number[] = [];
    let size = 0;
    for (const p of parts) {
      offsets.push(size);
      size += p.length;
    }
    await registerPack(
      s,
      push,
      name,
      size,
      missing,
      offsets,
      parts.map((p) => p.length),
    );
  }
  const { root, trees } = buildTrees(records);
  await putBlobs(s, [...blobs.values()]);
  await putTrees(s, trees);
  const version = await commitVersion(s, { dataset, push, root });
  return { tag: version.tag, pack };
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
