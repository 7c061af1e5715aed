// Switching a checkout between versions rewrites only what differs, deletes only
// what Strata wrote, and leaves the user's own files alone.

import { randomBytes } from "node:crypto";
import { appendFile, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import t from "tap";

import { checkout, folderId, readState } from "../../loader/checkout/index.js";
import { fixture, seedVersion, walk } from "../helpers/seed.js";

t.test("v1 -> v2 -> v1 rewrites the changed files only", async (t) => {
  const f = await fixture(t, "file");
  const keepBin = randomBytes(1024 * 1024);
  await seedVersion(f.strata, f.store, "ds", {
    "keep.txt": "same",
    "big/keep.bin": keepBin,
    "change.txt": "old",
    "gone.txt": "bye",
    "gone_dir/x/y.txt": "deep",
    becomes_dir: "a file in v1",
    "becomes_file/z.txt": "z",
    ln: { symlink: "keep.txt" },
    "edited_then_gone.txt": "m",
  });
  const v2 = {
    "keep.txt": "same",
    "big/keep.bin": keepBin,
    "change.txt": "new!",
    "added/new.txt": "hi",
    "becomes_dir/inner.txt": "inside",
    becomes_file: "now a file",
    ln: { symlink: "change.txt" },
  };
  await seedVersion(f.strata, f.store, "ds", v2);

  const dir = join(f.tmp, "out");
  await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir);
  const before = { keep: await stat(join(dir, "keep.txt")), bin: await stat(join(dir, "big/keep.bin")) };
  await writeFile(join(dir, "user.txt"), "mine");
  await writeFile(join(dir, "big/notes.md"), "my notes");
  await appendFile(join(dir, "edited_then_gone.txt"), " edited");
  // File times come from a coarse clock: wait (no fixed delay) until a file written now gets
  // a later mtime than the checked-out ones, so that a rewrite would show in mtime.
  const probe = join(f.tmp, "mtime-probe");
  do await writeFile(probe, "");
  while ((await stat(probe)).mtimeMs <= Math.max(before.keep.mtimeMs, before.bin.mtimeMs));

  const store = f.reopenStore();
  const r = await checkout(f.strata.session.withStore(store), { dataset: "ds", tag: "v2" }, dir);
  t.match(r, { tag: "v2", filesWritten: 5, filesUnchanged: 2, filesDeleted: 4, leftModified: ["edited_then_gone.txt"] });
  const changedBytes = ["new!", "hi", "inside", "now a file"].reduce((n, s) => n + s.length, 0);
  t.equal(r.bytesFetched, changedBytes, "only the changed bytes were fetched");

  for (const [name, path] of [
    ["keep", "keep.txt"],
    ["bin", "big/keep.bin"],
  ] as const) {
    const now = await stat(join(dir, path));
    t.equal(now.ino, before[name].ino, `${path}: same inode`);
    t.equal(now.mtimeMs, before[name].mtimeMs, `${path}: same mtime`);
  }
  t.same(
    (await walk(dir)).filter((p) => !p.startsWith(".strata")),
    [
      "added",
      "added/new.txt",
      "becomes_dir",
      "becomes_dir/inner.txt",
      "becomes_file",
      "big",
      "big/keep.bin",
      "big/notes.md",
      "change.txt",
      "edited_then_gone.txt",
      "keep.txt",
      "ln",
      "user.txt",
    ],
    "removed files and emptied folders are gone; user files and the edited file stay",
  );
  t.equal(await readFile(join(dir, "change.txt"), "utf8"), "new!");
  t.equal(await readFile(join(dir, "becomes_file"), "utf8"), "now a file");
  t.equal(await readlink(join(dir, "ln")), "change.txt", "symlink retargeted");
  t.equal(await readFile(join(dir, "user.txt"), "utf8"), "mine");
  t.equal(await readFile(join(dir, "edited_then_gone.txt"), "utf8"), "m edited", "a file the user changed is not deleted");
  t.notOk(
    (await walk(dir)).some((p) => p.includes(".strata")),
    "no temp files or state in the folder",
  );
  const state = await readState(f.strata.home, await folderId(dir));
  t.equal(state?.tag, "v2");
  t.same([...(state?.files.keys() ?? [])].sort(), Object.keys(v2).sort(), "the state lists exactly v2's paths");

  // v1 has edited_then_gone.txt again, and the user's edit stands there: a conflict.
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir), {
    kind: "conflict",
    message: /would overwrite 1 path of yours: edited_then_gone\.txt \(yours, not from the checked-out version\)/,
  });
  t.equal(await readFile(join(dir, "change.txt"), "utf8"), "new!", "nothing changed");
  const back = await checkout(f.strata.session.withStore(f.reopenStore()), { dataset: "ds", tag: "v1" }, dir, { force: true });
  t.match(back, {
    tag: "v1",
    filesWritten: 7,
    filesUnchanged: 2,
    filesDeleted: 3,
    leftModified: [],
    overwritten: ["edited_then_gone.txt"],
  });
  t.equal(await readFile(join(dir, "becomes_dir"), "utf8"), "a file in v1", "a folder holding only Strata's files became a file again");
  t.equal(await readFile(join(dir, "becomes_file/z.txt"), "utf8"), "z");
  t.equal(await readFile(join(dir, "edited_then_gone.txt"), "utf8"), "m", "forced, a path the version needs is overwritten");
  t.equal(await readFile(join(dir, "big/notes.md"), "utf8"), "my notes");
  t.equal((await stat(join(dir, "big/keep.bin"))).ino, before.bin.ino, "the big file was never rewritten");
  await t.rejects(lstat(join(dir, "added")), { code: "ENOENT" }, "v2's folder is gone");
});

t.test("a folder without state: same files kept, others are the user's (a conflict, or forced overwritten), user files left", async (t) => {
  const f = await fixture(t, "file");
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "aaa", "b.txt": "bbb", "sub/c.txt": "ccc" });
  const dir = join(f.tmp, "out");
  await mkdir(join(dir, "sub"), { recursive: true });
  await writeFile(join(dir, "a.txt"), "aaa");
  await writeFile(join(dir, "b.txt"), "different");
  await writeFile(join(dir, "user.txt"), "mine");
  const aBefore = await stat(join(dir, "a.txt"));

  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir), {
    kind: "conflict",
    message: /would overwrite 1 path of yours: b\.txt/,
  });
  t.equal(await readFile(join(dir, "b.txt"), "utf8"), "different", "nothing changed");
  t.notOk((await walk(dir)).includes("sub/c.txt"), "nothing written");
  const r = await checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir, { force: true });
  t.match(r, { filesWritten: 2, filesUnchanged: 1, filesDeleted: 0, overwritten: ["b.txt"] });
  t.equal((await stat(join(dir, "a.txt"))).ino, aBefore.ino, "a file with the right contents is kept");
  t.equal(await readFile(join(dir, "b.txt"), "utf8"), "bbb");
  t.equal(await readFile(join(dir, "user.txt"), "utf8"), "mine");
});

t.test("a user's folder where the version has a file is a conflict, and nothing changes", async (t) => {
  const f = await fixture(t, "file");
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "aaa", c: "a file" });
  const dir = join(f.tmp, "out");
  await mkdir(join(dir, "c"), { recursive: true });
  await writeFile(join(dir, "c/mine.txt"), "mine");
  await writeFile(join(dir, "a.txt"), "old");
  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds" }, dir), {
    kind: "conflict",
    message: /would overwrite 2 paths of yours: a\.txt \(yours, .*\), c\/mine\.txt \(yours, in the folder where the version has a file\)/,
  });
  t.equal(await readFile(join(dir, "a.txt"), "utf8"), "old", "other files untouched");
  t.same(await walk(dir), ["a.txt", "c", "c/mine.txt"], "no state, no temp files");
});

t.test("symlinked folders are never written or read through", async (t) => {
  const f = await fixture(t, "file");
  const outside = join(f.tmp, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "file"), "same bytes");
  await writeFile(join(outside, "x"), "not yours");
  await seedVersion(f.strata, f.store, "ds", { d: { symlink: outside } });
  await seedVersion(f.strata, f.store, "ds", { "d/file": "same bytes", "u/x": "mine" });
  const dir = join(f.tmp, "out");
  await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir);
  await symlink(outside, join(dir, "u")); // the user's own link

  await t.rejects(checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, dir), {
    kind: "conflict",
    message: /would overwrite 1 path of yours: u \(yours, where u\/ is a folder in the version\)/,
  });
  t.ok((await lstat(join(dir, "d"))).isSymbolicLink(), "nothing changed");
  const r = await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, dir, { force: true });
  t.match(r, { filesWritten: 2, filesUnchanged: 0, filesDeleted: 2, overwritten: ["u"] });
  t.ok((await lstat(join(dir, "d"))).isDirectory(), "the link leaving the version became a real folder");
  t.ok((await lstat(join(dir, "u"))).isDirectory(), "forced, a link where the version needs a folder is replaced (not followed)");
  t.equal(await readFile(join(dir, "d/file"), "utf8"), "same bytes");
  t.equal(await readFile(join(dir, "u/x"), "utf8"), "mine");
  t.same(await walk(outside), ["file", "x"], "nothing outside changed");
  t.equal(await readFile(join(outside, "x"), "utf8"), "not yours");
});

t.test("a cut-off or hand-edited state file is not trusted", async (t) => {
  const f = await fixture(t, "file");
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "aaa", "b.txt": "bbb" });
  await seedVersion(f.strata, f.store, "ds", { "a.txt": "aaa" });
  const dir = join(f.tmp, "out");
  await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir);
  const id = await folderId(dir);
  const path = join(f.strata.home, "checkouts", `${id.key}.jsonl`);
  const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
  await writeFile(path, `${lines.slice(0, -1).join("\n")}\n`); // one path line lost
  t.equal(await readState(f.strata.home, id), undefined, "a state with fewer lines than its header says is ignored");

  let r = await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v2" }, dir);
  t.match(r, { filesWritten: 0, filesUnchanged: 1, filesDeleted: 0 }, "without state nothing is deleted, a.txt is recognised by its hash");
  t.equal(await readFile(join(dir, "b.txt"), "utf8"), "bbb");

  const victim = join(f.tmp, "victim.txt");
  await writeFile(victim, "keep me");
  const st = await stat(victim);
  const header = JSON.parse((await readFile(path, "utf8")).split("\n")[0]!) as { count: number };
  const forged = {
    path: "../victim.txt",
    kind: "file",
    hash: "0".repeat(64),
    size: st.size,
    mtimeNs: String(st.mtimeMs * 1e6),
    ino: String(st.ino),
  };
  await writeFile(
    path,
    `${[
      JSON.stringify({ ...header, count: header.count + 1 }),
      ...(await readFile(path, "utf8")).trimEnd().split("\n").slice(1),
      JSON.stringify(forged),
    ].join("\n")}\n`,
  );
  r = await checkout(f.strata.session.withStore(f.store), { dataset: "ds", tag: "v1" }, dir);
  t.equal(await readFile(victim, "utf8"), "keep me", "a path leaving the folder is never deleted");
});
