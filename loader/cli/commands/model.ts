import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import { makeHomeIfMissing } from "../../home.js";
import { type AliasTarget, parseModelRef } from "../../strata.js";
import { withStrata } from "../context.js";
import { formatBytes, formatTime, printJson, printTable, say, warn } from "../output.js";
import { progressBar } from "../progress.js";
import { checkMetadata } from "./push.js";

/** "3" -> 3; "3=0.9,4=0.1" -> {"3": 0.9, "4": 0.1}. */
export function aliasTarget(text: string): number | Record<string, number> {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const [v, w, ...rest] = part.split("=");
    const weight = Number(w);
    if (v === undefined || w === undefined || rest.length > 0 || !/^[0-9]+$/.test(v.trim()) || w.trim() === "" || !Number.isFinite(weight))
      throw new StrataError(`"${part}" is not VERSION=WEIGHT (write 3, or 3=0.9,4=0.1)`, "usage");
    out[v.trim()] = weight;
  }
  return out;
}

function showTargets(targets: AliasTarget[]): void {
  const t = targets[0];
  if (t === undefined) return;
  say(`${t.model}@${t.alias} -> ${targets.map((x) => (targets.length > 1 ? `${x.version} (${x.weight})` : String(x.version))).join(", ")}`);
}

export function register(program: Command): void {
  const model = program.command("model").description("the model registry: push versions, aliases, rollback, checkout (deploy)");

  model
    .command("push")
    .argument("<path>", "a folder or a file: the model's files")
    .requiredOption("--model <name>", "the model (created when missing)")
    .option("--run <run>", "the run that produced it (its UUID): recorded as lineage")
    .option("-m, --message <text>", "what this version is")
    .option("--metadata <json>", "a JSON object stored with the version")
    .option("--json", "print JSON for scripts")
    .description("push a model version (1, 2, ...) through the same path as data: chunks dedup against data and other models")
    .action(async (path: string, opts: { model: string; run?: string; message?: string; metadata?: string; json?: boolean }) => {
      if (opts.metadata !== undefined) checkMetadata(opts.metadata);
      const bar = progressBar("push", !opts.json);
      const made = makeHomeIfMissing();
      if (made !== undefined) warn(`made a Strata home in ${made} (its database and chunk store hold what you push)`);
      const r = await withStrata(async (s) => {
        const run = opts.run === undefined ? undefined : (await s.run(opts.run)).runId;
        return s
          .pushModel(path, {
            model: opts.model,
            run,
            message: opts.message,
            metadata: opts.metadata,
            onProgress: (p) =>
              bar.update(p.bytes, p.bytesTotal, () => ({
                files: `${p.files}/${p.filesTotal} files`,
                extra: `${formatBytes(p.newBytes)} new`,
              })),
          })
          .finally(() => bar.stop());
      });
      if (opts.json) return printJson(r);
      const v = r.modelVersion;
      say(`${v.node}: ${v.fileCount} files, ${formatBytes(v.size)}; ${formatBytes(r.newBytes)} new in ${r.packs} packs`);
    });

  model
    .command("list")
    .option("--json", "print JSON for scripts")
    .description("models, with their latest version and aliases")
    .action(async (opts: { json?: boolean }) => {
      const list = await withStrata((s) => s.models());
      if (opts.json) return printJson(list);
      printTable(
        ["MODEL", "VERSIONS", "LATEST", "LATEST AT", "ALIASES"],
        list.map((m) => [m.name, String(m.versionCount), String(m.latestVersion ?? ""), formatTime(m.latestAt), m.aliases]),
        new Set(["VERSIONS", "LATEST"]),
      );
    });

  model
    .command("versions")
    .argument("<model>", "model name")
    .option("--json", "print JSON for scripts")
    .description("versions of a model, newest first")
    .action(async (name: string, opts: { json?: boolean }) => {
      const list = await withStrata((s) => s.modelVersions(name));
      if (opts.json) return printJson(list);
      printTable(
        ["VERSION", "FILES", "SIZE", "NEW", "RUN", "CREATED", "ALIASES", "MESSAGE"],
        list.map((v) => [
          String(v.version),
          String(v.fileCount),
          formatBytes(v.size),
          formatBytes(v.newBytes),
          v.runId === null ? "" : `${v.runName} ${v.runId.slice(0, 8)}`,
          formatTime(v.createdAt),
          v.aliases,
          v.message ?? "",
        ]),
        new Set(["VERSION", "FILES", "SIZE", "NEW"]),
      );
    });

  model
    .command("alias")
    .argument("<model>", "model name")
    .argument("<alias>", "alias name (production, staging, ...)")
    .argument("<target>", "a version (3), or a split VERSION=WEIGHT,... summing to 1 (3=0.9,4=0.1)")
    .option("--json", "print JSON for scripts")
    .description("point an alias at a version, or split its traffic; every move is kept")
    .action(async (name: string, alias: string, target: string, opts: { json?: boolean }) => {
      const t = await withStrata((s) => s.setAlias(name, alias, aliasTarget(target)));
      if (opts.json) return printJson(t);
      showTargets(t);
    });

  model
    .command("rollback")
    .argument("<model>", "model name")
    .argument("<alias>", "alias name")
    .option("--json", "print JSON for scripts")
    .description("return an alias to its targets before its latest move")
    .action(async (name: string, alias: string, opts: { json?: boolean }) => {
      const t = await withStrata((s) => s.rollbackAlias(name, alias));
      if (opts.json) return printJson(t);
      showTargets(t);
    });

  model
    .command("resolve")
    .argument("<ref>", "NAME@ALIAS")
    .option("--key <key>", "routing key (a user id): the same key always gets the same version")
    .option("--json", "print JSON for scripts")
    .description("the version an alias serves (to a routing key)")
    .action(async (ref: string, opts: { key?: string; json?: boolean }) => {
      const r = parseModelRef(ref);
      if (r.alias === undefined) throw new StrataError("resolve takes NAME@ALIAS", "usage");
      const v = await withStrata((s) => s.resolveAlias(r.model, r.alias!, opts.key));
      if (opts.json) return printJson({ model: r.model, alias: r.alias, version: v });
      say(String(v));
    });

  model
    .command("history")
    .argument("<model>", "model name")
    .argument("[alias]", "only this alias")
    .option("--json", "print JSON for scripts")
    .description("every move of a model's aliases: who, when, from what to what")
    .action(async (name: string, alias: string | undefined, opts: { json?: boolean }) => {
      const moves = await withStrata((s) => s.aliasHistory(name, alias));
      if (opts.json) return printJson(moves);
      const targets = (t: Record<string, string> | null) =>
        t === null
          ? "-"
          : Object.entries(t)
              .map(([v, w]) => (Number(w) === 1 ? v : `${v} (${w})`))
              .join(", ");
      printTable(
        ["ID", "ALIAS", "ACTION", "FROM", "TO", "BY", "AT"],
        moves.map((m) => [String(m.id), m.alias, m.action, targets(m.from), targets(m.to), m.changedBy, formatTime(m.changedAt)]),
        new Set(["ID"]),
      );
    });

  model
    .command("checkout")
    .argument("<ref>", "NAME@ALIAS, NAME/N, or NAME (the latest version)")
    .argument("<dir>", "folder (an earlier checkout there is switched: only changed files are written)")
    .option("--key <key>", "for a split alias: the routing key whose version to check out (default: the primary target)")
    .option("--force", "overwrite files changed here (they are listed)")
    .option("--json", "print JSON for scripts")
    .description("write a model version's files into a folder, verified: the deploy step")
    .action(async (ref: string, dir: string, opts: { key?: string; force?: boolean; json?: boolean }) => {
      const r = await withStrata((s) => s.checkoutModel(parseModelRef(ref), dir, { routingKey: opts.key, force: opts.force }));
      if (opts.json) return printJson(r);
      say(
        `${r.modelVersion.node} in ${dir}: ${r.filesWritten} files written (${formatBytes(r.bytesWritten)}), ` +
          `${r.filesUnchanged} unchanged, ${r.filesDeleted} deleted`,
      );
      for (const p of r.overwritten) warn(`overwrote ${p} (--force)`);
    });
}
