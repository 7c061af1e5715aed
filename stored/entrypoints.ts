// The SQL surface of the stored logic, declared once. `npm run build` turns each entry
// into a PL/Lua wrapper in schema strata that forwards to `api[name]` in the bundle, and
// generates the bundle's entry (stored/main.ts, scripts/dispatch.ts) that maps each name
// to its implementation: the export of `module` named like the entry in camelCase
// (`_diff_sides` -> diffSides). A missing export, or one whose parameters do not take
// the declared SQL types, fails the build. Plain data, so the Node build can read it too.
//
// Every function runs as the schema's owner (security definer, search_path fixed to
// pg_catalog), the one role that may touch the tables; `access` says which role may call it.
//
// Hashes: views, and functions returning a view's row type, show them as lower-case hex
// text (BI tools cannot show bytea); every other function takes and returns raw 32-byte
// bytea.

export interface SqlArg {
  readonly name: string;
  readonly type: string;
  /** SQL default expression; arguments after one with a default need one too. */
  readonly default?: string;
}

export interface EntryPoint {
  readonly name: string;
  /** The module of stored/ that exports the implementation, e.g. "chunks" for stored/chunks.ts. */
  readonly module: string;
  readonly args: readonly SqlArg[];
  /** SQL return type: `bigint`, `setof strata.v_versions`, `table(a int, b text)`, `trigger`. */
  readonly returns: string;
  readonly volatility: "volatile" | "stable" | "immutable";
  /**
   * Who may call it (sql/95_security.sql grants the roles; every wrapper runs as the
   * schema's owner, the only role that touches tables): strata_reader, strata_writer,
   * strata_admin, or nobody (internal: called by other functions, or a trigger).
   */
  readonly access: "reader" | "writer" | "admin" | "internal";
  /** The planner's row estimate of a set-returning function (PostgreSQL assumes 1000). */
  readonly rows?: number;
  readonly comment: string;
}

export const entryPoints = [
  {
    name: "create_dataset",
    access: "writer",
    module: "datasets",
    args: [
      { name: "name", type: "text" },
      { name: "description", type: "text", default: "null" },
      { name: "chunking", type: "jsonb", default: "null" },
    ],
    returns: "bigint",
    volatility: "volatile",
    comment:
      "Create a dataset and return its id; names are 1-128 of [A-Za-z0-9._-], starting with a letter or digit; " +
      'chunking {"min", "avg", "max"} in bytes overrides 256 KiB / 1 MiB / 4 MiB.',
  },
  {
    name: "missing_chunks",
    access: "writer",
    module: "chunks",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "setof bytea",
    volatility: "volatile",
    comment:
      "The chunk hashes (SHA-256) of the argument that the database does not have, or holds in a damaged pack or one gc is deleting. The packs of the others count as used now: gc leaves them alone for its grace.",
  },
  {
    name: "missing_blobs",
    access: "writer",
    module: "chunks",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "setof bytea",
    volatility: "stable",
    comment: "The file content hashes of the argument that the database does not have.",
  },
  {
    name: "missing_trees",
    access: "writer",
    module: "chunks",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "setof bytea",
    volatility: "stable",
    comment: "The tree hashes of the argument that the database does not have.",
  },
  {
    name: "missing_row_hashes",
    access: "writer",
    module: "chunks",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "setof bytea",
    volatility: "stable",
    comment: "The file contents of the argument that have no row hashes under the current rule (2): the tabular files a push must hash.",
  },
  {
    name: "unsound_blobs",
    access: "writer",
    module: "chunks",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "setof bytea",
    volatility: "volatile",
    comment:
      "The file contents of the argument that the database lacks, or that use a chunk it lacks or holds in a damaged pack: the files a push must read again though its index vouches for them.",
  },
  {
    name: "register_pack",
    access: "writer",
    module: "chunks",
    args: [
      { name: "pack", type: "bytea" },
      { name: "size", type: "bigint" },
      { name: "chunk_hashes", type: "bytea[]" },
      { name: "chunk_offsets", type: "bigint[]" },
      { name: "chunk_sizes", type: "integer[]" },
      { name: "push", type: "bigint", default: "null" },
      { name: "chunk_stored_sizes", type: "integer[]", default: "null" },
      { name: "chunk_codecs", type: "smallint[]", default: "null" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      "Record a stored pack object and its chunks (call only after the object is stored): each chunk's hash (SHA-256 of its raw bytes), offset, raw size, stored size and codec (0 raw, 1 zstd; both null: every chunk raw). Returns the count of new chunks, which push (push_begin's id) counts as its own.",
  },
  {
    name: "push_begin",
    access: "writer",
    module: "commits",
    args: [
      { name: "dataset", type: "text" },
      { name: "parent", type: "text", default: "null" },
      { name: "tag", type: "text", default: "null" },
    ],
    returns: "table(push bigint, chunk_min integer, chunk_avg integer, chunk_max integer)",
    rows: 1,
    volatility: "volatile",
    comment:
      "Open a push to dataset (created at commit when missing): checks the tag (free, not v1, v2, ...) and the parent before anything is uploaded; returns the push id and the chunk sizes to cut files with.",
  },
  {
    name: "put_blobs",
    access: "writer",
    module: "objects",
    args: [
      { name: "hashes", type: "bytea[]" },
      { name: "sizes", type: "bigint[]" },
      { name: "chunk_lists", type: "bytea[]" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      "Store file contents: SHA-256 of the file, size, and its chunk hashes back to back; every chunk must be registered and the sizes must add up. Returns how many were new.",
  },
  {
    name: "put_trees",
    access: "writer",
    module: "objects",
    args: [
      { name: "hashes", type: "bytea[]" },
      { name: "file_counts", type: "bigint[]" },
      { name: "sizes", type: "bigint[]" },
      { name: "entry_trees", type: "integer[]" },
      { name: "entry_names", type: "text[]" },
      { name: "entry_kinds", type: "text[]" },
      { name: "entry_executable", type: "boolean[]" },
      { name: "entry_hashes", type: "bytea[]" },
      { name: "entry_sizes", type: "bigint[]" },
      { name: "entry_targets", type: "text[]" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      "Store Merkle trees (hash, files and bytes below) with their entries (entry_trees: 1-based position of each entry's tree in hashes); each is verified: its hash, symlink hashes against targets, sizes and counts against contents and subtrees, which must be stored or in the batch. Returns how many trees were new.",
  },
  {
    name: "claim_store",
    access: "writer",
    module: "commits",
    args: [{ name: "proposed", type: "text" }],
    returns: "table(store_id text, claimed boolean, has_chunks boolean)",
    rows: 1,
    volatility: "volatile",
    comment:
      "The id of the object store this database's chunks live in: the first proposal becomes it. Says whether this call made it and whether the database has chunks.",
  },
  {
    name: "commit_version",
    access: "writer",
    module: "commits",
    args: [
      { name: "dataset", type: "text" },
      { name: "content_hash", type: "bytea" },
      { name: "parent", type: "text", default: "null" },
      { name: "tag", type: "text", default: "null" },
      { name: "message", type: "text", default: "null" },
      { name: "metadata", type: "jsonb", default: "null" },
      { name: "push", type: "bigint", default: "null" },
      { name: "derived_from", type: "text[]", default: "null" },
    ],
    returns: "setof strata.v_versions",
    volatility: "volatile",
    comment:
      "Make the stored tree content_hash a new version of dataset (created when missing) after parent (default: the latest); tags v1, v2, ... when tag is null; new bytes are those push stored first; derived_from names versions of other datasets it was made from (dataset@tag), recorded as lineage.",
  },
  {
    name: "version_history",
    access: "reader",
    module: "versions",
    args: [{ name: "dataset", type: "text" }],
    returns: "setof strata.v_versions",
    volatility: "stable",
    comment:
      "The versions of a dataset, newest first; deleted versions are left out (strata.v_versions has them, with who deleted them and when).",
  },
  {
    name: "version",
    access: "reader",
    module: "versions",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag", type: "text", default: "null" },
    ],
    returns: "setof strata.v_versions",
    volatility: "stable",
    comment: "One version of a dataset by tag (the latest when tag is null).",
  },
  {
    name: "_resolve_prefix",
    access: "internal",
    module: "prefixes",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag", type: "text" },
      { name: "prefix", type: "text" },
    ],
    returns: "table(tree bytea, base text, rest text)",
    volatility: "stable",
    rows: 1,
    comment:
      "For strata.ls (sql/30_files.sql): the tree of the folder prefix names in version tag (the latest when null; tree null where the prefix names no folder), the folder path and the name start; raises on unknown datasets and tags.",
  },
  {
    name: "_history_guard",
    access: "internal",
    module: "history",
    args: [],
    returns: "trigger",
    volatility: "volatile",
    comment: "Statement trigger: history is not updated, deleted or truncated outside the owner's maintenance window.",
  },
  {
    name: "_diff_sides",
    access: "internal",
    module: "diffs",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag_a", type: "text" },
      { name: "tag_b", type: "text" },
      { name: "prefix", type: "text" },
      { name: "dataset_b", type: "text" },
    ],
    returns: "table(tree_a bytea, tree_b bytea, base text, rest text)",
    volatility: "stable",
    comment:
      "For strata.diff (sql/20_diffs.sql): the trees under prefix in both versions (null where the prefix names no folder), the folder path and the name start; raises on unknown datasets and tags.",
  },
  {
    name: "diff_summary",
    access: "reader",
    module: "diffs",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag_a", type: "text" },
      { name: "tag_b", type: "text" },
      { name: "prefix", type: "text", default: "''" },
      { name: "dataset_b", type: "text", default: "null" },
    ],
    returns:
      "table(files_added bigint, files_removed bigint, files_modified bigint, files_type_changed bigint, bytes_added bigint, bytes_removed bigint, chunks_common bigint, chunks_only_a bigint, chunks_only_b bigint, bytes_common bigint, bytes_only_a bigint, bytes_only_b bigint, similarity double precision)",
    volatility: "stable",
    comment:
      "Counts of strata.diff, and chunk uses (a chunk used k times counts k times) common to both versions or only in one, with their bytes; similarity = common bytes / union bytes (1 when both are empty).",
  },
  {
    name: "record_tabular_rows",
    access: "writer",
    module: "rows",
    args: [
      { name: "blob", type: "bytea" },
      { name: "format", type: "text" },
      { name: "header", type: "text" },
      { name: "row_hashes", type: "bigint[]" },
      { name: "hashing", type: "smallint", default: "1" },
    ],
    returns: "bigint",
    volatility: "volatile",
    comment:
      "Record the row hashes (first 8 bytes of each row's SHA-256, signed) of tabular file contents (format csv with its header line, or jsonl with a null header) under hashing rule 2 (canonical records; 1: raw row bytes, replaced by 2); idempotent; returns the row count.",
  },
  {
    name: "_diff_rows_sides",
    access: "internal",
    module: "rows",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag_a", type: "text" },
      { name: "tag_b", type: "text" },
      { name: "path", type: "text" },
      { name: "dataset_b", type: "text" },
    ],
    returns: "table(blob_a bytea, blob_b bytea)",
    volatility: "stable",
    comment:
      "For strata.diff_rows (sql/20_diffs.sql): the contents of the tabular file at path in both versions (null where missing); raises ST010 when it is not tabular.",
  },
  {
    name: "diff_rows_summary",
    access: "reader",
    module: "rows",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag_a", type: "text" },
      { name: "tag_b", type: "text" },
      { name: "path", type: "text" },
      { name: "dataset_b", type: "text", default: "null" },
    ],
    returns: "table(rows_a bigint, rows_b bigint, added bigint, removed bigint, unchanged bigint, header_changed boolean)",
    volatility: "stable",
    comment: "Row counts of the tabular file at path in both versions and how many rows were added, removed and kept.",
  },
  {
    name: "grant_role",
    access: "admin",
    module: "roles",
    args: [
      { name: "login", type: "text" },
      { name: "role", type: "text" },
    ],
    returns: "void",
    volatility: "volatile",
    comment: "Make login a member of Strata's role reader, writer or admin (audited).",
  },
  {
    name: "revoke_role",
    access: "admin",
    module: "roles",
    args: [
      { name: "login", type: "text" },
      { name: "role", type: "text" },
    ],
    returns: "void",
    volatility: "volatile",
    comment: "Take Strata's role reader, writer or admin from login (audited).",
  },
  {
    name: "known_chunks",
    access: "writer",
    module: "packs",
    args: [{ name: "hashes", type: "bytea[]" }],
    returns: "table(chunk bytea, pack bytea, pack_size bigint)",
    volatility: "volatile",
    comment:
      "The chunks of the argument stored in sound packs, with their pack and its recorded size: what a push checks exists before it reuses a chunk. Those packs count as used now: gc leaves them alone for its grace.",
  },
  {
    name: "mark_damaged_packs",
    access: "writer",
    module: "packs",
    args: [
      { name: "packs", type: "bytea[]" },
      { name: "reason", type: "text" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      "Record that these packs are missing, of another size, or hold a chunk that does not hash to its name: their chunks count as missing until a push uploads them again (audited). Returns how many were newly marked.",
  },
  // Experiments, models and lineage (stored/experiments.ts, models.ts, lineage.ts; sql/35_lineage.sql).
  {
    name: "start_experiment",
    access: "writer",
    module: "experiments",
    args: [
      { name: "name", type: "text" },
      { name: "inputs", type: "jsonb", default: "null" },
      { name: "params", type: "jsonb", default: "null" },
      { name: "code_ref", type: "text", default: "null" },
    ],
    returns: "uuid",
    volatility: "volatile",
    comment:
      'Start a run and return its UUID: inputs {"train": "clean@v1", "eval": ["holdout@v2"]} (role -> dataset@tag or a list; no tag: the latest, pinned now), params a JSON object, code_ref e.g. a git commit. Records the lineage run -> inputs.',
  },
  {
    name: "log_metrics",
    access: "writer",
    module: "experiments",
    args: [
      { name: "run", type: "text" },
      { name: "metrics", type: "jsonb" },
      { name: "step", type: "bigint", default: "null" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      'Record metric points of a running run: {"loss": 0.3} at step (0 when null), or a batch [{"name", "step", "value"}]; every step is kept, values are finite numbers (NaN and infinities refused); a point sent again with the same value is a no-op. Returns how many points were new.',
  },
  {
    name: "finish_experiment",
    access: "writer",
    module: "experiments",
    args: [
      { name: "run", type: "text" },
      { name: "status", type: "text" },
      { name: "metrics", type: "jsonb", default: "null" },
    ],
    returns: "setof strata.v_runs",
    volatility: "volatile",
    comment:
      'Move a running run to succeeded, failed or killed (once), keeping its final metrics: each logged metric at its last step, with metrics {"name": value} over them.',
  },
  {
    name: "run",
    access: "reader",
    module: "experiments",
    args: [{ name: "run", type: "text" }],
    returns: "setof strata.v_runs",
    volatility: "stable",
    comment: "One run by its UUID.",
  },
  {
    name: "model_push_begin",
    access: "writer",
    module: "models",
    args: [{ name: "model", type: "text" }],
    returns: "table(push bigint, chunk_min integer, chunk_avg integer, chunk_max integer)",
    rows: 1,
    volatility: "volatile",
    comment: "Open a push of a new version of model (created at commit when missing): the push id and the chunk sizes to cut files with.",
  },
  {
    name: "commit_model_version",
    access: "writer",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "content_hash", type: "bytea" },
      { name: "run", type: "text", default: "null" },
      { name: "message", type: "text", default: "null" },
      { name: "metadata", type: "jsonb", default: "null" },
      { name: "push", type: "bigint", default: "null" },
    ],
    returns: "setof strata.v_model_versions",
    volatility: "volatile",
    comment:
      "Make the stored tree content_hash the next version (1, 2, ...) of model (created when missing), produced by run (a UUID) when given.",
  },
  {
    name: "model_version",
    access: "reader",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "version", type: "integer", default: "null" },
    ],
    returns: "setof strata.v_model_versions",
    volatility: "stable",
    comment: "One version of a model (the latest when version is null).",
  },
  {
    name: "model_history",
    access: "reader",
    module: "models",
    args: [{ name: "model", type: "text" }],
    returns: "setof strata.v_model_versions",
    volatility: "stable",
    comment: "The versions of a model, newest first.",
  },
  {
    name: "set_alias",
    access: "writer",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "alias", type: "text" },
      { name: "version", type: "integer", default: "null" },
      { name: "weights", type: "jsonb", default: "null" },
    ],
    returns: "setof strata.v_aliases",
    volatility: "volatile",
    comment:
      'Point alias of model at one version, or split its traffic by weights {"3": 0.9, "4": 0.1} (positive, summing to 1); every move is kept in v_alias_history.',
  },
  {
    name: "rollback_alias",
    access: "writer",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "alias", type: "text" },
    ],
    returns: "setof strata.v_aliases",
    volatility: "volatile",
    comment: "Return alias to the targets before its latest move not yet undone (recorded as a move too).",
  },
  {
    name: "resolve_alias",
    access: "reader",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "alias", type: "text" },
      { name: "routing_key", type: "text", default: "null" },
    ],
    returns: "integer",
    volatility: "stable",
    comment:
      "The version alias sends routing_key to: u = first 52 bits of sha256(model/alias/key) / 2^52; targets in version order own slices of [0, 1) as wide as their weights. No key: the primary target (largest weight).",
  },
  {
    name: "_resolve_model_prefix",
    access: "internal",
    module: "models",
    args: [
      { name: "model", type: "text" },
      { name: "version", type: "integer" },
      { name: "prefix", type: "text" },
    ],
    returns: "table(tree bytea, base text, rest text)",
    volatility: "stable",
    rows: 1,
    comment: "For strata.model_ls: as _resolve_prefix, for a model version (the latest when null).",
  },
  {
    name: "add_edge",
    access: "writer",
    module: "lineage",
    args: [
      { name: "source", type: "text" },
      { name: "relation", type: "text" },
      { name: "target", type: "text" },
    ],
    returns: "bigint",
    volatility: "volatile",
    comment:
      "Record the lineage edge source --relation--> target (the source made from or depending on the target; nodes dataset:NAME@TAG, run:UUID, model:NAME/N), refusing one that would close a cycle. Returns its id.",
  },
  {
    name: "_lineage_start",
    access: "internal",
    module: "lineage",
    args: [
      { name: "node", type: "text" },
      { name: "direction", type: "text" },
      { name: "max_depth", type: "integer" },
    ],
    returns: "table(kind text, id bigint, up boolean, down boolean)",
    volatility: "stable",
    rows: 1,
    comment: "For strata.lineage: the start node and the walks to take, checked (ST029, ST008, the node kind's own not-found errors).",
  },
  {
    name: "_impact_start",
    access: "internal",
    module: "lineage",
    args: [
      { name: "node", type: "text" },
      { name: "path", type: "text" },
    ],
    returns: "table(kind text, id bigint, blob bytea)",
    volatility: "stable",
    rows: 1,
    comment: "For strata.impact: the start node and, with a path, the contents of that file in it.",
  },
  {
    name: "_resolve_file",
    access: "internal",
    module: "lineage",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag", type: "text" },
      { name: "path", type: "text" },
    ],
    returns: "table(blob bytea)",
    volatility: "stable",
    rows: 1,
    comment: "For strata.versions_containing: the contents of the file at path in version tag of dataset (the latest when null).",
  },
  {
    name: "delete_version",
    access: "admin",
    module: "retention",
    args: [
      { name: "dataset", type: "text" },
      { name: "tag", type: "text" },
      { name: "force", type: "boolean", default: "false" },
    ],
    returns: "setof strata.v_versions",
    volatility: "volatile",
    comment:
      "Delete a version: refused (ST040) when a run used it, a model version was trained or evaluated on it, or an alias serves such a model version, unless forced. The row and its lineage stay, with who deleted it and when; the next gc reclaims the bytes only it held. Audited.",
  },
  {
    name: "delete_dataset",
    access: "admin",
    module: "retention",
    args: [
      { name: "name", type: "text" },
      { name: "force", type: "boolean", default: "false" },
    ],
    returns: "setof strata.v_versions",
    volatility: "volatile",
    comment:
      "Delete every version of a dataset (refused like delete_version when one is used, unless forced) and the dataset: it leaves v_datasets; a push to its name starts it again, numbering on. Audited.",
  },
  {
    name: "set_retention",
    access: "admin",
    module: "retention",
    args: [
      { name: "dataset", type: "text" },
      { name: "keep_last", type: "integer", default: "null" },
      { name: "keep_within", type: "interval", default: "null" },
    ],
    returns: "void",
    volatility: "volatile",
    comment:
      "The dataset's retention policy: keep its last keep_last versions and those younger than keep_within (besides the latest, tagged and used ones). Both null removes the policy.",
  },
  {
    name: "apply_retention",
    access: "admin",
    module: "retention",
    args: [
      { name: "dataset", type: "text", default: "null" },
      { name: "dry_run", type: "boolean", default: "false" },
    ],
    returns: "setof strata.retention_decision",
    volatility: "volatile",
    comment:
      "Apply the retention policy of the dataset (of every dataset that has one when null): each live version with why it is kept, kept_because null for those deleted (unless dry_run). Always kept: the latest, versions tagged by hand, and versions a run, model version or alias uses.",
  },
  {
    name: "gc_begin",
    access: "admin",
    module: "gc",
    args: [
      { name: "grace", type: "interval", default: "interval '24 hours'" },
      { name: "repack_below", type: "double precision", default: "0.5" },
      { name: "dry_run", type: "boolean", default: "false" },
    ],
    returns: "table(run bigint, cutoff timestamptz)",
    volatility: "volatile",
    rows: 1,
    comment:
      "Start a gc run on this session (ST042 while another runs): packs created or used within grace (at least an hour) are protected; packs whose live bytes fall below repack_below of their size are repacked. Returns the run id and its cutoff (its start minus the grace). The loader drives the rest: gc_plan, gc_plan_page, gc_live_chunks, gc_repack, gc_mark, gc_dying_page, gc_forget, gc_finish.",
  },
  {
    name: "gc_plan",
    access: "admin",
    module: "gc",
    args: [{ name: "run", type: "bigint" }],
    returns: "table(action text, packs bigint, bytes bigint, live_bytes bigint)",
    volatility: "volatile",
    rows: 2,
    comment:
      "Plan the run from the live versions and model versions: the old packs holding no live chunk (delete) and those whose live bytes are below the threshold (repack), with their bytes and live bytes.",
  },
  {
    name: "gc_plan_page",
    access: "admin",
    module: "gc",
    args: [
      { name: "run", type: "bigint" },
      { name: "after", type: "bigint" },
      { name: "n", type: "integer" },
    ],
    returns: "table(pack_id bigint, pack bytea, action text, size bigint, live_bytes bigint)",
    volatility: "stable",
    comment: "The run's planned packs with pack id above after (from the start when null), n at most, in id order.",
  },
  {
    name: "gc_live_chunks",
    access: "admin",
    module: "gc",
    args: [
      { name: "run", type: "bigint" },
      { name: "packs", type: "bigint[]" },
    ],
    returns: "table(pack_id bigint, chunk bytea, pack_offset bigint, size integer)",
    volatility: "stable",
    comment: "The live chunks still in these packs the run repacks, in pack and offset order: what the loader copies.",
  },
  {
    name: "gc_repack",
    access: "admin",
    module: "gc",
    args: [
      { name: "run", type: "bigint" },
      { name: "pack", type: "bytea" },
      { name: "size", type: "bigint" },
      { name: "chunk_hashes", type: "bytea[]" },
      { name: "chunk_offsets", type: "bigint[]" },
      { name: "chunk_sizes", type: "integer[]" },
    ],
    returns: "integer",
    volatility: "volatile",
    comment:
      "Record a stored pack of copied live chunks (their stored bytes as they were: chunk_sizes are stored sizes, codecs unchanged) and point their rows at it, in one transaction; returns how many rows moved. Audited.",
  },
  {
    name: "gc_mark",
    access: "admin",
    module: "gc",
    args: [{ name: "run", type: "bigint" }],
    returns: "table(packs bigint, bytes bigint)",
    volatility: "volatile",
    rows: 1,
    comment:
      "Mark the run's planned packs dying, each checked again: not used since the cutoff, no live chunk left in it. Their chunks count as missing from then on. Audited.",
  },
  {
    name: "gc_dying_page",
    access: "admin",
    module: "gc",
    args: [
      { name: "run", type: "bigint" },
      { name: "after", type: "bigint" },
      { name: "n", type: "integer" },
    ],
    returns: "table(pack_id bigint, pack bytea, size bigint)",
    volatility: "stable",
    comment: "Packs marked dying (by this run, or by one that did not finish) with pack id above after, n at most: the objects to delete.",
  },
  {
    name: "gc_forget",
    access: "admin",
    module: "gc",
    args: [{ name: "run", type: "bigint" }],
    returns: "table(pack_rows bigint, chunk_rows bigint, blob_rows bigint, tree_rows bigint)",
    volatility: "volatile",
    rows: 1,
    comment:
      "Once every dying pack's object is deleted: drop their rows and their chunks', then the contents no live version uses that lost a chunk, and the trees holding them. Audited.",
  },
  {
    name: "gc_finish",
    access: "admin",
    module: "gc",
    args: [
      { name: "run", type: "bigint" },
      { name: "summary", type: "jsonb", default: "null" },
    ],
    returns: "void",
    volatility: "volatile",
    comment: "Close the run with what it did (a dry run: what it would do) and release the gc lock. Audited unless a dry run.",
  },
] as const satisfies readonly EntryPoint[];

export type EntryName = (typeof entryPoints)[number]["name"];
