// Strata's roles on a shared server (stored/roles.ts): an admin gives a login reader,
// writer or admin rights, or takes them back.

import type { Session } from "./session.js";

export type StrataRole = "reader" | "writer" | "admin";

export async function grantRole(s: Session, login: string, role: StrataRole): Promise<void> {
  await s.query("select strata.grant_role($1, $2)", [login, role]);
}

export async function revokeRole(s: Session, login: string, role: StrataRole): Promise<void> {
  await s.query("select strata.revoke_role($1, $2)", [login, role]);
}
