// Committing small versions straight through the SQL API, without the loader or an
// object store: contents are cut into fixed 4 KiB pieces (so files that share pieces
// share chunks), the chunks are registered in a fake pack (its bytes are never read),
// and the Merkle trees are built and staged exactly as commit_version verifies them.

import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";

export type FileSpec = Buffer | string | { symlink: string };
export type Files = Record<string, FileSpec>;

export const PIECE = 4096;

export interface CommitOptions {
  tag?: string;
  parent?: string;
  message?: string;
  /** Piece size used to cut contents into chunks (default 4 KiB). */
  piece?: number;
}

export interface Committed {
  tag: string;
  /** Hex SHA-256 of the root tree. */
  root: string;
  /** Blob hash of each regular file, by path. */
  blobs: Map<string, Buffer>;
}

const sha256 = (b: Buffer | string): Buffer => createHash("sha256").update(b).digest();

interface Entry {
  name: string;
  kind: "file" | "dir" | "symlink";
  hash: Buffer;
  size: number;
  target: string | null;
}

interface TreeNode {
  files: Map<string, FileSpec>;
  dirs: Map<string, TreeNode>;
}

function buildNode(files: Files): TreeNode {
  const root: TreeNode = { files: new Map(), dirs: new Map() };
  for (const [path, spec] of Object.entries(files)) {
    const parts = path.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..")) throw new Error(`bad path ${path}`);
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (node.files.has(dir)) throw new Error(`${path}: ${dir} is a file`);
      let next = node.dirs.get(dir);
      if (!next) {
        next = { files: new Map(), dirs: new Map() };
        node.dirs.set(dir, next);
      }
      node = next;
    }
    const leaf = parts[parts.length - 1]!;
    if (node.dirs.has(leaf)) throw new Error(`${path} is a folder`);
    node.files.set(leaf, spec);
  }
  return root;
}

const byteOrder = (a: Entry, b: Entry) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

/** Tree hash: SHA-256 over the sorted entries of kind byte + name + NUL + hash + 8-byte BE size. */
export function treeHash(entries: Entry[]): Buffer {
  const h = createHash("sha256");
  for (const e of [...entries].sort(byteOrder)) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(BigInt(e.size));
    h.update(Buffer.from(e.kind === "file" ? "f" : e.kind === "dir" ? "d" : "l"));
    h.update(Buffer.from(e.name, "utf8"));
    h.update(Buffer.from([0]));
    h.update(e.hash);
    h.update(size);
  }
  return h.digest();
}

interface Staged {
  blobs: Map<string, { hash: Buffer; size: number; chunks: Buffer[] }>;
  chunks: Map<string, Buffer>;
  trees: { hash: Buffer; entries: Entry[]; fileCount: number; size: number }[];
}

function stageNode(node: TreeNode, prefix: string, piece: number, out: Staged, blobsByPath: Map<string, Buffer>) {
  const entries: Entry[] = [];
  let fileCount = 0;
  let size = 0;
  for (const [name, spec] of node.files) {
    if (typeof spec === "object" && !Buffer.isBuffer(spec)) {
      entries.push({ name, kind: "symlink", hash: sha256(spec.symlink), size: 0, target: spec.symlink });
      fileCount++;
      continue;
    }
    const bytes = Buffer.isBuffer(spec) ? spec : Buffer.from(spec);
    const hash = sha256(bytes);
    const chunks: Buffer[] = [];
    for (let off = 0; off < bytes.length; off += piece) {
      const c = bytes.subarray(off, off + piece);
      const ch = sha256(c);
      out.chunks.set(ch.toString("hex"), c);
      chunks.push(ch);
    }
    out.blobs.set(hash.toString("hex"), { hash, size: bytes.length, chunks });
    blobsByPath.set(prefix + name, hash);
    entries.push({ name, kind: "file", hash, size: bytes.length, target: null });
    fileCount++;
    size += bytes.length;
  }
  for (const [name, child] of node.dirs) {
    const t = stageNode(child, `${prefix}${name}/`, piece, out, blobsByPath);
    entries.push({ name, kind: "dir", hash: t.hash, size: t.size, target: null });
    fileCount += t.fileCount;
    size += t.size;
  }
  const t = { hash: treeHash(entries), entries, fileCount, size };
  out.trees.push(t);
  return t;
}

/** Create the dataset when it does not exist yet. */
export async function ensureDataset(db: pg.ClientBase, name: string): Promise<void> {
  const { rowCount } = await db.query("select 1 from strata.datasets where name = $1", [name]);
  if (!rowCount) await db.query("select strata.create_dataset($1)", [name]);
}

/**
 * Commit `files` ({ 'a/b.csv': Buffer | string | { symlink: 'x' } }) as a new version of
 * `dataset` (created when missing), in one transaction on `db`.
 */
export async function commitFiles(db: pg.ClientBase, dataset: string, files: Files, opts: CommitOptions = {}): Promise<Committed> {
  const staged: Staged = { blobs: new Map(), chunks: new Map(), trees: [] };
  const blobs = new Map<string, Buffer>();
  const root = stageNode(buildNode(files), "", opts.piece ?? PIECE, staged, blobs);
  await db.query("begin");
  try {
    await ensureDataset(db, dataset);
    if (staged.chunks.size > 0) {
      const hashes: Buffer[] = [];
      const offsets: number[] = [];
      const sizes: number[] = [];
      let off = 0;
      for (const [hex, c] of staged.chunks) {
        hashes.push(Buffer.from(hex, "hex"));
        offsets.push(off);
        sizes.push(c.length);
        off += c.length;
      }
      await db.query("select strata.register_pack($1, $2, $3, $4, $5)", [randomBytes(32), off, hashes, offsets, sizes]);
    }
    await db.query("select strata.stage_commit()");
    const blobList = [...staged.blobs.values()];
    if (blobList.length > 0)
      await db.query(
        `insert into pg_temp.strata_stage_blobs (hash, size, chunks)
         select * from unnest($1::bytea[], $2::bigint[], $3::bytea[]) on conflict do nothing`,
        [blobList.map((b) => b.hash), blobList.map((b) => b.size), blobList.map((b) => Buffer.concat(b.chunks))],
      );
    const trees = new Map(staged.trees.map((t) => [t.hash.toString("hex"), t]));
    const list = [...trees.values()];
    await db.query(
      `insert into pg_temp.strata_stage_trees (hash, entry_count, file_count, size)
       select * from unnest($1::bytea[], $2::int[], $3::bigint[], $4::bigint[])`,
      [list.map((t) => t.hash), list.map((t) => t.entries.length), list.map((t) => t.fileCount), list.map((t) => t.size)],
    );
    const rows = list.flatMap((t) => t.entries.map((e) => ({ tree: t.hash, ...e })));
    if (rows.length > 0)
      await db.query(
        `insert into pg_temp.strata_stage_entries (tree, name, kind, hash, size, target)
         select * from unnest($1::bytea[], $2::text[], $3::text[], $4::bytea[], $5::bigint[], $6::text[])`,
        [
          rows.map((r) => r.tree),
          rows.map((r) => r.name),
          rows.map((r) => r.kind),
          rows.map((r) => r.hash),
          rows.map((r) => r.size),
          rows.map((r) => r.target),
        ],
      );
    const { rows: v } = await db.query<{ tag: string }>("select tag from strata.commit_version($1, $2, $3, $4, $5)", [
      dataset,
      root.hash,
      opts.parent ?? null,
      opts.tag ?? null,
      opts.message ?? null,
    ]);
    await db.query("commit");
    return { tag: v[0]!.tag, root: root.hash.toString("hex"), blobs };
  } catch (e) {
    await db.query("rollback");
    throw e;
  }
}
