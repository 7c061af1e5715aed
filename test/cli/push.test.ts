import { chmodSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { strata } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/harness.js";
import { bytes, openTestStrata, tempDir, testStore, writeTree } from "../helpers/strata.js";

t.test("push, log and JSON output through the CLI", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a/b.txt": "hello", "c.bin": bytes(100_000) });
  const pushed = await strata(["push", dir, "--dataset", "cli", "--message", "first", "--metadata", '{"source":"test"}', "--json"], s.env);
  t.equal(pushed.code, 0, pushed.stderr);
  const result = JSON.parse(pushed.stdout) as { version: { tag: string; fileCount: number; metadata: unknown } };
  t.equal(result.version.tag, "v1");
  t.equal(result.version.fileCount, 2);
  t.same(result.version.metadata, { source: "test" });
  const human = await strata(["push", dir, "--dataset", "cli", "--tag", "again"], s.env);
  t.match(human.stdout, /^cli@again: 2 files, 97\.7 KiB; 0 B new in 0 packs; 2 files unchanged since the last push\n$/);
  const log = await strata(["log", "cli"], s.env);
  t.match(log.stdout, /^TAG\s+PARENT\s+FILES/);
  t.match(log.stdout, /\nagain\s+v1\s+2\s/);
});

t.test("symlinks are recorded as links, loops included", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "real.txt": "r" });
  symlinkSync("loop-b", join(dir, "loop-a"));
  symlinkSync("loop-a", join(dir, "loop-b"));
  mkdirSync(join(dir, "sub"));
  symlinkSync("..", join(dir, "sub", "up"));
  const r = await strata(["push", dir, "--dataset", "links"], s.env);
  t.equal(r.code, 0, r.stderr);
  const files = await s.query<{ path: string; kind: string; target: string }>("select path, kind, target from strata.ls('links', 'v1')");
  t.same(files, [
    { path: "loop-a", kind: "symlink", target: "loop-b" },
    { path: "loop-b", kind: "symlink", target: "loop-a" },
    { path: "real.txt", kind: "file", target: null },
    { path: "sub/up", kind: "symlink", target: ".." },
  ]);
});

t.test("bad input: one line, its exit code, nothing committed", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  await strata(["push", dir, "--dataset", "ds", "--tag", "gold"], s.env);

  const check = async (args: string[], env: Record<string, string | undefined>, code: number, message: RegExp) => {
    const r = await strata(args, env);
    t.equal(r.code, code, `${args.join(" ")} exits ${code}`);
    t.match(r.stderr, message);
    t.equal(r.stderr.trim().split("\n").length, 1, "one line");
  };
  await check(["push", join(dir, "missing"), "--dataset", "ds"], s.env, 2, /^strata: .*missing does not exist\n$/);
  await check(["push", dir, "--dataset", "ds", "--tag", "gold"], s.env, 4, /^strata: dataset "ds" already has a version "gold"/);
  await check(["push", dir, "--dataset", "ds", "--parent", "nope"], s.env, 3, /^strata: dataset "ds" has no version "nope"/);
  await check(["push", dir, "--dataset", "ds", "--metadata", "[1]"], s.env, 2, /^strata: --metadata must be a JSON object/);
  await check(["log", "unknown"], s.env, 3, /^strata: dataset "unknown" does not exist/);
  await check(
    ["push", dir, "--dataset", "ds"],
    { ...s.env, DATABASE_URL: "postgresql://strata@127.0.0.1:9/x" },
    5,
    /^strata: cannot reach the database/,
  );

  const { env: s3env } = await testStore(t, "s3");
  await check(["push", dir, "--dataset", "ds"], { ...s.env, ...s3env, STRATA_STORE: "s3://no-such-bucket/x" }, 6, /no-such-bucket/);
  await check(
    ["push", dir, "--dataset", "ds"],
    { ...s.env, ...s3env, AWS_ACCESS_KEY_ID: "UNKNOWNKEY" },
    6,
    /^strata: .*(credential|access key)/i,
  );

  // an unreadable file: as root permissions do not apply, so push as an unprivileged user
  const locked = tempDir(t);
  writeTree(locked, { "ok.txt": "fine", "secret.txt": "hidden" });
  chmodSync(join(locked, "secret.txt"), 0o000);
  chmodSync(locked, 0o755);
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  if (asUser) {
    const home = tempDir(t);
    chmodSync(home, 0o777);
    const store = tempDir(t);
    chmodSync(store, 0o777);
    // a database and store of its own: the shared ones belong to root
    const env = { ...s.env, DATABASE_URL: await freshDatabase(t), STRATA_HOME: home, STRATA_STORE: `file://${store}` };
    const r = await strata(["push", locked, "--dataset", "ds"], env, undefined, asUser);
    t.equal(r.code, 9, "permission denied");
    t.match(r.stderr, /^strata: .*secret\.txt cannot be read \(permission denied\)\n$/);
  } else {
    await check(["push", locked, "--dataset", "ds"], s.env, 9, /secret\.txt cannot be read \(permission denied\)\n$/);
  }
  await check(
    ["push", dir, "--dataset", "ds"],
    { ...s.env, STRATA_STORE: `file://${tempDir(t)}` },
    6,
    /is not this database's object store/,
  );

  const log = await s.log("ds");
  t.same(
    log.map((v) => v.tag),
    ["gold"],
    "nothing was committed by the failed pushes",
  );
});
