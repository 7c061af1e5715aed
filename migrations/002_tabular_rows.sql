-- Up Migration
-- Row hashes of tabular files (CSV with a header, JSON Lines), keyed by file content so
-- a file that did not change between versions costs nothing more. Row i of the file
-- (1-based, header excluded) has hash row_hashes[i]: the first 8 bytes of the SHA-256
-- of the row's bytes, as a signed bigint.

create table strata.tabular_rows (
  blob       bytea primary key references strata.blobs (hash),
  format     text not null check (format in ('csv', 'jsonl')),
  header     text,                                   -- the CSV header line; null for JSON Lines
  row_count  bigint not null check (row_count >= 0),
  row_hashes bigint[] not null,
  check (cardinality(row_hashes) = row_count)
);
