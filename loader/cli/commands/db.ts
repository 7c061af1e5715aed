import type { Command } from "commander";
import { clusterStatus, ensureCluster, stopCluster } from "../../cluster/cluster.js";
import { strataHome } from "../../paths.js";
import { printJson } from "../output.js";

export function register(program: Command): void {
  const db = program
    .command("db")
    .description(`the private PostgreSQL under STRATA_HOME (default .strata), used when DATABASE_URL is unset`);

  db.command("start")
    .description("create the cluster on first use and start it")
    .action(async () => {
      const info = await ensureCluster(strataHome());
      process.stdout.write(`running on 127.0.0.1:${info.port} (data in ${info.dataDir})\n`);
    });

  db.command("stop")
    .description("stop the cluster")
    .action(async () => {
      const stopped = await stopCluster(strataHome());
      process.stdout.write(stopped ? "stopped\n" : "not running\n");
    });

  db.command("status")
    .option("--json", "print JSON for scripts")
    .description("say whether the cluster exists and runs")
    .action(async (opts: { json?: boolean }) => {
      const s = await clusterStatus(strataHome());
      if (opts.json) return printJson(s);
      if (!s.initialized) process.stdout.write(`no cluster in ${strataHome()} yet (strata db start creates one)\n`);
      else process.stdout.write(s.running ? `running on 127.0.0.1:${s.port} (pid ${s.pid})\n` : "stopped\n");
    });

  db.command("url")
    .description('print the connection URL (starting the cluster if needed), e.g. psql "$(strata db url)"')
    .action(async () => {
      const info = await ensureCluster(strataHome());
      process.stdout.write(`${info.url}\n`);
    });
}
