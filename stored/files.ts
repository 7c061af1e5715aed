// Reading a version's files: listing under a prefix (walking only the subtree the
// prefix names) and where each file's chunks live.

import { type Bytes, emit, type SqlArray, query } from "./host";
import { folderTree, splitPrefix } from "./treepaths";
import { jitOff, restoreJit } from "./nojit";
import { findVersion } from "./versions";

interface FileRow {
  path: string;
  kind: string;
  size: number;
  content_hash: Bytes;
  target: string | undefined;
}

/** Files and symlinks of a version whose path starts with `prefix`, in path order. */
export function ls(dataset: string | undefined, tag: string | undefined, prefix: string | undefined): void {
  const v = findVersion(dataset, tag);
  const { folders, rest, base } = splitPrefix(prefix);
  const tree = folderTree(v.content_hash, folders);
  if (tree === undefined) return;
  const jit = jitOff();
  const rows = query<FileRow>(
    `with recursive walk (path, kind, hash, size, target) as (
       select $2 || e.name, e.kind, e.hash, e.size, e.target
       from strata.tree_entries e where e.tree = $1 and starts_with(e.name, $3)
       union all
       select w.path || '/' || e.name, e.kind, e.hash, e.size, e.target
       from walk w join strata.tree_entries e on e.tree = w.hash where w.kind = 'dir')
     select path, kind, size, hash as content_hash, target from walk where kind <> 'dir' order by path collate "C"`,
    ["bytea", "text", "text"],
    tree,
    base,
    rest,
  );
  restoreJit(jit);
  for (const r of rows) emit(r.path, r.kind, r.size, r.content_hash, r.target);
}

/** Every chunk of the given file contents, in order, with the pack it lives in. */
export function blobChunks(blobs: SqlArray<Bytes> | undefined): void {
  if (blobs === undefined) return;
  const rows = query<{ blob: Bytes; seq: number; chunk: Bytes; size: number; pack: Bytes; pack_offset: number; stored_size: number }>(
    `select b.hash as blob, i + 1 as seq, c.hash as chunk, c.size, p.hash as pack, c.pack_offset, c.stored_size
     from (select distinct h from unnest($1::bytea[]) h) u
     join strata.blobs b on b.hash = u.h
     cross join lateral generate_series(0, octet_length(b.chunks) / 32 - 1) i
     join strata.chunks c on c.hash = substring(b.chunks from i * 32 + 1 for 32)
     join strata.packs p on p.id = c.pack_id
     order by b.hash, i`,
    ["bytea[]"],
    blobs,
  );
  for (const r of rows) emit(r.blob, r.seq, r.chunk, r.size, r.pack, r.pack_offset, r.stored_size);
}
