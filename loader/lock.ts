// Lock files, so that two strata processes never both initdb or start one cluster, or
// both check out into one folder. The file holds "<pid> <process start time> <random>";
// it is stale when that process is gone (the start time catches a pid reused by another
// program).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import { StrataError } from "./errors.js";

const POLL_MS = 100;
// A lock file still empty after this long was left by a process that died while writing it.
const EMPTY_GRACE_MS = 10_000;

/** Start time of a process in clock ticks since boot (Linux); undefined where unknown. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22; the command name (field 2) may hold spaces, so count from its closing ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists and is not a zombie (an exited child nobody reaped yet). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return !existsSync("/proc/self"); // exited just now, or no /proc and kill() is all we know
  }
}

function isStale(content: string, ageMs: number): boolean {
  const [pidText, started] = content.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return ageMs > EMPTY_GRACE_MS;
  if (!processAlive(pid)) return true;
  const now = startTime(pid);
  return !!started && started !== "-" && now !== undefined && now !== started;
}

async function readLock(lockPath: string): Promise<{ content: string; ageMs: number } | undefined> {
  try {
    const [content, st] = await Promise.all([fs.readFile(lockPath, "utf8"), fs.stat(lockPath)]);
    return { content, ageMs: Date.now() - st.mtimeMs };
  } catch {
    return undefined; // vanished meanwhile
  }
}

/** Removes a stale lock, taking care not to remove one that another process just took. */
async function breakStale(lockPath: string, staleContent: string): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await fs.readFile(aside, "utf8").catch(() => staleContent);
  if (moved !== staleContent) await fs.link(aside, lockPath).catch(() => undefined); // put a live lock back
  await fs.rm(aside, { force: true });
}

async function acquire(lockPath: string, timeoutMs: number, what: string): Promise<string> {
  const token = `${process.pid} ${startTime(process.pid) ?? "-"} ${randomBytes(6).toString("hex")}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await fs.open(lockPath, "wx", 0o644);
      try {
        await fh.writeFile(token);
      } finally {
        await fh.close();
      }
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new StrataError(`cannot create lock file ${lockPath}: ${(e as Error).message}`, "setup");
      }
    }
    const held = await readLock(lockPath);
    if (held && isStale(held.content, held.ageMs)) {
      await breakStale(lockPath, held.content);
      continue;
    }
    if (Date.now() > deadline) {
      const holder = held?.content.split(" ")[0] || "unknown";
      throw new StrataError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${lockPath} (held by pid ${holder}, ${what}); delete it if that process is gone`,
        "conflict",
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const current = await fs.readFile(lockPath, "utf8").catch(() => undefined);
  if (current === token) await fs.rm(lockPath, { force: true });
}

/** Runs `fn` while holding the lock file `lockPath`; waits up to `timeoutMs` for it. `what` the holder does, for the message. */
export async function withLockFile<T>(lockPath: string, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const token = await acquire(lockPath, timeoutMs, what);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}
