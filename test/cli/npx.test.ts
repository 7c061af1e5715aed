// `npx strata` runs the project's command straight from node_modules/.bin. Were the
// command declared in the project's own package.json, npx would install the project into
// its cache (`_npx/`) and read all of node_modules on every call: about 0.6 s a call
// instead of 0.3 (bench row 8 measures it).

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { projectRoot } from "../../loader/paths.js";
import { tempDir } from "../helpers/strata.js";

const root = projectRoot();

t.test("npm ci links the command into node_modules/.bin", async (t) => {
  t.equal(realpathSync(join(root, "node_modules/.bin/strata")), realpathSync(join(root, "bin/strata.js")));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin?: unknown };
  t.equal(pkg.bin, undefined, "the project's package.json declares no command of its own");
});

t.test("npx strata runs the command without installing the project into npx's cache", async (t) => {
  const cache = tempDir(t, "strata-npm-cache-");
  const sub = join(root, "test");
  const r = spawnSync("npx", ["strata", "--version"], {
    cwd: sub,
    encoding: "utf8",
    env: { ...process.env, npm_config_cache: cache, npm_config_update_notifier: "false" },
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\d+\.\d+\.\d+/);
  t.notOk(existsSync(join(cache, "_npx")), "npx installed nothing into its cache");
});
