/**
 * The peers: restic (0.14 in Debian 12: `restic init` makes repository format 2, which
 * compresses with zstd, --compression auto; AES-256 encryption, 1 MiB average chunks),
 * borg (1.2: lz4 by default; here unencrypted), `openssl dgst -sha256` (one core's hashing
 * limit) and `cp -r`. Their caches and configuration live under the bench's temp folder,
 * so the bench leaves nothing behind.
 */
import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { GNU_TIME, hasGnuTime, type Measured, shellQuote, timed } from "./measure.js";

export interface PeerStatus {
  restic: string | null;
  borg: string | null;
  openssl: string | null;
  gnuTime: boolean;
  /** What the bench did to get them, and what it could not. */
  notes: string[];
}

function version(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
}

function probe(): PeerStatus {
  return {
    restic: version("restic", ["version"]),
    borg: version("borg", ["--version"]),
    openssl: version("openssl", ["version"]),
    gnuTime: hasGnuTime(),
    notes: [],
  };
}

/** Finds the peers; installs restic, borgbackup and time with apt-get when one is missing. */
export function ensurePeers(log: (s: string) => void): PeerStatus {
  let s = probe();
  if (s.restic && s.borg && s.gnuTime) return s;
  const missing = [!s.restic && "restic", !s.borg && "borgbackup", !s.gnuTime && "time"].filter(Boolean).join(", ");
  log(`peers missing (${missing}): running apt-get install -y restic borgbackup time`);
  const notes: string[] = [];
  const install = (): ReturnType<typeof spawnSync> =>
    spawnSync("apt-get", ["install", "-y", "restic", "borgbackup", "time"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 10 * 60_000,
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync("apt-get", ["update"], { encoding: "utf8", timeout: 5 * 60_000 });
    r = install();
  }
  if (r.status !== 0) {
    const why = r.error ? r.error.message : String(r.stderr).trim().split("\n").at(-1);
    notes.push(`apt-get install -y restic borgbackup time failed (${why}); the rows show the missing peers as not available`);
  } else notes.push(`installed with apt-get: ${missing}`);
  s = probe();
  if (!s.gnuTime) notes.push(`${GNU_TIME} (GNU time) is missing: wall times come from this process and peak RSS is unknown`);
  return { ...s, notes };
}

export interface Peers {
  resticEnv: Record<string, string>;
  borgEnv: Record<string, string>;
}

export async function peerEnv(root: string): Promise<Peers> {
  const resticCache = join(root, "restic-cache");
  const borgBase = join(root, "borg-base");
  await mkdir(resticCache, { recursive: true });
  await mkdir(borgBase, { recursive: true });
  return {
    resticEnv: { RESTIC_PASSWORD: "strata-bench", RESTIC_CACHE_DIR: resticCache },
    borgEnv: {
      BORG_PASSPHRASE: "",
      BORG_BASE_DIR: borgBase,
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "yes",
      BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes",
    },
  };
}

export class Restic {
  constructor(
    private readonly peers: Peers,
    readonly repo: string,
  ) {}

  init(): Promise<Measured> {
    return timed(["restic", "--repo", this.repo, "init"], { env: this.peers.resticEnv });
  }

  /** A snapshot of `path`; the previous snapshot of the same host and path is its parent. */
  backup(path: string, tag?: string): Promise<Measured> {
    const args = ["restic", "--repo", this.repo, "backup", "--quiet", "--host", "bench", path];
    if (tag) args.push("--tag", tag);
    return timed(args, { env: this.peers.resticEnv });
  }

  restore(target: string, snapshot = "latest", tag?: string): Promise<Measured> {
    const args = ["restic", "--repo", this.repo, "restore", snapshot, "--quiet", "--target", target];
    if (tag) args.push("--tag", tag);
    return timed(args, { env: this.peers.resticEnv });
  }
}

export class Borg {
  constructor(
    private readonly peers: Peers,
    readonly repo: string,
  ) {}

  init(): Promise<Measured> {
    return timed(["borg", "init", "--encryption=none", this.repo], { env: this.peers.borgEnv });
  }

  create(archive: string, path: string): Promise<Measured> {
    return timed(["borg", "create", `${this.repo}::${archive}`, path], { env: this.peers.borgEnv });
  }

  /** Extracts into `cwd` (borg extracts into the current folder). */
  extract(archive: string, cwd: string): Promise<Measured> {
    return timed(["borg", "extract", `${this.repo}::${archive}`], { env: this.peers.borgEnv, cwd });
  }
}

export function opensslDigest(files: string[]): Promise<Measured> {
  return timed(["openssl", "dgst", "-sha256", ...files]);
}

/** The files' bytes written to `dest` as a push writes packs: 16 MiB blocks, O_DIRECT, fsync at the end. */
export function diskWrite(files: string[], dest: string): Promise<Measured> {
  const cat = ["cat", ...files].map(shellQuote).join(" ");
  return timed(["sh", "-c", `${cat} | dd of=${shellQuote(dest)} bs=16M iflag=fullblock oflag=direct conv=fsync status=none`]);
}

export function cpTree(src: string, dst: string): Promise<Measured> {
  return timed(["cp", "-r", src, dst]);
}

export function syncDisks(): void {
  spawnSync("sync");
}
