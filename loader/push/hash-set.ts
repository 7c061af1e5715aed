// A set of 32-byte hashes kept in one buffer (open addressing, linear probing): a
// million hashes take about 64 MB less than a Set of hex strings. SHA-256 digests are
// uniform, so their first bytes serve as the slot without hashing again.

const HASH = 32;

export class HashSet {
  private table: Buffer;
  private used: Uint8Array;
  private slots: number;
  private count = 0;

  constructor(initialSlots = 1024) {
    this.slots = 1 << Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.table = Buffer.alloc(this.slots * HASH);
    this.used = new Uint8Array(this.slots);
  }

  get size(): number {
    return this.count;
  }

  has(h: Uint8Array): boolean {
    return this.find(h) >= 0;
  }

  /** Adds `h`; false when it was there already. */
  add(h: Uint8Array): boolean {
    if (h.length !== HASH) throw new RangeError(`a hash is ${HASH} bytes, got ${h.length}`);
    if (this.find(h) >= 0) return false;
    if ((this.count + 1) * 4 > this.slots * 3) this.grow();
    this.place(h);
    this.count++;
    return true;
  }

  private start(h: Uint8Array): number {
    return ((h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0) & (this.slots - 1);
  }

  private find(h: Uint8Array): number {
    const mask = this.slots - 1;
    for (let s = this.start(h); this.used[s] === 1; s = (s + 1) & mask) if (this.equals(s, h)) return s;
    return -1;
  }

  private equals(slot: number, h: Uint8Array): boolean {
    const at = slot * HASH;
    for (let i = 0; i < HASH; i++) if (this.table[at + i] !== h[i]) return false;
    return true;
  }

  private place(h: Uint8Array): void {
    const mask = this.slots - 1;
    let s = this.start(h);
    while (this.used[s] === 1) s = (s + 1) & mask;
    this.table.set(h, s * HASH);
    this.used[s] = 1;
  }

  private grow(): void {
    const old = this.table;
    const oldUsed = this.used;
    this.slots *= 2;
    this.table = Buffer.alloc(this.slots * HASH);
    this.used = new Uint8Array(this.slots);
    for (let s = 0; s < oldUsed.length; s++) if (oldUsed[s] === 1) this.place(old.subarray(s * HASH, s * HASH + HASH));
  }
}
