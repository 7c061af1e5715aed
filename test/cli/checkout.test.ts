import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { strata } from "../helpers/cli.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

for (const kind of ["file", "s3"] as const) {
  t.test(`push then checkout and cat through the CLI (${kind} store)`, async (t) => {
    const s = await openTestStrata(t, kind);
    const src = tempDir(t);
    const big = bytes(2_500_000, 5);
    writeTree(src, { "data/big.bin": big, "data/small.txt": "small\n", ln: { symlink: "data/small.txt" } });
    t.equal((await strata(["push", src, "--dataset", "ds"], s.env)).code, 0);
    writeTree(src, { "data/small.txt": "changed\n" });
    t.equal((await strata(["push", src, "--dataset", "ds"], s.env)).code, 0);

    const out = tempDir(t);
    const co = await strata(["checkout", "ds@v1", out, "--json"], s.env);
    t.equal(co.code, 0, co.stderr);
    t.same(readFileSync(join(out, "data/big.bin")), big);
    t.equal(readFileSync(join(out, "data/small.txt"), "utf8"), "small\n");
    t.equal(readlinkSync(join(out, "ln")), "data/small.txt");

    const sw = await strata(["checkout", "ds", out, "--json"], s.env);
    const r = JSON.parse(sw.stdout) as { tag: string; filesWritten: number; filesUnchanged: number };
    t.same([r.tag, r.filesWritten, r.filesUnchanged], ["v2", 1, 2], "switching to the latest rewrites the one changed file");
    t.equal(readFileSync(join(out, "data/small.txt"), "utf8"), "changed\n");

    const c = await strata(["cat", "ds@v1", "data/small.txt"], s.env);
    t.equal(c.stdout, "small\n");
    const missing = await strata(["cat", "ds@v1", "nope.txt"], s.env);
    t.equal(missing.code, 3);
    t.match(missing.stderr, /^strata: no file nope\.txt in ds@v1\n$/);
    const unknown = await strata(["checkout", "ds@v9", tempDir(t)], s.env);
    t.equal(unknown.code, 3);
    t.match(unknown.stderr, /^strata: dataset "ds" has no version "v9"\n$/);
  });
}
