// History is immutable: the rows that make up committed versions (versions, trees and
// their entries, contents, chunks, packs, lineage, row hashes, datasets, the store id)
// are never updated, deleted or truncated, by anyone, except by the schema owner's own
// maintenance paths (repair, delete, gc), which open a window with openMaintenance, leave
// an audit row, and close it. Statement triggers (sql/90_triggers.sql): one check per
// statement, not per row, so gc deleting millions of rows pays once.

import { queryOne, raise, type TriggerEvent } from "./host";

/** The role that owns schema strata; only its functions may open a maintenance window. */
const OWNER = "strata_owner";

/** Open (or close) the maintenance window of this transaction, recording why in the audit table. */
export function openMaintenance(action: string, detail: string): void {
  queryOne("select set_config('strata.maintenance', 'on', true) as on", []);
  queryOne("insert into strata.audit (action, detail) values ($1, $2::jsonb) returning id", ["text", "text"], action, detail);
}

export function closeMaintenance(): void {
  queryOne("select set_config('strata.maintenance', '', true) as off", []);
}

/** strata._history_guard: refuses a change to history outside a maintenance window. */
export function historyGuard(trigger: TriggerEvent<never>): void {
  const w = queryOne<{ open: boolean }>(
    "select current_user = $1 and coalesce(current_setting('strata.maintenance', true), '') = 'on' as open",
    ["text"],
    OWNER,
  )!;
  if (w.open) return;
  raise(
    "historyImmutable",
    `strata.${trigger.relation.name} is history: its rows cannot be changed (${trigger.op} refused)`,
    undefined,
    "versions are immutable; delete and gc go through strata's admin functions",
  );
}
