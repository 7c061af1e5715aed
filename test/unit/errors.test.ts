// The one list of error kinds: every source of errors maps into it, each kind has its own
// exit code, and README.md shows the table generated from it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ClusterError } from "../../loader/cluster/system.js";
import { describeError, ErrorKinds, StrataError } from "../../loader/errors.js";
import { projectRoot } from "../../loader/paths.js";
import { StoreError } from "../../loader/store/errors.js";
import { errorTable } from "../../scripts/error-table.js";
import { Sqlstate } from "../../stored/errors.js";

t.test("README.md holds the current table of exit codes and SQLSTATEs", async (t) => {
  const readme = readFileSync(join(projectRoot(), "README.md"), "utf8");
  t.ok(readme.includes(errorTable()), "run npm run docs:errors after changing loader/errors.ts or stored/errors.ts");
});

t.test("each kind has its own exit code and every SQLSTATE is used once", async (t) => {
  const exits = Object.values(ErrorKinds).map((k) => k.exit);
  t.equal(new Set(exits).size, exits.length);
  const codes = Object.values(Sqlstate);
  t.equal(new Set(codes).size, codes.length);
  t.notOk(codes.includes("ST009" as never), "ST009 is retired");
});

t.test("errors from every layer map to their kind", async (t) => {
  const pg = (code: string, message = "m") => Object.assign(new Error(message), { code });
  const cases: [string, unknown, number, string][] = [
    ["unknown version", pg(Sqlstate.unknownVersion), 3, "ST004"],
    ["a commit racing gc", pg(Sqlstate.missingObject), 4, "ST006"],
    ["an integrity failure", pg(Sqlstate.integrityFailure), 7, "ST011"],
    ["no privilege", pg("42501"), 9, "42501"],
    ["server shut down", pg("57P01"), 5, "57P01"],
    ["bad input value", pg("22P02"), 2, "22P02"],
    ["connection lost", new Error("Connection terminated unexpectedly"), 5, "databaseUnreachable"],
    ["connection refused", pg("ECONNREFUSED"), 5, "ECONNREFUSED"],
    ["bad store URL", new StoreError("bad_config", "cannot read store URL"), 2, "bad_config"],
    ["missing bucket", new StoreError("no_bucket", "bucket x does not exist"), 6, "no_bucket"],
    ["short pack", new StoreError("bad_range", "range past the end"), 7, "bad_range"],
    ["PostgreSQL not installed", new ClusterError("install postgresql", "setup"), 8, "cluster_setup"],
    ["server did not start", new ClusterError("server start failed"), 5, "cluster"],
    ["a StrataError", new StrataError("no file x in ds@v1", "notFound"), 3, "notFound"],
  ];
  for (const [what, e, exit, code] of cases) t.match(describeError(e), { exit, code }, what);
});

t.test("anything else is an internal error, still one line", async (t) => {
  const d = describeError(new TypeError("cannot read properties of undefined\n    at somewhere (x.ts:1:1)"));
  t.equal(d.exit, 1);
  t.equal(d.kind, "failure");
  t.notOk(d.message.includes("\n"));
  t.match(d.message, /^internal error: cannot read properties of undefined at somewhere .* STRATA_DEBUG=1/);
  t.equal(describeError("a string").message, "internal error: a string (set STRATA_DEBUG=1 for the stack)");
});
