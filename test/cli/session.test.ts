// cliSession (test/helpers/cli.ts), which the tests that make many calls use, answers as
// the command run as a process of its own does: the same exit code, stdout and stderr,
// call after call, each with its own environment.

import t from "tap";
import { cliSession, strata } from "../helpers/cli.js";
import { openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

t.test("a session's answers are a process's answers", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "a.txt": "a" });
  const cli = cliSession(t);
  const unreachable = { ...s.env, DATABASE_URL: "postgresql://strata@127.0.0.1:9/x" };
  const calls: [string[], Record<string, string>][] = [
    [["--version"], s.env],
    [["no-such-command"], s.env],
    [["push", dir, "--dataset", "ds", "--json"], s.env],
    [["push", dir, "--dataset", "ds", "--tag", "bad tag"], s.env],
    [["log", "ds"], unreachable],
    [["log", "nope", "--json"], s.env],
    [["fsck"], s.env],
  ];
  for (const [args, env] of calls) {
    const [own, session] = [await strata(args, env), await cli(args, env)];
    // a second push of the same folder is unchanged: compare what does not depend on the order
    if (args[0] === "push" && args.includes("--json")) {
      t.equal(session.code, own.code, "push: same exit");
      t.same(Object.keys(JSON.parse(session.stdout)).sort(), Object.keys(JSON.parse(own.stdout)).sort(), "push: same JSON fields");
      continue;
    }
    t.same(session, own, `strata ${args.join(" ")}: exit ${own.code}`);
  }
  t.equal((await cli(["log", "ds"], unreachable)).code, 5, "a call's environment is its own...");
  t.equal((await cli(["log", "ds"], s.env)).code, 0, "...and gone at the next call");
});
