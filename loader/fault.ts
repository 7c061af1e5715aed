// Fault injection for crash tests. A no-op unless the environment variable STRATA_FAULT
// is set when this module loads: STRATA_FAULT=<point>:<n> kills this process with
// SIGKILL (no cleanup, no 'exit' handlers: as a power cut or the OOM killer would) the
// n-th time the code passes faultPoint('<point>'); STRATA_FAULT=<point>:<n>:stop stops it
// there with SIGSTOP instead, so a test can break something under it (stop the database)
// and let it go on with SIGCONT. Tests use it to act at an exact step instead of racing
// the clock.

/** Every point the code marks; STRATA_FAULT must name one of them. */
export const FAULT_POINTS = [
  /** loader/push/push.ts: a pack has been stored and registered in the database. */
  "push.after-pack-registered",
  /** loader/push/push.ts: every pack is stored and registered; the commit has not started. */
  "push.before-commit",
  /** loader/store/file.ts: an object's temp file is written and fsynced, not yet renamed. */
  "file-store.before-rename",
  /** loader/checkout/checkout.ts: every file is written to its temp name and verified; none renamed yet. */
  "checkout.before-apply",
  /** loader/checkout/apply.ts: one more written file has been renamed onto its path. */
  "checkout.after-rename",
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

/** The armed point and hit count, from a STRATA_FAULT value; throws on a malformed one. */
export function parseFault(value: string | undefined): { point: FaultPoint; n: number; signal: "SIGKILL" | "SIGSTOP" } | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^(.+?):([1-9][0-9]*)(:stop)?$/.exec(value);
  const point = FAULT_POINTS.find((p) => p === m?.[1]);
  if (!m || point === undefined)
    throw new Error(`STRATA_FAULT=${value}: expected <point>:<n>[:stop] with a point among ${FAULT_POINTS.join(", ")}`);
  return { point, n: Number(m[2]), signal: m[3] ? "SIGSTOP" : "SIGKILL" };
}

const armed = parseFault(process.env.STRATA_FAULT);
let hits = 0;

/** Marks a point where a test may kill the process (see the top of this file). */
export function faultPoint(name: FaultPoint): void {
  if (armed === undefined || name !== armed.point) return;
  if (++hits === armed.n) process.kill(process.pid, armed.signal);
}
