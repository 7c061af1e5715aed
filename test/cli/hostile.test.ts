// Hostile input through every command: each exits with one line and the code of its
// kind (2 usage, 3 not found), or round-trips exactly; nothing is created by a refusal.
// The hundreds of refusals run in one CLI process (cliSession); the commands around them
// are processes of their own.

import t from "tap";
import { cliSession, strata } from "../helpers/cli.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

const HOSTILE = [
  'it\'s "q"',
  "a;rm -rf /",
  "../../etc",
  "ctl\u001b[2J\u0007",
  "x".repeat(100_000),
  "\ufffd\ufffd invalid utf-8 as the shell hands it",
  "-dash",
];

t.test("every command refuses hostile names with one line and exit 2 or 3, and changes nothing", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);
  const out = tempDir(t);
  const cli = cliSession(t);
  for (const h of HOSTILE) {
    const cases: [string[], number[]][] = [
      [["dataset", "create", h], [2]],
      [["push", dir, "--dataset", h], [2]],
      [["push", dir, "--dataset", "ds", "--tag", h], [2]],
      [
        ["push", dir, "--dataset", "ds", "--parent", h],
        [2, 3],
      ],
      [
        ["log", h],
        [2, 3],
      ],
      [
        ["ls", `ds@${h}`],
        [2, 3],
      ],
      [
        ["ls", h],
        [2, 3],
      ],
      [
        ["diff", "ds", `${h}@v1`],
        [2, 3],
      ],
      [
        ["cat", "ds", h],
        [2, 3],
      ],
      [
        ["checkout", `ds@${h}`, out],
        [2, 3],
      ],
      [
        ["diff", "ds", "ds", "--rows", h],
        [2, 3],
      ],
      [
        ["rm", `ds@${h}`],
        [2, 3],
      ],
      [
        ["rm", h, "--all"],
        [2, 3],
      ],
      [
        ["retention", "set", h, "--keep-last", "1"],
        [2, 3],
      ],
      [["retention", "set", "ds", "--keep-within", h], [2]],
      [
        ["du", h],
        [2, 3],
      ],
      [["gc", "--grace", h], [2]],
    ];
    for (const [args, codes] of cases) {
      const r = await cli(args, s.env);
      t.ok(codes.includes(r.code), `${args.slice(0, 2).join(" ")} ${JSON.stringify(h.slice(0, 20))}: exit ${r.code}`);
      t.equal(r.stderr.split("\n").length, 2, "one line");
      t.notOk(r.stderr.includes("\u001b"), "no escape reaches the terminal");
      t.ok(r.stderr.length < 1000, "a short message");
    }
  }
  const log = JSON.parse((await strata(["log", "ds", "--json"], s.env)).stdout) as unknown[];
  t.equal(log.length, 1, "no version was added");
  const datasets = JSON.parse((await strata(["dataset", "list", "--json"], s.env)).stdout) as unknown[];
  t.equal(datasets.length, 1, "no dataset was created");
});

t.test("messages, descriptions and metadata round-trip exactly through the CLI", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  for (const [i, h] of HOSTILE.entries()) {
    writeTree(dir, { "a.txt": String(i) });
    const meta = JSON.stringify({ note: h });
    const r = await strata(["push", dir, "--dataset", "ds", "-m", h, "--metadata", meta, "--json"], s.env);
    t.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout).version as { message: string; metadata: { note: string } };
    t.equal(v.message, h, "message exact");
    t.equal(v.metadata.note, h, "metadata exact");
  }
  const human = await strata(["log", "ds"], s.env);
  t.notOk(human.stdout.includes("\u001b"), "the log escapes control characters for people");
});

t.test("runs, models, aliases, metrics and lineage refuse hostile names with one line and exit 2 or 3, and change nothing", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);
  const run = (await strata(["exp", "start", "r", "--input", "train=ds"], s.env)).stdout.trim();
  t.equal((await strata(["model", "push", dir, "--model", "m", "--run", run], s.env)).code, 0);
  t.equal((await strata(["model", "alias", "m", "prod", "1"], s.env)).code, 0);
  const out = tempDir(t);
  const cli = cliSession(t);
  // Quotes, escapes, 100,000 characters, a leading dash: each command is a process, so a few of the strings.
  for (const h of [HOSTILE[0]!, HOSTILE[3]!, HOSTILE[4]!, HOSTILE[6]!]) {
    const cases: string[][] = [
      ["exp", "start", h],
      ["exp", "start", "r", "--input", `${h}=ds`],
      ["exp", "start", "r", "--input", `train=${h}`],
      ["exp", "log", run, `${h}=1`],
      ["exp", "log", run, `loss=${h}`],
      ["exp", "show", h],
      ["exp", "finish", run, "--status", h],
      ["model", "push", dir, "--model", h],
      ["model", "alias", "m", h, "1"],
      ["model", "alias", h, "prod", "1"],
      ["model", "checkout", `m@${h}`, out],
      ["lineage", h],
      ["lineage", `model:${h}`],
      ["impact", "ds", "--file", h],
      ["contains", "ds", h],
      ["edge", "add", "ds", h, `run:${run}`],
    ];
    for (const args of cases) {
      const r = await cli(args, s.env);
      t.ok(
        [2, 3].includes(r.code),
        `${args.slice(0, 2).join(" ")} ${JSON.stringify(h.slice(0, 20))}: exit ${r.code} ${r.stderr.slice(0, 80)}`,
      );
      t.equal(r.stderr.split("\n").length, 2, "one line");
      t.notOk(r.stderr.includes("\u001b"), "no escape reaches the terminal");
      t.ok(r.stderr.length < 1000, "a short message");
    }
  }
  const runs = JSON.parse((await strata(["exp", "list", "--json"], s.env)).stdout) as { metrics: object }[];
  t.equal(runs.length, 1, "no run was started");
  t.same(runs[0]!.metrics, {}, "no metric was logged");
  const models = JSON.parse((await strata(["model", "list", "--json"], s.env)).stdout) as { versionCount: number; aliases: string }[];
  t.same(
    models.map((m) => [m.versionCount, m.aliases]),
    [[1, "prod"]],
    "no model, version or alias was made",
  );
});
