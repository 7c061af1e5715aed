/**
 * Running one command under GNU time (`/usr/bin/time -f '%e %M'`), so strata,
 * restic, borg, openssl and cp are all measured the same way: elapsed wall
 * seconds and the peak resident set size of the process (KiB from wait4).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GNU_TIME = "/usr/bin/time";

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the command (its whole process group) after this long; default 30 min. */
  timeoutMs?: number;
  /** Where GNU time writes its line; default the OS temp dir. */
  scratch?: string;
}

export interface Measured {
  /** The command line, for the report. */
  cmd: string;
  ok: boolean;
  code: number | null;
  /** Wall seconds as GNU time reports them (0.01 s resolution). */
  seconds: number;
  /** Peak RSS in MiB as GNU time reports it (NaN when unknown). */
  rssMiB: number;
  stdout: string;
  stderr: string;
  /** One line saying why the command failed, when it did. */
  error?: string;
}

const OUTPUT_CAP = 256 * 1024;

export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function hasGnuTime(): boolean {
  if (!existsSync(GNU_TIME)) return false;
  const r = spawnSync(GNU_TIME, ["-f", "%e %M", "true"], { encoding: "utf8" });
  return r.status === 0 && /^\d+\.\d+ \d+\s*$/m.test(r.stderr);
}

let seq = 0;
let gnuTime = true;

/** Without GNU time, commands run directly: wall time from this process, no RSS. */
export function useGnuTime(on: boolean): void {
  gnuTime = on;
}

/** Runs argv[0] with argv[1..] under GNU time. Never throws for a failing command. */
export async function timed(argv: string[], opts: RunOptions = {}): Promise<Measured> {
  const cmd = argv.map(shellQuote).join(" ");
  const timeFile = join(opts.scratch ?? tmpdir(), `.bench-time-${process.pid}-${seq++}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  const t0 = performance.now();
  const result = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    spawnError?: string;
    timedOut: boolean;
  }>((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const [file, ...args] = gnuTime ? [GNU_TIME, "-f", "%e %M", "-o", timeFile, ...argv] : argv;
    const child = spawn(file!, args, {
      env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout can stop all of it
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout = (stdout + d).slice(-OUTPUT_CAP);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-OUTPUT_CAP);
    });
    const timer = setTimeout(
      () => {
        timedOut = true;
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      },
      opts.timeoutMs ?? 30 * 60_000,
    );
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr, spawnError: e.message, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  const wall = (performance.now() - t0) / 1000;
  let seconds = wall;
  let rssMiB = Number.NaN;
  try {
    const lines = (await readFile(timeFile, "utf8")).trim().split("\n");
    const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(lines.at(-1)?.trim() ?? "");
    if (m) {
      seconds = Number(m[1]);
      rssMiB = Number(m[2]) / 1024;
    }
  } catch {
    // GNU time did not get to write (spawn failure, kill)
  }
  await rm(timeFile, { force: true });
  const ok = result.code === 0 && !result.timedOut && result.spawnError === undefined;
  const out: Measured = { cmd, ok, code: result.code, seconds, rssMiB, stdout: result.stdout, stderr: result.stderr };
  if (!ok) {
    out.error = result.spawnError
      ? `cannot run: ${result.spawnError}`
      : result.timedOut
        ? `timed out after ${((opts.timeoutMs ?? 30 * 60_000) / 1000).toFixed(0)} s`
        : `exit ${result.code ?? result.signal}: ${lastLines(result.stderr || result.stdout)}`;
  }
  return out;
}

/** The last meaningful line(s) of a command's output, short enough for a table cell. */
export function lastLines(text: string, max = 240): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^Command exited with non-zero status/.test(l));
  const marked = lines.filter((l) => /error|fatal|failed|cannot|denied|no such/i.test(l));
  const line = marked.at(-1) ?? lines.at(-1) ?? "no output";
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

/** Runs a command without measuring it; throws with its stderr when it fails. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await timed(argv, opts);
  if (!r.ok) throw new Error(`${r.cmd}: ${r.error}`);
  return r.stdout;
}
