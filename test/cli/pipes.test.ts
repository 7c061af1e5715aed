// The CLI in pipes and terminals: a --json output of many pipe buffers (a pipe holds
// 64 KiB) arrives whole through a slow reader, a reader that stops early (| head) ends
// the job quietly with 141, and names with control characters cannot forge lines or reach the terminal as escapes.

import { spawn } from "node:child_process";
import t from "tap";
import { BIN, strata } from "../helpers/cli.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

function spawnCli(args: string[], env: Record<string, string>) {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete merged.NODE_OPTIONS;
  return spawn(process.execPath, [BIN, ...args], { env: merged, stdio: ["ignore", "pipe", "pipe"] });
}

t.test("a MB of --json arrives whole through a slow reader", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const spec: Record<string, string> = {};
  // long names, so fewer files make the size: the push costs by the file
  for (let i = 0; i < 3_000; i++) spec[`shard-${i % 40}/${"long-file-name-".repeat(16)}${i}.txt`] = `${i}`;
  writeTree(dir, spec);
  await s.push(dir, { dataset: "many" });
  const child = spawnCli(["ls", "many", "--json"], s.env);
  const parts: Buffer[] = [];
  // Read slowly: a pause after each chunk, so the writer meets a full pipe many times.
  child.stdout.on("data", (d: Buffer) => {
    parts.push(d);
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 2);
  });
  const code = await new Promise((resolve) => child.on("close", resolve));
  const out = Buffer.concat(parts);
  t.equal(code, 0);
  t.ok(out.length > 1_000_000, `${out.length} bytes`);
  t.equal((JSON.parse(out.toString()) as unknown[]).length, 3_000, "every entry, valid JSON to the end");
});

t.test("a reader that stops early ends the job quietly: exit 141, nothing on stderr", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  const rows = ["id,label"];
  // about 1.4 MB: far more than the pipe and the reader hold when it stops
  for (let i = 0; i < 100_000; i++) rows.push(`${i},label-${i % 7}`);
  writeTree(dir, { "big.csv": `${rows.join("\n")}\n` });
  await s.push(dir, { dataset: "ds" });
  const child = spawnCli(["cat", "ds", "big.csv"], s.env);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const first = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
  child.stdout.destroy(); // as head -1 does once it has its line
  const code = await new Promise((resolve) => child.on("close", resolve));
  t.match(first, /^id,label\n0,label-0\n/);
  t.equal(code, 141, "as if SIGPIPE had ended it");
  t.equal(stderr, "", "no message");
});

t.test("names with control characters are escaped for people and exact in JSON", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "evil\n+ injected.txt": "x", "\u001b[31mred.txt": "y", "back\\slash": "z" });
  await s.push(dir, { dataset: "ds" });
  const human = await strata(["ls", "ds"], s.env);
  t.equal(human.code, 0, human.stderr);
  const lines = human.stdout.trimEnd().split("\n");
  t.equal(lines.length, 4, "a header and one line per file: no forged lines");
  t.notOk(human.stdout.includes("\u001b"), "no escape reaches the terminal");
  t.match(human.stdout, /evil\\n\+ injected\.txt/);
  t.match(human.stdout, /\\x1b\[31mred\.txt/);
  t.match(human.stdout, /back\\\\slash/);
  const json = JSON.parse((await strata(["ls", "ds", "--json"], s.env)).stdout) as { path: string }[];
  t.same(json.map((f) => f.path).sort(), ["\u001b[31mred.txt", "back\\slash", "evil\n+ injected.txt"].sort(), "JSON is exact");
  const bad = await strata(["cat", "ds", "no\u001b[2Jsuch"], s.env);
  t.equal(bad.code, 3);
  t.notOk(bad.stderr.includes("\u001b"), "nor through an error message");
});
