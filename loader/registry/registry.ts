// The model registry from the Node side: models and their versions, aliases (set, split
// by weights, rolled back, resolved for a routing key), their history, and the deploy
// step: checking a model version (or what an alias serves) out into a folder through the
// same checkout as data, so a rollback plus checkout rewrites only the files that differ.
// Pushing a model version is push/push.ts's pushModel.

import { type CheckoutOptions, type CheckoutResult, checkoutSnapshot } from "../checkout/index.js";
import { StrataError } from "../errors.js";
import type { Session } from "../session.js";
import { type AliasTarget, aliasTarget, type ModelVersionInfo, modelVersionInfo } from "./info.js";

export interface ModelInfo {
  id: number;
  name: string;
  description: string | null;
  owner: string;
  createdAt: Date;
  versionCount: number;
  latestVersion: number | null;
  latestAt: Date | null;
  aliases: string;
}

/** NAME (its latest version), NAME/N (version N) or NAME@ALIAS (what the alias serves). */
export interface ModelRef {
  model: string;
  version?: number;
  alias?: string;
}

export function parseModelRef(ref: string): ModelRef {
  const at = ref.lastIndexOf("@");
  if (at >= 0) return { model: ref.slice(0, at), alias: ref.slice(at + 1) };
  const slash = ref.lastIndexOf("/");
  if (slash < 0) return { model: ref };
  const n = ref.slice(slash + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(n)) throw new StrataError(`"${n}" is not a model version number (write NAME/N or NAME@ALIAS)`, "usage");
  return { model: ref.slice(0, slash), version: Number(n) };
}

export async function models(s: Session): Promise<ModelInfo[]> {
  const rows = await s.query<Record<string, unknown>>("select * from strata.v_models order by name");
  return rows.map((r) => ({
    id: r.id as number,
    name: r.name as string,
    description: r.description as string | null,
    owner: r.owner as string,
    createdAt: r.created_at as Date,
    versionCount: r.version_count as number,
    latestVersion: r.latest_version as number | null,
    latestAt: r.latest_at as Date | null,
    aliases: r.aliases as string,
  }));
}

/** Versions of a model, newest first. */
export async function modelVersions(s: Session, model: string): Promise<ModelVersionInfo[]> {
  return (await s.query<Record<string, unknown>>("select * from strata.model_history($1)", [model])).map(modelVersionInfo);
}

/** The version a reference names; for an alias, the version it sends `routingKey` to (its primary target without one). */
export async function modelVersion(s: Session, ref: ModelRef, routingKey?: string): Promise<ModelVersionInfo> {
  const version = ref.alias !== undefined ? await resolveAlias(s, ref.model, ref.alias, routingKey) : (ref.version ?? null);
  const rows = await s.query<Record<string, unknown>>("select * from strata.model_version($1, $2)", [ref.model, version]);
  return modelVersionInfo(rows[0]!);
}

/** Point an alias at one version, or split it by weights ({3: 0.9, 4: 0.1}). */
export async function setAlias(s: Session, model: string, alias: string, target: number | Record<string, number>): Promise<AliasTarget[]> {
  const rows =
    typeof target === "number"
      ? await s.query<Record<string, unknown>>("select * from strata.set_alias($1, $2, $3)", [model, alias, target])
      : await s.query<Record<string, unknown>>("select * from strata.set_alias($1, $2, null, $3::jsonb)", [
          model,
          alias,
          JSON.stringify(target),
        ]);
  return rows.map(aliasTarget);
}

/** Return an alias to the targets before its latest move. */
export async function rollbackAlias(s: Session, model: string, alias: string): Promise<AliasTarget[]> {
  return (await s.query<Record<string, unknown>>("select * from strata.rollback_alias($1, $2)", [model, alias])).map(aliasTarget);
}

/** The version an alias sends `routingKey` to (deterministic); its primary target without a key. */
export async function resolveAlias(s: Session, model: string, alias: string, routingKey?: string): Promise<number> {
  const [r] = await s.query<{ v: number }>("select strata.resolve_alias($1, $2, $3) as v", [model, alias, routingKey ?? null]);
  return r!.v;
}

export interface AliasMove {
  id: number;
  model: string;
  alias: string;
  action: "set" | "rollback";
  from: Record<string, string> | null;
  to: Record<string, string>;
  version: number | null;
  undoes: number | null;
  changedBy: string;
  changedAt: Date;
}

/** Every move of a model's aliases (of one alias when given), oldest first. */
export async function aliasHistory(s: Session, model: string, alias?: string): Promise<AliasMove[]> {
  await s.query("select * from strata.model_history($1) limit 0", [model]); // an unknown model is an error, not an empty list
  const rows = await s.query<Record<string, unknown>>(
    "select * from strata.v_alias_history where model = $1 and ($2::text is null or alias = $2) order by id",
    [model, alias ?? null],
  );
  const weights = (j: unknown): Record<string, string> | null =>
    j === null ? null : Object.fromEntries(Object.entries(j as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  return rows.map((r) => ({
    id: Number(r.id),
    model: r.model as string,
    alias: r.alias as string,
    action: r.action as "set" | "rollback",
    from: weights(r.from_targets),
    to: weights(r.to_targets)!,
    version: r.version as number | null,
    undoes: r.undoes === null ? null : Number(r.undoes),
    changedBy: r.changed_by as string,
    changedAt: r.changed_at as Date,
  }));
}

/** The current targets of a model's aliases. */
export async function aliases(s: Session, model: string): Promise<AliasTarget[]> {
  await s.query("select * from strata.model_history($1) limit 0", [model]);
  return (await s.query<Record<string, unknown>>("select * from strata.v_aliases where model = $1 order by alias, version", [model])).map(
    aliasTarget,
  );
}

/**
 * Write a model version's files into `dir` (the deploy step): NAME/N, NAME, or NAME@ALIAS
 * (the version the alias sends `routingKey` to, its primary target without one). An
 * earlier checkout there is switched: only files that differ are written.
 */
export async function checkoutModel(
  s: Session,
  ref: ModelRef,
  dir: string,
  opts: CheckoutOptions & { routingKey?: string } = {},
): Promise<CheckoutResult & { modelVersion: ModelVersionInfo }> {
  await s.checkStore();
  const v = await modelVersion(s, ref, opts.routingKey);
  const r = await checkoutSnapshot(
    s,
    { dataset: v.model, tag: String(v.version), id: v.id, contentHash: v.contentHash, model: true },
    dir,
    opts,
  );
  return { ...r, modelVersion: v };
}
