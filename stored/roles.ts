// Who may do what on a shared server: strata.grant_role and strata.revoke_role give a
// login one of Strata's roles (reader, writer, admin) or take it back. An admin calls
// them; they run as the owner, which holds the roles' admin option (migrations/006).
// Every change leaves an audit row.

import { exec, queryOne, raise } from "./host";

const ROLES: Record<string, string> = { reader: "strata_reader", writer: "strata_writer", admin: "strata_admin" };

/** The quoted login and Strata's group role for `role`, checked. */
function target(login: string | undefined, role: string | undefined): [string, string] {
  if (login === undefined || login === "") return raise("invalidArgument", "a login must be named");
  const group = role === undefined ? undefined : ROLES[role];
  if (group === undefined) return raise("invalidArgument", `unknown role "${role ?? "null"}"`, undefined, "use reader, writer or admin");
  const r = queryOne<{ quoted: string; group_role: boolean }>(
    "select quote_ident(rolname) as quoted, rolname like 'strata\\_%' and not rolcanlogin as group_role from pg_roles where rolname = $1",
    ["text"],
    login,
  );
  if (r === undefined) return raise("unknownRole", `there is no role "${login}" on this server`, undefined, "create the login first");
  if (r.group_role) return raise("invalidArgument", `"${login}" is one of Strata's group roles, not a login`);
  return [r.quoted, group];
}

function change(action: "grant" | "revoke", login: string | undefined, role: string | undefined): void {
  const [who, group] = target(login, role);
  exec(action === "grant" ? `grant ${group} to ${who}` : `revoke ${group} from ${who}`);
  queryOne(
    "insert into strata.audit (action, detail) values ($1, jsonb_build_object('login', $2::text, 'role', $3::text)) returning id",
    ["text", "text", "text"],
    `${action} role`,
    login,
    group,
  );
}

/** strata.grant_role: `login` becomes a member of Strata's role `role` (reader, writer or admin). */
export function grantRole(login: string | undefined, role: string | undefined): void {
  change("grant", login, role);
}

/** strata.revoke_role: `login` is no longer a member of Strata's role `role`. */
export function revokeRole(login: string | undefined, role: string | undefined): void {
  change("revoke", login, role);
}
