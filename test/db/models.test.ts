// Model versions through the push path of data: their chunks dedup against data and
// other models, they check out verified, and a rollback plus checkout rewrites only the
// files that differ. A run's inputs check out to DIR/<role>/<dataset>, byte for byte.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { Sqlstate } from "../../stored/errors.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const MiB = 1024 * 1024;

t.test("a model pushes like data, dedups against it, and a rollback + checkout rewrites only what changed", async (t) => {
  const s = await openTestStrata(t);
  const data = tempDir(t);
  const shared = bytes(3 * MiB, 7);
  writeTree(data, { "embeddings.bin": shared, "labels.csv": "a,b\n" });
  await s.push(data, { dataset: "features" });

  const dir1 = tempDir(t);
  writeTree(dir1, { "model/weights.bin": bytes(2 * MiB, 1), "model/embeddings.bin": shared, "config.json": '{"layers": 3}' });
  const id = await s.startRun("train", { inputs: { train: "features" } });
  const v1 = await s.pushModel(dir1, { model: "fraud", run: id, message: "first" });
  t.equal(v1.modelVersion.version, 1);
  t.equal(v1.modelVersion.node, "model:fraud/1");
  t.equal(v1.modelVersion.runId, id);
  t.ok(v1.newBytes < 2.5 * MiB, `the embeddings came from the data: ${v1.newBytes} new bytes of ${v1.bytes}`);

  const dir2 = tempDir(t);
  writeTree(dir2, { "model/weights.bin": bytes(2 * MiB, 2), "model/embeddings.bin": shared, "config.json": '{"layers": 3}' });
  const v2 = await s.pushModel(dir2, { model: "fraud", run: id });
  t.equal(v2.modelVersion.version, 2, "versions are numbered 1, 2, ...");
  t.ok(v2.newBytes <= 2 * MiB + 64 * 1024, `only the new weights are new: ${v2.newBytes}`);
  t.same(
    (await s.modelVersions("fraud")).map((v) => v.version),
    [2, 1],
  );

  await s.setAlias("fraud", "production", 1);
  const deploy = tempDir(t);
  const c1 = await s.checkoutModel({ model: "fraud", alias: "production" }, deploy);
  t.equal(c1.modelVersion.version, 1);
  t.equal(c1.filesWritten, 3);
  t.same(readFileSync(join(deploy, "model/weights.bin")), bytes(2 * MiB, 1), "byte for byte");

  await s.setAlias("fraud", "production", 2);
  const c2 = await s.checkoutModel({ model: "fraud", alias: "production" }, deploy);
  t.equal(c2.modelVersion.version, 2);
  t.equal(c2.filesWritten, 1, "the promotion rewrote one file");
  t.equal(c2.filesUnchanged, 2);
  await s.rollbackAlias("fraud", "production");
  const c3 = await s.checkoutModel({ model: "fraud", alias: "production" }, deploy);
  t.equal(c3.modelVersion.version, 1, "rolled back");
  t.equal(c3.filesWritten, 1, "and the switch back rewrote one file");
  t.same(readFileSync(join(deploy, "model/weights.bin")), bytes(2 * MiB, 1));
  const st = await s.status(deploy);
  t.equal(st.model, true);
  t.same([st.modified, st.deleted, st.added], [[], [], []]);

  t.match(await s.checkoutModel({ model: "fraud", version: 9 }, tempDir(t)).catch((e) => e), { code: Sqlstate.unknownModelVersion });
  t.match(await s.checkoutModel({ model: "nope" }, tempDir(t)).catch((e) => e), { code: Sqlstate.unknownModel });
  t.match(await s.pushModel(dir1, { model: "fraud", run: "00000000-0000-0000-0000-000000000000" }).catch((e) => e), {
    code: Sqlstate.unknownRun,
  });
  t.equal((await s.modelVersions("fraud")).length, 2, "a push naming an unknown run made no version");
});

t.test("exp checkout writes every input of a run to DIR/<role>/<dataset>, byte for byte", async (t) => {
  const s = await openTestStrata(t);
  const a = tempDir(t);
  writeTree(a, { "x/1.bin": bytes(100_000, 3), "y.txt": "y" });
  await s.push(a, { dataset: "clean" });
  const b = tempDir(t);
  writeTree(b, { "h.csv": "h\n1\n" });
  await s.push(b, { dataset: "holdout" });
  writeTree(a, { "y.txt": "changed after the run started" });
  const id = await s.startRun("r", { inputs: { train: "clean", eval: "holdout" } });
  await s.push(a, { dataset: "clean" });
  const out = tempDir(t);
  const r = await s.checkoutRun(id.slice(0, 13), out);
  t.same(
    r.inputs.map((i) => [i.role, `${i.dataset}@${i.tag}`]),
    [
      ["eval", "holdout@v1"],
      ["train", "clean@v1"],
    ],
  );
  t.same(readFileSync(join(out, "train/clean/x/1.bin")), bytes(100_000, 3));
  t.equal(readFileSync(join(out, "train/clean/y.txt"), "utf8"), "y", "the version pinned at start, not the one pushed since");
  t.equal(readFileSync(join(out, "eval/holdout/h.csv"), "utf8"), "h\n1\n");
  const again = await s.checkoutRun(id, out);
  t.same(
    again.inputs.map((i) => i.result.filesWritten),
    [0, 0],
    "a second checkout writes nothing",
  );
});
