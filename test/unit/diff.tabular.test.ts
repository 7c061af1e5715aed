// loader/tabular/rows.ts: which files are tabular, where rows end, how rows hash.

import t from "tap";
import { createHash } from "node:crypto";
import { hashRows, pgBigintArrayBinary, rowHash, rowTexts, tabularFormatOf } from "../../loader/tabular/rows.js";

const expectHash = (row: string | Buffer) => createHash("sha256").update(row).digest().readBigInt64BE(0);

async function rowsOf(content: string | Buffer, name = "x.csv") {
  const r = await hashRows(Buffer.from(content), name);
  return r && { header: r.header, hashes: [...r.hashes], rowCount: r.rowCount, format: r.format };
}

t.test("tabular by name", async (t) => {
  t.equal(tabularFormatOf("a/b.csv"), "csv");
  t.equal(tabularFormatOf("B.CSV"), "csv");
  t.equal(tabularFormatOf("x.jsonl"), "jsonl");
  t.equal(tabularFormatOf("x.ndjson"), "jsonl");
  t.equal(tabularFormatOf("x.json"), undefined);
  t.equal(tabularFormatOf("csv"), undefined);
  t.equal(await hashRows(Buffer.from("a\nb\n"), "x.txt"), undefined, "other names are not tabular");
  t.equal(await hashRows(Buffer.alloc(0), "x.csv"), undefined, "a csv needs a header line");
  t.equal(await hashRows(Buffer.from("\n1\n"), "x.csv"), undefined, "an empty header is no header");
  t.same(await rowsOf("", "e.jsonl"), { header: null, hashes: [], rowCount: 0, format: "jsonl" });
  t.same(await rowsOf("h\n"), { header: "h", hashes: [], rowCount: 0, format: "csv" }, "header only: zero rows");
});

t.test("row hashes: first 8 bytes of SHA-256, signed", async (t) => {
  for (const s of ["", "a", "1,2,3", "héllo", "x".repeat(1000)]) t.equal(rowHash(Buffer.from(s), "csv"), expectHash(s), JSON.stringify(s));
  const negative = ["a", "b", "c", "d", "e"].map((s) => rowHash(Buffer.from(s), "csv")).some((h) => h < 0n);
  t.ok(negative, "values above 2^63 come out negative, as bigint");
  const values = [1n, -9223372036854775808n, 9223372036854775807n];
  const bin = pgBigintArrayBinary(new BigInt64Array(values));
  t.same(
    [0, 4, 8, 12, 16].map((at) => bin.readInt32BE(at)),
    [1, 0, 20, 3, 1],
    "one dimension, no nulls, int8, 3 elements from 1",
  );
  t.same(
    values.map((_, i) => [bin.readInt32BE(20 + 12 * i), bin.readBigInt64BE(24 + 12 * i)]),
    values.map((v) => [8, v]),
  );
  t.equal(pgBigintArrayBinary(new BigInt64Array(0)).length, 20, "no rows: the header alone");
});

t.test("where rows end", async (t) => {
  const h = (...rows: string[]) => rows.map(expectHash);
  t.same((await rowsOf("id\na\nb\n"))!.hashes, h("a", "b"), "LF");
  t.same((await rowsOf("id\r\na\r\nb\r\n"))!.hashes, h("a", "b"), "CRLF");
  t.same((await rowsOf("id\na\nb"))!.hashes, h("a", "b"), "last row without newline");
  t.same((await rowsOf("id\na\n\nb\n"))!.hashes, h("a", "", "b"), "an empty row inside counts");
  t.same((await rowsOf("id\na\n\n"))!.hashes, h("a", ""), "one final newline adds no row, a second one does");
  t.same((await rowsOf("id\na\rb\n"))!.hashes, h("a\rb"), "a lone CR is data");
  t.same(
    (await rowsOf('id\n"multi\nline",1\n"say ""hi""\n",2\nlast\n'))!.hashes,
    h('"multi\nline",1', '"say ""hi""\n",2', "last"),
    "a newline inside quotes stays in the row",
  );
  t.same((await rowsOf('{"a":"x\\"y"}\n"\n', "q.jsonl"))!.hashes, h('{"a":"x\\"y"}', '"'), "quotes mean nothing in JSON Lines");
  t.same(
    await rowsOf("\ufeffid,name\r\n1,x\r\n"),
    { header: "id,name", hashes: h("1,x"), rowCount: 1, format: "csv" },
    "BOM and CR leave the header",
  );
});

t.test("results do not depend on how the input is cut", async (t) => {
  const text = Buffer.from('id,v\r\n1,"a\r\nb"\r\n2,""""\n\n3,x\r\n"4",\r\n5');
  const whole = await hashRows(text, "x.csv");
  for (let size = 1; size <= 7; size++) {
    const pieces: Buffer[] = [];
    for (let o = 0; o < text.length; o += size) pieces.push(text.subarray(o, o + size));
    async function* gen() {
      yield* pieces;
    }
    const cut = await hashRows(gen(), "x.csv");
    t.same([...cut!.hashes], [...whole!.hashes], `pieces of ${size} bytes`);
    t.equal(cut!.header, "id,v");
  }
  t.equal(whole!.rowCount, 6);
  const texts = await rowTexts([text.subarray(0, 9), text.subarray(9)], "x.csv", [1, 3, 4, 6, 99]);
  t.same(
    [...texts].map(([n, b]) => [n, b.toString()]),
    [
      [1, '1,"a\r\nb"'],
      [3, ""],
      [4, "3,x"],
      [6, "5"],
    ],
  );
});

t.test("a million rows hash in well under the time limit", async (t) => {
  const lines = ["id,name,value"];
  for (let i = 0; i < 1_000_000; i++) lines.push(`${i},name-${i},${(i * 7919) % 100000}`);
  const buf = Buffer.from(`${lines.join("\n")}\n`);
  async function* chunks() {
    for (let o = 0; o < buf.length; o += 1 << 20) yield buf.subarray(o, o + (1 << 20));
  }
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await hashRows(chunks(), "big.csv");
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - start;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  t.equal(r!.rowCount, 1_000_000);
  t.equal(r!.hashes[999_999], expectHash(`999999,name-999999,${(999_999 * 7919) % 100000}`));
  t.comment(`1,000,000 rows (${(buf.length / 1e6).toFixed(1)} MB) in ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU`);
  // CPU time, not wall time: other processes on the machine must not fail the test
  t.ok(cpuMs < 5000, `1M rows took ${cpuMs.toFixed(0)} ms of CPU (about 0.7 s on an idle core)`);
});
