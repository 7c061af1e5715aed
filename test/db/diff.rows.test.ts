// Row-level diffs: strata.record_tabular_rows, strata.diff_rows, strata.diff_rows_summary,
// with row hashes computed by loader/tabular/rows.ts from real file contents.

import t from "tap";
import type pg from "pg";
import { Sqlstate } from "../../stored/errors.js";
import { hashRows, pgBigintArrayBinary, recordRows, rowHash, rowTexts } from "../../loader/tabular/rows.js";
import { sqlstateOf } from "../helpers/db.js";
import { commitFiles, type Files, type VersionsDb, versionsDb } from "../helpers/versions.js";

/** Commit `files` and record the row hashes of every tabular one among them. */
async function commitTabular({ session }: VersionsDb, files: Files, tag: string, dataset = "d"): Promise<void> {
  const c = await commitFiles(session, dataset, files, { tag });
  for (const [path, blob] of c.blobs) {
    const spec = files[path]!;
    const rows = await hashRows(Buffer.from(spec as string | Buffer), path);
    if (rows) await recordRows(session, blob, rows);
  }
}

async function diffRows(db: pg.Client, a: string, b: string, path: string, dsB: string | null = null) {
  const { rows } = await db.query("select change, row_number::int, row_hash::text from strata.diff_rows('d', $1, $2, $3, $4)", [
    a,
    b,
    path,
    dsB,
  ]);
  return rows as { change: string; row_number: number; row_hash: string }[];
}

async function rowsSummary(db: pg.Client, a: string, b: string, path: string) {
  const { rows } = await db.query(
    `select rows_a::int, rows_b::int, added::int, removed::int, unchanged::int, header_changed
     from strata.diff_rows_summary('d', $1, $2, $3)`,
    [a, b, path],
  );
  return rows[0];
}

const h = (row: string) => rowHash(Buffer.from(row), "csv").toString();
const hj = (row: string) => rowHash(Buffer.from(row), "jsonl").toString();

t.test("duplicate rows count; equal rows at the same number pair first, then the k-th copies", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  await commitTabular(v, { "data/t.csv": "id,v\nX\nY\nX\nZ\n" }, "a");
  await commitTabular(v, { "data/t.csv": "id,v\r\nX\r\nZ\r\nW\r\nZ" }, "b"); // CRLF, no final newline
  // rows 1 (X) and 4 (Z) are equal in place; left: a Y(2) X(3), b Z(2) W(3)
  t.same(await diffRows(db, "a", "b", "data/t.csv"), [
    { change: "removed", row_number: 2, row_hash: h("Y") },
    { change: "added", row_number: 2, row_hash: h("Z") },
    { change: "removed", row_number: 3, row_hash: h("X") },
    { change: "added", row_number: 3, row_hash: h("W") },
  ]);
  t.same(await rowsSummary(db, "a", "b", "data/t.csv"), {
    rows_a: 4,
    rows_b: 4,
    added: 2,
    removed: 2,
    unchanged: 2,
    header_changed: false,
  });
  t.same(await diffRows(db, "a", "a", "data/t.csv"), [], "a file against itself: no rows");
  await commitTabular(v, { "data/t.csv": "id,v\nX\nX\nY\nX\n" }, "c");
  await commitTabular(v, { "data/t.csv": "id,v\nY\nX\n" }, "d");
  // row 2 (X) is equal in place; left: a X(1) Y(3) X(4), b Y(1): Y pairs, the first X left is removed, then the next
  t.same(
    (await diffRows(db, "c", "d", "data/t.csv")).map((r) => [r.change, r.row_number]),
    [
      ["removed", 1],
      ["removed", 4],
    ],
  );
  t.same(await rowsSummary(db, "c", "d", "data/t.csv"), {
    rows_a: 4,
    rows_b: 2,
    added: 0,
    removed: 2,
    unchanged: 2,
    header_changed: false,
  });
  t.same(await rowsSummary(db, "a", "a", "data/t.csv"), {
    rows_a: 4,
    rows_b: 4,
    added: 0,
    removed: 0,
    unchanged: 4,
    header_changed: false,
  });
});

t.test("the loader reads the text of the changed rows", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  const before = `${["name,score", ...Array.from({ length: 200 }, (_, i) => `n${i},${i % 7}`)].join("\n")}\n`;
  const lines = before.trimEnd().split("\n");
  lines.splice(51, 1, "n50,changed"); // row 50
  lines.splice(101, 0, "inserted,1"); // new row 100
  const after = `${lines.join("\n")}\n`;
  await commitTabular(v, { "s.csv": before }, "a");
  await commitTabular(v, { "s.csv": after }, "b");
  const rows = await diffRows(db, "a", "b", "s.csv");
  t.same(
    rows.map((r) => [r.change, r.row_number]),
    [
      ["removed", 51],
      ["added", 51],
      ["added", 101],
    ],
  );
  const textA = await rowTexts(
    Buffer.from(before),
    "s.csv",
    rows.filter((r) => r.change === "removed").map((r) => r.row_number),
  );
  const textB = await rowTexts(
    Buffer.from(after),
    "s.csv",
    rows.filter((r) => r.change === "added").map((r) => r.row_number),
  );
  t.same(
    [...textA].map(([n, b]) => [n, b.toString()]),
    [[51, "n50,1"]],
  );
  t.same(
    [...textB].map(([n, b]) => [n, b.toString()]),
    [
      [51, "n50,changed"],
      [101, "inserted,1"],
    ],
  );
  t.match(await rowsSummary(db, "a", "b", "s.csv"), { rows_a: 200, rows_b: 201, added: 2, removed: 1, unchanged: 199 });
});

t.test("a file missing in one version is empty there; missing in both is an error", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  await commitTabular(v, { "other.txt": "x" }, "a");
  await commitTabular(v, { "r.jsonl": '{"a":1}\n{"a":2}\n{"a":1}\n' }, "b");
  t.same(await diffRows(db, "a", "b", "r.jsonl"), [
    { change: "added", row_number: 1, row_hash: hj('{"a":1}') },
    { change: "added", row_number: 2, row_hash: hj('{"a":2}') },
    { change: "added", row_number: 3, row_hash: hj('{"a":1}') },
  ]);
  t.same(
    (await diffRows(db, "b", "a", "r.jsonl")).map((r) => [r.change, r.row_number]),
    [
      ["removed", 1],
      ["removed", 2],
      ["removed", 3],
    ],
  );
  t.same(await rowsSummary(db, "a", "b", "r.jsonl"), { rows_a: 0, rows_b: 3, added: 3, removed: 0, unchanged: 0, header_changed: null });
  t.equal(await sqlstateOf(() => diffRows(db, "a", "b", "nope.csv")), Sqlstate.unknownPath, "in neither version");
  t.equal(await sqlstateOf(() => diffRows(db, "a", "b", "")), Sqlstate.invalidArgument, "empty path");
});

t.test("paths that are not tabular raise ST010", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  await commitTabular(v, { "plain.txt": "a\nb\n", "dir/x.csv": "h\n1\n", link: { symlink: "plain.txt" } }, "a");
  await commitTabular(v, { "plain.txt": "a\nc\n", "dir/x.csv": "h\n2\n", link: { symlink: "x" } }, "b");
  t.equal(await sqlstateOf(() => diffRows(db, "a", "b", "plain.txt")), Sqlstate.notTabular, "no row hashes");
  t.equal(await sqlstateOf(() => diffRows(db, "a", "b", "dir")), Sqlstate.notTabular, "a folder");
  t.equal(await sqlstateOf(() => diffRows(db, "a", "b", "link")), Sqlstate.notTabular, "a symlink");
  t.equal(await sqlstateOf(() => rowsSummary(db, "a", "b", "plain.txt")), Sqlstate.notTabular, "summary too");
  t.equal(await sqlstateOf(() => diffRows(db, "a", "zz", "dir/x.csv")), Sqlstate.unknownVersion);
  t.equal(await sqlstateOf(() => db.query("select * from strata.diff_rows('nope', 'a', 'b', 'dir/x.csv')")), Sqlstate.unknownDataset);
  t.same(
    (await diffRows(db, "a", "b", "dir/x.csv")).map((r) => [r.change, r.row_number]),
    [
      ["removed", 1],
      ["added", 1],
    ],
  );
});

t.test("header changes are reported; rows of two datasets compare", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  await commitTabular(v, { "t.csv": "a,b\n1,2\n" }, "a");
  await commitTabular(v, { "t.csv": "a,B\n1,2\n" }, "b");
  await commitTabular(v, { "t.csv": "a,b\n1,2\n3,4\n" }, "c", "e");
  t.match(await rowsSummary(db, "a", "b", "t.csv"), { unchanged: 1, header_changed: true });
  t.same(
    (await diffRows(db, "a", "c", "t.csv", "e")).map((r) => [r.change, r.row_number]),
    [["added", 2]],
  );
});

t.test("record_tabular_rows validates and is idempotent", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  const c = await commitFiles(v.session, "d", { "x.csv": "h\n1\n2\n" });
  const blob = c.blobs.get("x.csv")!;
  const rec = (b: unknown, f: unknown, hd: unknown, rows: unknown) =>
    db.query("select strata.record_tabular_rows($1, $2, $3, $4::bigint[], 2::smallint) as n", [b, f, hd, rows]);
  // bigint comes back as a JS number: the loader (loaded by the versions fixture) parses int8 so
  t.equal((await rec(blob, "csv", "h", "{1,-2}")).rows[0].n, 2);
  t.equal((await rec(blob, "csv", "h", "{1,-2}")).rows[0].n, 2, "again: the same, no error");
  t.equal(
    (await rec(blob, "csv", "h", pgBigintArrayBinary(new BigInt64Array([1n, -2n])))).rows[0].n,
    2,
    "the same hashes in binary array format (as the loader sends them) are the same rows",
  );
  const wide = new BigInt64Array([-9223372036854775808n, 9223372036854775807n, 0n]);
  const back = await db.query("select $1::bigint[]::text as t", [pgBigintArrayBinary(wide)]);
  t.equal(back.rows[0].t, "{-9223372036854775808,9223372036854775807,0}", "binary bigint[] reads back exactly");
  t.equal(await sqlstateOf(() => rec(blob, "csv", "h", "{1,3}")), Sqlstate.invalidArgument, "different rows for the same contents");
  t.equal(await sqlstateOf(() => rec(blob, "tsv", "h", "{1}")), Sqlstate.invalidArgument, "unknown format");
  t.equal(await sqlstateOf(() => rec(blob, "csv", null, "{1}")), Sqlstate.invalidArgument, "csv without header");
  t.equal(await sqlstateOf(() => rec(blob, "jsonl", "h", "{1}")), Sqlstate.invalidArgument, "jsonl with header");
  t.equal(await sqlstateOf(() => rec(blob, "csv", "h", null)), Sqlstate.invalidArgument, "null hashes");
  t.equal(await sqlstateOf(() => rec(blob, "csv", "h", "{1,NULL}")), Sqlstate.invalidArgument, "null inside");
  t.equal(await sqlstateOf(() => rec(blob, "csv", "h", "{{1},{2}}")), Sqlstate.invalidArgument, "two dimensions");
  t.equal(await sqlstateOf(() => rec(Buffer.alloc(32), "csv", "h", "{1}")), Sqlstate.missingObject, "unknown contents");
  t.equal(await sqlstateOf(() => rec(Buffer.alloc(3), "csv", "h", "{1}")), Sqlstate.invalidArgument, "not a hash");
  const empty = await commitFiles(v.session, "d", { "e.jsonl": "" });
  t.equal((await rec(empty.blobs.get("e.jsonl"), "jsonl", null, "{}")).rows[0].n, 0, "zero rows is fine");
});

t.test("random row lists: removed and added are exactly the multiset differences", async (t) => {
  const v = await versionsDb(t);
  const db = v.db;
  let seed = 11;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 6; round++) {
    const a = Array.from({ length: rand(60) }, () => rand(8) - 3);
    // b: a edited in place, with rows inserted and deleted, so positions shift
    const b = a.filter(() => rand(5) !== 0).map((x) => (rand(6) === 0 ? rand(8) - 3 : x));
    for (let k = rand(5); k > 0; k--) b.splice(rand(b.length + 1), 0, rand(8) - 3);
    const files: Record<string, string> = {};
    // contents unique per round (the hashes recorded for them are synthetic)
    files[`a${round}.csv`] = `h\na${round}\n`;
    files[`b${round}.csv`] = `h\nb${round}\n`;
    const c = await commitFiles(v.session, "d", files, { tag: `r${round}` });
    await db.query("select strata.record_tabular_rows($1, 'csv', 'h', $2::bigint[], 2::smallint)", [c.blobs.get(`a${round}.csv`), a]);
    await db.query("select strata.record_tabular_rows($1, 'csv', 'h', $2::bigint[], 2::smallint)", [c.blobs.get(`b${round}.csv`), b]);
    // compare a's file with b's file by committing b's contents under a's name in a second version
    const c2 = await commitFiles(v.session, "d", { [`a${round}.csv`]: `h\nb${round}\n` }, { tag: `s${round}` });
    t.same(c2.blobs.get(`a${round}.csv`), c.blobs.get(`b${round}.csv`));
    const rows = await diffRows(db, `r${round}`, `s${round}`, `a${round}.csv`);
    const count = (xs: number[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<number, number>());
    const minus = (x: Map<number, number>, y: Map<number, number>) =>
      [...x].flatMap(([k, n]) => Array<number>(Math.max(0, n - (y.get(k) ?? 0))).fill(k)).sort();
    const ca = count(a);
    const cb = count(b);
    const removed = rows.filter((r) => r.change === "removed");
    const added = rows.filter((r) => r.change === "added");
    t.same(removed.map((r) => Number(r.row_hash)).sort(), minus(ca, cb), `round ${round}: removed`);
    t.same(added.map((r) => Number(r.row_hash)).sort(), minus(cb, ca), `round ${round}: added`);
    t.ok(
      removed.every((r) => a[r.row_number - 1] === Number(r.row_hash)),
      "removed rows name a's row numbers",
    );
    t.ok(
      added.every((r) => b[r.row_number - 1] === Number(r.row_hash)),
      "added rows name b's row numbers",
    );
    t.equal(new Set(removed.map((r) => r.row_number)).size, removed.length, "no row reported twice");
    t.same(await rowsSummary(db, `r${round}`, `s${round}`, `a${round}.csv`), {
      rows_a: a.length,
      rows_b: b.length,
      added: added.length,
      removed: removed.length,
      unchanged: a.length - removed.length,
      header_changed: false,
    });
  }
});
