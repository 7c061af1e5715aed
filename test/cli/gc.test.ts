// strata rm, du and gc as a user meets them: one line per fact, --json for scripts.

import t from "tap";
import { strata } from "../helpers/cli.js";
import { turnBack } from "../helpers/clock.js";
import { bytes, openTestStrata, tempDir, writeTree } from "../helpers/strata.js";

t.test("du shows where the bytes are; rm and gc free what only a deleted version held", async (t) => {
  const s = await openTestStrata(t);
  const dir = tempDir(t);
  writeTree(dir, { "shared.bin": bytes(300_000, 1), "only-v1.bin": bytes(200_000, 2) });
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);
  writeTree(dir, { "only-v1.bin": bytes(100_000, 3) });
  t.equal((await strata(["push", dir, "--dataset", "ds"], s.env)).code, 0);

  const du = await strata(["du", "--json"], s.env);
  t.equal(du.code, 0, du.stderr);
  t.match(JSON.parse(du.stdout), [{ dataset: "ds", liveVersions: 2, logicalBytes: 900_000, uniqueBytes: 600_000, sharedBytes: 0 }]);
  const perVersion = await strata(["du", "ds"], s.env);
  t.match(perVersion.stdout, /^TAG\s+CREATED\s+LOGICAL\s+BROUGHT\s+UNIQUE\s+EXCLUSIVE\n/);
  const versions = JSON.parse((await strata(["du", "ds", "--json"], s.env)).stdout) as { tag: string; exclusiveBytes: number }[];
  t.same(
    versions.map((v) => [v.tag, v.exclusiveBytes]),
    [
      ["v2", 100_000],
      ["v1", 200_000],
    ],
    "what deleting each would free",
  );
  t.equal((await strata(["du", "nope"], s.env)).code, 3);

  const rm = await strata(["rm", "ds@v1"], s.env);
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, "deleted ds@v1\nstrata gc reclaims the bytes only they held\n");
  await turnBack(s.databaseUrl, "2 days");
  const dry = await strata(["gc", "--dry-run", "--repack-below", "0.9"], s.env);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /\(dry run: nothing changed\)/);
  t.match(dry.stdout, /would reclaim 195\.3 KiB/);
  const real = await strata(["gc", "--json", "--repack-below", "0.9"], s.env);
  t.equal(real.code, 0, real.stderr);
  t.match(JSON.parse(real.stdout), { dryRun: false, reclaimedBytes: 200_000 });
  t.equal((await strata(["gc", "--repack-below", "1"], s.env)).code, 2, "a threshold of 1 would copy everything forever");
});
