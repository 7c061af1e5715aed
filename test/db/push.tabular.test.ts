import t from "tap";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

t.test("push records row hashes of CSV and JSON Lines contents, once per contents", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, {
    "labels.csv": "id,label\n1,cat\n2,dog\n2,dog\n",
    "events.jsonl": '{"a":1}\n{"a":2}\n',
    "copy/labels.csv": "id,label\n1,cat\n2,dog\n2,dog\n",
    "notes.txt": "not tabular\n",
    "headerless.csv": "",
  });
  await s.push(dir, { dataset: "tab" });
  const rows = await s.query<{ format: string; header: string | null; row_count: number }>(
    "select format, header, row_count from strata.tabular_rows order by format",
  );
  t.same(
    rows.map((r) => [r.format, r.header, Number(r.row_count)]),
    [
      ["csv", "id,label", 3],
      ["jsonl", null, 2],
    ],
    "one row set per tabular contents; the copy shares it; empty CSV and text files have none",
  );

  writeTree(dir, { "labels.csv": "id,label\n1,cat\n2,bird\n2,dog\n3,cow\n" });
  await s.push(dir, { dataset: "tab" });
  const summary = await s.query<{ added: number; removed: number; unchanged: number }>(
    "select added, removed, unchanged from strata.diff_rows_summary('tab', 'v1', 'v2', 'labels.csv')",
  );
  t.same(
    summary.map((r) => [Number(r.added), Number(r.removed), Number(r.unchanged)]),
    [[2, 1, 2]],
  );
  const count = await s.query<{ n: number }>("select count(*)::int as n from strata.tabular_rows");
  t.equal(count[0]!.n, 3, "the unchanged JSON Lines file cost nothing more");
});
