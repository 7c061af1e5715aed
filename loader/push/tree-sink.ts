// The trees a push makes, put to the database while it reads rather than all after the
// read: a folder's tree is made once everything in it is stored (tree.ts, InputTrees),
// and the trees made go as soon as none are in flight, at most SEND_BATCH entries at a
// time (folders complete in bursts, as each batch of contents is put). Batches go in the
// order the trees were made, so a tree's subtrees are always put before it or with it,
// as put_trees asks.

import type { LazyTree, InputTrees, TreeHead } from "./tree.js";

/** Tree entries per batch at most (a larger tree goes alone). */
const SEND_BATCH = 20_000;

export class TreeSink {
  private queued: LazyTree[] = [];
  private sending: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly trees: InputTrees,
    /** Puts trees the database may lack, children before parents (protocol.putTrees). */
    private readonly put: (trees: LazyTree[]) => Promise<void>,
    private readonly batch = SEND_BATCH,
  ) {}

  /** Files and symlinks now stored (their contents in the database). Never throws: finish() does. */
  stored(positions: Iterable<number>): void {
    for (const i of positions) this.trees.stored(i);
    this.queue();
    if (this.sending === undefined && this.queued.length > 0) this.send();
  }

  /** Puts every tree left; call once every file and symlink is stored. Returns the root. */
  async finish(): Promise<TreeHead> {
    while (this.sending !== undefined) await this.sending; // a batch done may start the next
    if (this.failure !== undefined) throw this.failure;
    this.queue();
    if (this.trees.root === undefined) throw new Error("the push's trees are not complete: a file was never stored");
    while (this.queued.length > 0) await this.put(this.takeBatch());
    return this.trees.root;
  }

  private queue(): void {
    for (const t of this.trees.take()) this.queued.push(t);
  }

  private send(): void {
    this.sending = this.put(this.takeBatch()).then(
      () => {
        this.sending = undefined;
        if (this.queued.length > 0) this.send();
      },
      (e: unknown) => {
        this.failure ??= e;
        this.sending = undefined;
      },
    );
  }

  /** The queued trees up to about `batch` entries (at least one tree). */
  private takeBatch(): LazyTree[] {
    let n = 0;
    let entries = 0;
    while (n < this.queued.length && (n === 0 || entries + this.queued[n]!.entryCount <= this.batch))
      entries += this.queued[n++]!.entryCount;
    return this.queued.splice(0, n);
  }
}
