// checkout and cat round trips, against the file store and the S3 store.

import { randomBytes } from "node:crypto";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";

import t from "tap";

import { cat, checkout, folderId, readState } from "../../loader/checkout/index.js";
import { StrataError } from "../../loader/errors.js";
import { fixture, seedVersion, walk, type SeedEntry } from "../helpers/seed.js";

const MiB = 1024 * 1024;

function sample(): Record<string, SeedEntry> {
  const copy = randomBytes(300 * 1024);
  return {
    "train/a.csv": "x,y\n1,2\n",
    "train/nested/deep/b.bin": randomBytes(200 * 1024),
    "train/empty.txt": "",
    "big.bin": randomBytes(5 * MiB),
    "copy1.bin": copy,
    "dir2/copy2.bin": Buffer.from(copy),
    link: { symlink: "train/a.csv" },
    "unicode/ünï.txt": "hello",
  };
}

async function catToBuffer(run: (out: PassThrough) => Promise<unknown>): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on("data", (d: Buffer) => parts.push(d));
  await run(out);
  return Buffer.concat(parts);
}

for (const kind of ["file", "s3"] as const) {
  t.test(`${kind} store: checkout writes every file, folder and symlink of a version`, async (t) => {
    const f = await fixture(t, kind);
    const files = sample();
    const { tag } = await seedVersion(f.strata, f.store, "ds", files);
    t.equal(tag, "v1");
    const dir = join(f.tmp, "out");
    const result = await checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir, { cacheDir: undefined });

    t.match(result, { dataset: "ds", tag: "v1", filesWritten: 8, filesUnchanged: 0, filesDeleted: 0 });
    const contents = Object.values(files).filter((v): v is Buffer | string => typeof v === "string" || Buffer.isBuffer(v));
    t.equal(
      result.bytesWritten,
      contents.reduce((n, v) => n + Buffer.from(v).length, 0),
      "bytes written count every file",
    );
    t.equal(result.bytesFetched, result.bytesWritten - 300 * 1024, "the two identical files were fetched once");

    for (const [path, v] of Object.entries(files)) {
      if (typeof v === "object" && !Buffer.isBuffer(v)) {
        t.ok((await lstat(join(dir, path))).isSymbolicLink(), `${path} is a symlink`);
        t.equal(await readlink(join(dir, path)), v.symlink, `${path} points where it did`);
      } else {
        t.ok((await readFile(join(dir, path))).equals(Buffer.from(v)), `${path} has its bytes`);
      }
    }
    t.same(
      await walk(dir),
      [
        "big.bin",
        "copy1.bin",
        "dir2",
        "dir2/copy2.bin",
        "link",
        "train",
        "train/a.csv",
        "train/empty.txt",
        "train/nested",
        "train/nested/deep",
        "train/nested/deep/b.bin",
        "unicode",
        "unicode/ünï.txt",
      ],
      "nothing else, no temp files",
    );
    const state = await readState(f.strata.home, await folderId(dir));
    t.match(state, { format: 2, dataset: "ds", tag: "v1", versionId: result.versionId, count: 8 });
    t.match(state?.files.get("train/a.csv"), {
      kind: "file",
      size: 8,
      executable: false,
      hash: /^[0-9a-f]{64}$/,
      mtimeNs: /^\d+$/,
      ctimeNs: /^\d+$/,
      ino: /^\d+$/,
    });
    t.same(state?.files.get("link"), { kind: "symlink", target: "train/a.csv" });

    const store = f.reopenStore();
    const again = await checkout(f.strata.session.withStore(store), { dataset: "ds", tag: "v1" }, dir);
    t.match(
      again,
      { filesWritten: 0, filesUnchanged: 8, filesDeleted: 0, bytesFetched: 0 },
      "a second checkout of the same version writes nothing",
    );
    t.equal(store.stats().get, 0, "and reads nothing from the store");
  });

  t.test(`${kind} store: cat streams one file, verified`, async (t) => {
    const f = await fixture(t, kind);
    const files = sample();
    await seedVersion(f.strata, f.store, "ds", files);
    const big = await catToBuffer((out) =>
      cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "big.bin", out, { windowBytes: MiB }),
    );
    t.ok(big.equals(files["big.bin"] as Buffer), "5 MiB file, fetched in windows");
    t.equal(
      (await catToBuffer((out) => cat(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, "train/empty.txt", out))).length,
      0,
      "empty file",
    );
    t.equal(
      (await catToBuffer((out) => cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "/unicode/ünï.txt", out))).toString(),
      "hello",
      "leading slash ignored",
    );

    await t.rejects(cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "link", new PassThrough()), {
      name: "StrataError",
      kind: "usage",
      message: /link is a symlink to train\/a\.csv in ds@v1/,
    });
    await t.rejects(cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "train/nope.csv", new PassThrough()), {
      kind: "notFound",
      message: "no file train/nope.csv in ds@v1",
    });
    await t.rejects(
      cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "train/a.cs", new PassThrough()),
      { name: "StrataError", kind: "notFound" },
      "a prefix of a name is not the file",
    );
    await t.rejects(cat(f.strata.session.withStore(f.store), { dataset: "ds" }, "train", new PassThrough()), {
      kind: "usage",
      message: /train is a folder in ds@v1/,
    });
  });
}

t.test("unknown dataset or tag: StrataError notFound, nothing written", async (t) => {
  const f = await fixture(t, "file");
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "a" });
  const dir = join(f.tmp, "out");
  for (const ref of [{ dataset: "nope" }, { dataset: "ds", tag: "v9" }, { dataset: "ds", tag: "nope" }]) {
    const err = await checkout(f.strata.session.withStore(f.store), ref, dir).catch((e: unknown) => e);
    t.ok(err instanceof StrataError, `${JSON.stringify(ref)}: a StrataError`);
    t.equal((err as StrataError).kind, "notFound", `${JSON.stringify(ref)}: notFound`);
    t.match((err as StrataError).message, ref.dataset === "nope" ? /dataset "nope" does not exist/ : /has no version/);
    await t.rejects(
      cat(f.strata.session.withStore(f.store), ref, "a.txt", new PassThrough()),
      { name: "StrataError", kind: "notFound" },
      "cat too",
    );
  }
  await t.rejects(lstat(dir), { code: "ENOENT" }, "no folder was created");
  await f.strata.createDataset("empty");
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "empty" }, dir), {
    kind: "notFound",
    message: /no versions yet/,
  });
});

t.test("a version of symlinks and empty files needs no pack", async (t) => {
  const f = await fixture(t, "file");
  await seedVersion(f.strata, f.store, "ds", { "e/1": "", "e/2": "", l: { symlink: "../outside" } });
  const dir = join(f.tmp, "out");
  const r = await checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir);
  t.match(r, { filesWritten: 3, bytesFetched: 0 });
  t.equal(await readlink(join(dir, "l")), "../outside", "a symlink's target is written as is, not followed");
  t.equal((await readFile(join(dir, "e/2"))).length, 0);
});
