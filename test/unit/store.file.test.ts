// Crash safety of the file store: an object under its final name is always whole;
// temp files (from a crash or a failed write) never show through has/get/list.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import t from "tap";

import { FileStore } from "../../loader/store/file.js";
import { StoreError } from "../../loader/store/index.js";

type T = Parameters<Parameters<typeof t.test>[0]>[0];

function tempRoot(t: T): string {
  const root = mkdtempSync(join(tmpdir(), "strata-filestore-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

async function keys(store: FileStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list()) out.push(e.key);
  return out;
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    return err instanceof StoreError ? err.kind : String(err);
  }
}

/** Temp files of writes in progress (or of writers that died): ROOT/.tmp. */
const tempNames = (root: string) => {
  try {
    return readdirSync(join(root, ".tmp"));
  } catch {
    return [];
  }
};

t.test("a temp file left by a crash is invisible and harmless", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  mkdirSync(join(root, "packs", "22"), { recursive: true });
  writeFileSync(join(root, "packs", "22", ".tmp-999-0123456789abcdef"), "half a pack");
  t.same(await keys(store), [], "not listed");
  t.equal(await kindOf(store.has("packs/22/.tmp-999-0123456789abcdef")), "bad_key", "not even addressable");
  t.equal(await store.put("packs/22/whole", Buffer.from("whole")), true);
  t.same(await keys(store), ["packs/22/whole"]);
});

t.test("a failed write leaves neither the object nor a temp file", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  // A non-empty folder where the object should go makes the final rename fail.
  mkdirSync(join(root, "packs", "11", "blocked"), { recursive: true });
  writeFileSync(join(root, "packs", "11", "blocked", "x"), "x");
  const err = await store.put("packs/11/blocked", Buffer.alloc(1024, 7)).catch((e: unknown) => e);
  t.ok(err instanceof StoreError && err.kind === "io", `put failed with a StoreError (${String(err)})`);
  t.same(tempNames(root), [], "temp file removed");
  t.equal(await store.has("packs/11/blocked"), false, "no object");
  t.equal(await kindOf(store.get("packs/11/blocked")), "not_found");
});

t.test("concurrent puts of one key all succeed and leave one whole object", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  const body = Buffer.alloc(4 * 1024 * 1024, 9);
  const results = await Promise.all(Array.from({ length: 8 }, () => store.put("packs/33/same", body)));
  t.ok(results.includes(true), "at least one wrote");
  t.ok((await store.get("packs/33/same")).equals(body));
  t.same(tempNames(root), [], "no temp files left");
});

t.test("a process killed mid-put never leaves a partial object under the final key", async (t) => {
  const root = tempRoot(t);
  const size = 4 * 1024 * 1024;
  const fileTs = fileURLToPath(new URL("../../loader/store/file.js", import.meta.url));
  const script = `
    import { FileStore } from ${JSON.stringify(fileTs)};
    const store = new FileStore(process.env.ROOT);
    for (let i = 0; i < 5; i++) {
      await store.put('packs/44/obj' + i, Buffer.alloc(${size}, i % 251));
      process.stdout.write(i + '\\n');
    }`;
  // Killed by loader/fault.ts during the third put: its temp file is written and
  // fsynced, the rename that would publish it has not happened.
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, ROOT: root, STRATA_FAULT: "file-store.before-rename:3" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.teardown(() => void child.kill("SIGKILL"));
  let written = 0;
  child.stdout.setEncoding("utf8").on("data", (s: string) => (written += s.split("\n").length - 1));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
  t.same([code, signal], [null, "SIGKILL"], "the writer died at the fault point");
  t.equal(written, 2, "two puts had completed");

  t.equal(tempNames(root).length, 1, "the interrupted put left its temp file");
  const store = new FileStore(root);
  const listed = [];
  for await (const e of store.list()) listed.push(e);
  t.same(
    listed.map((e) => e.key),
    ["packs/44/obj0", "packs/44/obj1"],
    "exactly the completed objects are listed",
  );
  for (const e of listed) {
    const i = Number(e.key.slice("packs/44/obj".length));
    t.equal(e.size, size, `${e.key} has its full size`);
    t.ok((await store.get(e.key)).equals(Buffer.alloc(size, i % 251)), `${e.key} has its full content`);
  }
  const next = `packs/44/obj${listed.length}`;
  t.equal(await store.has(next), false, "the interrupted object is absent");
  t.equal(await store.put(next, Buffer.alloc(10, 1)), true, "and can be written again");
  t.ok((await store.get(next)).equals(Buffer.alloc(10, 1)), "with its new contents");
  await store.check();
  t.same(tempNames(root), [], "check() removes the temp file of the writer that died");
});

t.test("check keeps the temp files of live writers and of other hosts younger than a day", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  await store.check();
  const own = `${hostname()}-${process.pid}-00aa`;
  const dead = `${hostname()}-999999-00bb`;
  const foreign = "other-host-1-00cc";
  const oldForeign = "other-host-2-00dd";
  mkdirSync(join(root, ".tmp"));
  for (const n of [own, dead, foreign, oldForeign]) writeFileSync(join(root, ".tmp", n), "x");
  utimesSync(join(root, ".tmp", oldForeign), new Date(Date.now() - 2 * 86400_000), new Date(Date.now() - 2 * 86400_000));
  await store.check();
  t.same(tempNames(root).sort(), [foreign, own].sort());
});

t.test("a large object (written around the page cache) reads back whole, of its exact size, 0600", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  // Parts that straddle the 4 MiB staging pieces, and a size no block size divides.
  const parts = [3 * 1024 * 1024 + 1, 2 * 1024 * 1024, 5 * 1024 * 1024 + 12_345].map((n, i) => {
    const b = Buffer.allocUnsafe(n);
    for (let j = 0; j < n; j += 997) b[j] = (i * 31 + j) & 255;
    return b;
  });
  const whole = Buffer.concat(parts);
  t.equal(await store.put("packs/44/big", parts), true);
  t.equal(await store.size("packs/44/big"), whole.length, "exact size");
  t.ok((await store.get("packs/44/big")).equals(whole), "same bytes");
  t.equal(statSync(join(root, "packs", "44", "big")).mode & 0o777, 0o600 & ~process.umask(), "0600");
  t.same(tempNames(root), [], "no temp files left");
});

t.test("a large object from views into shared memory, at every alignment, reads back whole", async (t) => {
  const root = tempRoot(t);
  const store = new FileStore(root);
  // As a push hands them over: chunks lying in the chunker's SharedArrayBuffers at odd offsets.
  const shared = Buffer.from(new SharedArrayBuffer(12 * 1024 * 1024));
  for (let j = 0; j < shared.length; j++) shared[j] = (j * 7 + (j >> 11)) & 255;
  const parts: Buffer[] = [];
  let at = 3;
  for (const n of [1_000_003, 5, 2 * 1024 * 1024 + 6, 777_777, 3 * 1024 * 1024 + 1, 1_234_567]) {
    parts.push(shared.subarray(at, at + n));
    at += n + 1 + (n % 5);
  }
  const whole = Buffer.concat(parts);
  t.equal(await store.put("packs/45/shared", parts), true);
  t.ok((await store.get("packs/45/shared")).equals(whole), "same bytes");
});

t.test("the store is private: folders 0700, files 0600", async (t) => {
  const root = join(tempRoot(t), "store");
  const store = new FileStore(root);
  await store.check();
  await store.put("packs/ab/cd", Buffer.from("x"));
  for (const p of [root, join(root, "packs"), join(root, "packs", "ab"), join(root, ".tmp")])
    t.equal(statSync(p).mode & 0o777, 0o700 & ~process.umask(), `${p} is 0700`);
  t.equal(statSync(join(root, "packs", "ab", "cd")).mode & 0o777, 0o600 & ~process.umask(), "objects are 0600");
});

t.test("check refuses a store path that is a file", async (t) => {
  const root = tempRoot(t);
  writeFileSync(join(root, "file"), "x");
  const err = await new FileStore(join(root, "file")).check().catch((e: StoreError) => e);
  t.equal(err?.kind, "bad_config");
  t.match(err?.message, "is not a folder");
  await new FileStore(join(root, "new", "objects")).check();
  t.pass("a missing folder is created");
});
