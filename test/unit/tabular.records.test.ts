// Row diffs compare records: CSV read as lenient RFC 4180 readers read it (checked
// against Python's csv module), rows hashed by their canonical form, JSON with sorted
// keys and exact numbers, a byte order mark never part of a row.

import { execFileSync } from "node:child_process";
import t from "tap";
import {
  canonicalCsvRow,
  canonicalJsonRow,
  canonicalJsonRowLossless,
  canonicalNumber,
  csvFields,
  RowSplitter,
} from "../../loader/tabular/records.js";
import { Prng } from "../helpers/prng.js";
import { hashRows } from "../../loader/tabular/rows.js";

function rows(text: string | Buffer, csv = true, cut = 0): string[] {
  const out: string[] = [];
  const s = new RowSplitter(csv, (r) => out.push(Buffer.from(r).toString("utf8")));
  const b = Buffer.from(text);
  if (cut > 0) for (let o = 0; o < b.length; o += cut) s.push(b.subarray(o, o + cut));
  else s.push(b);
  s.end();
  return out;
}

const fields = (row: string) => csvFields(Buffer.from(row)).map((f) => f.toString("utf8"));
const canon = (row: string) => Buffer.from(canonicalCsvRow(Buffer.from(row))).toString("utf8");
const canonJson = (row: string) => Buffer.from(canonicalJsonRow(Buffer.from(row))).toString("utf8");

t.test("a quote that does not open a field is data: an inch mark does not swallow the file", async (t) => {
  const file = `id,desc,unit\n${Array.from({ length: 1000 }, (_, i) => (i === 3 ? `${i},12" ruler,s` : `${i},item ${i},s`)).join("\n")}\n`;
  const r = await hashRows(Buffer.from(file), "items.csv");
  t.equal(r?.rowCount, 1000, "1,000 rows, not 4");
  t.same(fields('10,12" ruler,s'), ["10", '12" ruler', "s"]);
  t.same(rows('a,b"c\nd,"e\nf",g\nh\n'), ['a,b"c', 'd,"e\nf",g', "h"], "only a quote at a field's start opens a quoted field");
  t.same(fields('x,"a""b",c'), ["x", 'a"b', "c"]);
  t.same(fields('"ab"c,d'), ["abc", "d"], "text after a closing quote goes on the field, as Python reads it");
  t.same(fields(""), [""]);
  t.same(fields(",,"), ["", "", ""]);
});

t.test("rows end the same however the input is cut", async (t) => {
  const text = 'id,v\r\n1,"a\r\nb"\r\n2,""""\n\n3,x"y\r\n"4",\r\n5,"z"\n6';
  const whole = rows(text);
  for (let cut = 1; cut <= 9; cut++) t.same(rows(text, true, cut), whole, `pieces of ${cut} bytes`);
  t.same(whole, ["id,v", '1,"a\r\nb"', '2,""""', "", '3,x"y', '"4",', '5,"z"', "6"]);
});

t.test("a re-quoted row is the same record; so are JSON objects with keys in another order", async (t) => {
  t.equal(canon('"abc",1'), "abc,1");
  t.equal(canon('abc,"1"'), "abc,1");
  t.equal(canon('"a,b","say ""hi""",""'), '"a,b","say ""hi""",');
  t.equal(canon('10,12" ruler,s'), '10,"12"" ruler",s', "a data quote is written the one way");
  t.equal(canon('10,"12"" ruler",s'), canon('10,12" ruler,s'));
  t.equal(canon("plain,row"), "plain,row", "a row without quotes is its own form");
  t.equal(canonJson('{"b": 2, "a": [1.50, "x"]}'), canonJson('{"a":[1.5,"x"],"b":2}'));
  t.not(canonJson('{"a": 12345678901234567890}'), canonJson('{"a": 12345678901234567891}'), "big integers keep every digit");
  t.equal(canonJson("not json"), "not json");
  t.same(["1", "1.0", "1.50", "15e-1", "0.0", "-0", "100", "1E2", "0.00012", "12345678901234567890"].map(canonicalNumber), [
    "1e0",
    "1e0",
    "1.5e0",
    "1.5e0",
    "0",
    "0",
    "1e2",
    "1e2",
    "1.2e-4",
    "1.2345678901234567890e19".replace(/0+e/, "e"),
  ]);
});

t.test("row hashes follow records, and a BOM is stripped for JSON Lines too", async (t) => {
  const a = await hashRows(Buffer.from('id,name\n1,"Ann"\n2,Bo\n'), "a.csv");
  const b = await hashRows(Buffer.from('id,name\n"1",Ann\n2,"Bo"\n'), "b.csv");
  t.same([...a!.hashes], [...b!.hashes]);
  const j1 = await hashRows(Buffer.from('\ufeff{"x": 1, "y": 2}\n{"z": 1.0}\n'), "a.jsonl");
  const j2 = await hashRows(Buffer.from('{"y":2,"x":1}\n{"z":1}\n'), "b.jsonl");
  t.same([...j1!.hashes], [...j2!.hashes]);
});

const hasPython = (() => {
  try {
    execFileSync("python3", ["-c", "import csv"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

t.test("CSV fields agree with Python's csv module", { skip: hasPython ? false : "no python3 here" }, async (t) => {
  // Random rows of tricky bytes: quotes anywhere, commas, CRLF, LF, UTF-8. (A lone CR is
  // data here, as rows are lines; Python's reader would end the row there.)
  let seed = 17;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = ['"', '"', ",", ",", "a", "b", " ", "\n", "é", "\r\n", "x"];
  const cases: string[] = [];
  for (let i = 0; i < 300; i++) cases.push(Array.from({ length: 1 + rand(14) }, () => alphabet[rand(alphabet.length)]).join(""));
  cases.push('10,12" ruler,s', '"a""b",c', '"ab"c,d', 'a,"b', '"', ",", 'x,"y\nz",w');
  const text = `${cases.join("\n")}\n`;
  const py = execFileSync(
    "python3",
    ["-c", "import csv,io,sys,json\nprint(json.dumps(list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, newline='', encoding='utf-8')))))"],
    { input: text, encoding: "utf8" },
  );
  const expected = (JSON.parse(py) as string[][]).map((r) => (r.length === 0 ? [""] : r)); // Python gives [] for a blank line
  const ours = rows(text).map((r) => fields(r));
  t.equal(ours.length, expected.length, "the same rows");
  const differ = expected.filter((r, i) => JSON.stringify(ours[i]) !== JSON.stringify(r));
  t.same(differ, [], "the same fields in every row");
});

t.test("the one-pass CSV canonical form is the fields written back (csvFields), on random rows", async (t) => {
  const rand = new Prng(23);
  const NEEDS_QUOTES = /[",\n]/;
  // a row without quotes is its own form (it can hold no LF: a LF outside quotes ends a row)
  const reference = (row: string) =>
    !row.includes('"')
      ? row
      : fields(row)
          .map((f) => (NEEDS_QUOTES.test(f) ? `"${f.replaceAll('"', '""')}"` : f))
          .join(",");
  const alphabet = ['"', '"', '"', ",", ",", "a", "b", " ", "\n", "é", "\r", "x"];
  const differ: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const row = Array.from({ length: rand.int(0, 16) }, () => alphabet[rand.int(0, alphabet.length - 1)]).join("");
    if (canon(row) !== reference(row)) differ.push(row);
  }
  t.same(differ, [], "no row where the two differ");
});

t.test("JSON rows: the JSON.parse path gives what the lossless parser gives, or leaves the row to it", async (t) => {
  const rand = new Prng(29);
  const pick = <T>(xs: T[]): T => xs[rand.int(0, xs.length - 1)]!;
  const numbers = [
    "0",
    "-0",
    "1",
    "1.50",
    "15e-1",
    "1E2",
    "0.1",
    "0.30000000000000004",
    "1.3700000000000001",
    "0.10000000000000001",
    "12345678901234567890",
    "9007199254740993",
    "123456789012345",
    "1e400",
    "-1e-400",
    "1e-300",
    "2.5e+300",
    "4.9e-324",
    "1234567.1234567",
    "100000000000000000000000",
    "3.14159265358979",
    "-7.0e-5",
  ];
  const strings = ['"a"', '"\\u0041"', '"\\"q\\""', '"é"', '"\\\\"', '"x\\/y"', '"\\ud800"', '""'];
  const value = (depth: number): string => {
    const k = rand.int(0, depth > 2 ? 3 : 5);
    if (k === 0) return pick(numbers);
    if (k === 1) return pick(strings);
    if (k === 2) return pick(["true", "false", "null"]);
    if (k === 3) return pick(numbers);
    if (k === 4) return `[${Array.from({ length: rand.int(0, 3) }, () => value(depth + 1)).join(pick([",", " , "]))}]`;
    const keys = ['"a"', '"b"', '"a"', '"__proto__"', '"\\u005f_proto__"', '"1"', '"10"', '"\\u0061"'];
    return `{${Array.from({ length: rand.int(0, 4) }, () => `${pick(keys)}${pick([":", " : "])}${value(depth + 1)}`).join(",")}}`;
  };
  const rows: string[] = [];
  for (let i = 0; i < 4000; i++) {
    let row = value(0);
    if (rand.int(0, 9) === 0) row = row.slice(0, rand.int(0, row.length)); // cut short: mostly not JSON
    rows.push(row);
  }
  const text = (b: Uint8Array | string) => (typeof b === "string" ? b : Buffer.from(b).toString("utf8"));
  const differ = rows.filter((r) => text(canonicalJsonRow(Buffer.from(r))) !== text(canonicalJsonRowLossless(Buffer.from(r))));
  t.same(differ, [], "no row where the two differ");
  t.ok(rows.filter((r) => r.includes('"a"') && r.startsWith("{")).length > 100, "the rows exercise objects");
});
