import type { Command } from "commander";
import { clusterStatus, ensureCluster, stopCluster } from "../../cluster/cluster.js";
import { StrataError } from "../../errors.js";
import { commandHome, findHome } from "../../home.js";
import { printJson, say } from "../output.js";

export function register(program: Command): void {
  const db = program.command("db").description("the private PostgreSQL in the Strata home, used when DATABASE_URL is unset");

  db.command("start")
    .description("create the cluster on first use and start it")
    .action(async () => {
      const info = await ensureCluster(commandHome());
      say(`running on 127.0.0.1:${info.port} (data in ${info.dataDir})`);
    });

  db.command("stop")
    .description("stop the cluster")
    .action(async () => {
      const home = findHome();
      const stopped = home !== undefined && (await stopCluster(home));
      say(stopped ? "stopped" : "not running");
    });

  db.command("status")
    .option("--json", "print JSON for scripts")
    .description('say whether the cluster runs: "running (pid, port)", "stopped" or "not created here"')
    .action(async (opts: { json?: boolean }) => {
      const home = findHome();
      const s = home === undefined ? undefined : await clusterStatus(home);
      const state = s === undefined || !s.initialized ? "not created" : s.running ? "running" : "stopped";
      if (opts.json) return printJson({ home: home ?? null, state, ...s });
      if (home === undefined) say("not created here: no Strata home in this folder or a parent (strata init makes one)");
      else if (state === "not created") say(`not created in ${home} yet (strata db start creates it)`);
      else if (state === "running") say(`running (pid ${s!.pid}, port ${s!.port}) in ${home}`);
      else say(`stopped (${home})`);
    });

  db.command("url")
    .option("--role <role>", "writer (the writer and admin login, default) or reader (for BI tools)", "writer")
    .description('print a connection URL (starting the cluster if needed), e.g. psql "$(strata db url)"; no login is a superuser')
    .action(async (opts: { role: string }) => {
      if (opts.role !== "writer" && opts.role !== "reader")
        throw new StrataError(`--role must be writer or reader, not ${opts.role}`, "usage");
      const info = await ensureCluster(commandHome());
      say(opts.role === "reader" ? info.readerUrl : info.url);
    });
}
