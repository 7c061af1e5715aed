// Every error Strata raises on purpose, with its own SQLSTATE (class "ST"), in one place.
// Shared by the stored logic (which raises them) and the loader (which turns them into
// one-line CLI messages). Callers match on the code, never on message text.

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
  /** A commit references chunks, file contents or trees the database does not have. */
  missingObject: "ST006",
  /** Committed versions are immutable. */
  versionImmutable: "ST007",
  /** An argument is malformed (wrong length hash, negative size, bad json shape, ...). */
  invalidArgument: "ST008",
  /** The parent given to a commit is not the dataset's head, or concurrent pushes raced. */
  parentMismatch: "ST009",
  /** A row-level diff was asked for a file that has no row hashes. */
  notTabular: "ST010",
} as const;

export type SqlstateName = keyof typeof Sqlstate;
