import type { Command } from "commander";
import { StrataError } from "../../errors.js";
import type { StrataRole } from "../../roles.js";
import { withStrata } from "../context.js";
import { say } from "../output.js";

function parseRole(v: string): StrataRole {
  if (v !== "reader" && v !== "writer" && v !== "admin") throw new StrataError(`unknown role ${v}: use reader, writer or admin`, "usage");
  return v;
}

export function register(program: Command): void {
  const role = program.command("role").description("give logins of a shared server Strata's roles (an admin's job)");
  role
    .command("grant")
    .argument("<login>", "a PostgreSQL login")
    .argument("<role>", "reader (views and reads), writer (push, runs, models) or admin (delete, gc, roles)", parseRole)
    .description("make a login a reader, writer or admin")
    .action(async (login: string, r: StrataRole) => {
      await withStrata((s) => s.grantRole(login, r));
      say(`${login} is a Strata ${r}`);
    });
  role
    .command("revoke")
    .argument("<login>", "a PostgreSQL login")
    .argument("<role>", "reader, writer or admin", parseRole)
    .description("take a role from a login")
    .action(async (login: string, r: StrataRole) => {
      await withStrata((s) => s.revokeRole(login, r));
      say(`${login} is no longer a Strata ${r}`);
    });
}
