// Models, their versions and aliases as the SQL API returns them (strata.v_models,
// v_model_versions, v_aliases, v_alias_history): row shapes shared by the push (which
// commits model versions) and the registry's operations (registry.ts).

export interface ModelVersionInfo {
  id: number;
  model: string;
  version: number;
  /** model:NAME/N */
  node: string;
  /** Hex SHA-256 of the root tree. */
  contentHash: string;
  fileCount: number;
  size: number;
  newBytes: number;
  /** The run that produced it. */
  runId: string | null;
  runName: string | null;
  message: string | null;
  metadata: Record<string, unknown>;
  author: string;
  createdAt: Date;
  /** Aliases serving it now, e.g. "production (0.9), staging". */
  aliases: string;
}

/** A row of strata.v_model_versions as a ModelVersionInfo. */
export function modelVersionInfo(r: Record<string, unknown>): ModelVersionInfo {
  return {
    id: r.id as number,
    model: r.model as string,
    version: r.version as number,
    node: r.node as string,
    contentHash: r.content_hash as string,
    fileCount: r.file_count as number,
    size: r.size as number,
    newBytes: r.new_bytes as number,
    runId: r.run_id as string | null,
    runName: r.run_name as string | null,
    message: r.message as string | null,
    metadata: r.metadata as Record<string, unknown>,
    author: r.author as string,
    createdAt: r.created_at as Date,
    aliases: r.aliases as string,
  };
}

/** One target of an alias (a row of strata.v_aliases). */
export interface AliasTarget {
  model: string;
  alias: string;
  version: number;
  /** Its share of traffic, as exact decimal text ("0.9"). */
  weight: string;
  isPrimary: boolean;
  updatedAt: Date;
}

export function aliasTarget(r: Record<string, unknown>): AliasTarget {
  return {
    model: r.model as string,
    alias: r.alias as string,
    version: r.version as number,
    weight: String(r.weight),
    isPrimary: r.is_primary as boolean,
    updatedAt: r.updated_at as Date,
  };
}
