// JIT compilation off around the summaries' set queries (the SQL functions strata.diff,
// strata.diff_rows and strata.ls say `set jit = off` themselves). Recursive CTEs get cost estimates far
// above jit_above_cost, so PostgreSQL would spend 100-500 ms compiling expressions
// (measured: ls of a 1,000-file folder 130 of 145 ms, diff of 10,000 changes 520 of
// 750 ms) for queries that then run in a few hundred milliseconds or less. The setting
// is transaction-local and given back as soon as the query has run, before any row is
// returned.

import { queryOne } from "./host";

/** Turn JIT off; returns the setting to give to restoreJit. */
export function jitOff(): string {
  return queryOne<{ was: string }>("select current_setting('jit') as was, set_config('jit', 'off', true) as now", [])!.was;
}

export function restoreJit(was: string): void {
  if (was !== "off") queryOne("select set_config('jit', $1, true) as now", ["text"], was);
}
