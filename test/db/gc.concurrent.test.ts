// gc while a push and checkouts run, each a process of its own, gc starting at three
// moments: all succeed, every live version checks out, fsck --full is clean. Apart from
// test/db/gc.test.ts so that tap runs the two side by side.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { cliSession, strata } from "../helpers/cli.js";
import { turnBack } from "../helpers/clock.js";
import { checksOut, fourVersions, PACK } from "../helpers/gc.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

t.test("gc while a push and checkouts run: all succeed, every live version checks out, fsck --full is clean", async (t) => {
  for (const delay of [0, 150, 400]) {
    const s = await openTestStrata(t);
    const cli = cliSession(t);
    const { contents } = await fourVersions(t, s);
    await s.deleteVersion({ dataset: "ds", tag: "v2" });
    await turnBack(s.databaseUrl, "2 days");
    // The push brings back v2's own file (which only the deleted version held) beside a live one.
    const dir = tempDir(t);
    const pushed = {
      "own-2.bin": contents.get("v2")!["own-2.bin"]!,
      "own-3.bin": contents.get("v3")!["own-3.bin"]!,
      "new.bin": bytes(250_000, 77),
    };
    writeTree(dir, pushed);
    const env = { ...s.env, STRATA_PACK_SIZE: String(PACK) };
    const outs = [tempDir(t), tempDir(t)];
    const [push, co3, co4, run] = await Promise.all([
      strata(["push", dir, "--dataset", "ds", "--tag", "back"], env),
      strata(["checkout", "ds@v3", outs[0]!], env),
      strata(["checkout", "ds@v4", outs[1]!], env),
      new Promise((r) => setTimeout(r, delay)).then(() => s.gc({ repackBelow: 0.99 })),
    ]);
    t.equal(push.code, 0, `the push succeeds (gc after ${delay} ms) ${push.stderr}`);
    t.equal(co3.code, 0, `checkout v3 succeeds ${co3.stderr}`);
    t.equal(co4.code, 0, `checkout v4 succeeds ${co4.stderr}`);
    t.equal(run.corruptChunks, 0, `gc ran: ${run.deletedPacks.count} packs deleted, ${run.repackedPacks.count} repacked`);
    for (const [i, tag] of ["v3", "v4"].entries())
      for (const [path, data] of Object.entries(contents.get(tag)!))
        t.ok(readFileSync(join(outs[i]!, path)).equals(data), `${tag} ${path} as checked out during gc`);
    await checksOut(t, s, "v1", contents.get("v1")!, cli);
    await checksOut(t, s, "v3", contents.get("v3")!, cli);
    await checksOut(t, s, "v4", contents.get("v4")!, cli);
    await checksOut(t, s, "back", pushed, cli);
    await s.gc({ repackBelow: 0.99 });
    const fsck = await cli(["fsck", "--full"], env);
    t.equal(fsck.code, 0, `fsck --full is clean: ${fsck.stdout}${fsck.stderr}`);
    await checksOut(t, s, "back", pushed, cli);
  }
});
