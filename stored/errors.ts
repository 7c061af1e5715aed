// Every error Strata raises on purpose in SQL, with its own SQLSTATE (class "ST"), in
// one place. Shared by the stored logic (which raises them) and the loader (which maps
// each to an exit code in loader/errors.ts and prints it as one line). Callers match on
// the code, never on message text. A code once given is never reused for another error.

export const Sqlstate = {
  /** A dataset, tag or other name breaks the naming rule. */
  invalidName: "ST001",
  /** create_dataset for a name that is taken. */
  datasetExists: "ST002",
  /** No dataset by that name. */
  unknownDataset: "ST003",
  /** No version with that tag in the dataset. */
  unknownVersion: "ST004",
  /** The tag is already used by another version of the dataset. */
  tagTaken: "ST005",
  /** A commit references chunks, file contents or trees the database does not have (push again). */
  missingObject: "ST006",
  /** Committed history (versions, trees, contents, chunks, packs, lineage) cannot be changed. */
  historyImmutable: "ST007",
  /** An argument is malformed (wrong length hash, negative size, bad json shape, ...). */
  invalidArgument: "ST008",
  // ST009 was "parent mismatch", never raised; retired.
  /** A row-level diff was asked for a file that has no row hashes. */
  notTabular: "ST010",
  /** What a client sent does not verify: a tree that does not hash to its entries, sizes that do not add up. */
  integrityFailure: "ST011",
  /** No file at that path in the version(s). */
  unknownPath: "ST012",
  /** No such login (role) on the server. */
  unknownRole: "ST013",
  // ST020-ST039: experiments, models and lineage.
  /** No run with that id. */
  unknownRun: "ST020",
  /** No model by that name. */
  unknownModel: "ST021",
  /** No such version of the model. */
  unknownModelVersion: "ST022",
  /** The model has no alias by that name. */
  unknownAlias: "ST023",
  /** A run's status moves only once: running -> succeeded, failed or killed. */
  invalidStatusMove: "ST024",
  /** Metrics are logged only while a run is running. */
  runFinished: "ST025",
  /** A metric step already holds another value. */
  metricConflict: "ST026",
  /** Alias weights must be positive and sum to 1. */
  invalidWeights: "ST027",
  /** The edge would close a cycle in the lineage graph. */
  lineageCycle: "ST028",
  /** A lineage node is not written dataset:NAME@TAG, run:UUID or model:NAME/N. */
  invalidNode: "ST029",
  /** A rollback of an alias that has no earlier target. */
  noEarlierTarget: "ST030",
  /** A metric name, step or value is malformed (NaN and infinities are refused). */
  invalidMetric: "ST031",
  /** Deleting a version (or dataset) that a run, a model version or an alias uses, without force. */
  versionInUse: "ST040",
  /** apply_retention for a dataset that has no retention policy. */
  noRetentionPolicy: "ST041",
  /** Another gc is running on this database. */
  gcRunning: "ST042",
  /** A push open longer than a gc's grace when that gc started: what it reuses may be gone (push again). */
  pushOutlivedGc: "ST043",
} as const;

export type SqlstateName = keyof typeof Sqlstate;
