// Compiles stored/ into one Lua bundle and generates the SQL wrapper of every entry point
// declared in stored/entrypoints.ts. First stored/main.ts, the bundle's entry, is
// generated from the declarations (scripts/dispatch.ts), so the compile fails when an
// implementation is missing. Output (dist/stored/): strata.lua, wrappers.sql and
// manifest.json (the bundle's hash and size). The migrator installs them.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../loader/paths.js";
import { type EntryPoint, entryPoints } from "../stored/entrypoints.js";
import { generateDispatch, nameEntriesInErrors } from "./dispatch.js";
import { generateWrappers } from "./wrappers.js";

export interface StoredBuild {
  entries: number;
  bundleBytes: number;
  bundleHash: string;
}

/**
 * Build `<root>/stored` into `<root>/dist/stored` (stored/tsconfig.json names the output).
 * Throws, with TypeScriptToLua's diagnostics in the message, when the compile fails.
 */
export function buildStored(root: string, entries: readonly EntryPoint[] = entryPoints): StoredBuild {
  const out = join(root, "dist", "stored");
  const dispatch = generateDispatch(entries);
  writeFileSync(join(root, "stored", "main.ts"), dispatch);
  try {
    execFileSync(join(projectRoot(), "node_modules", ".bin", "tstl"), ["-p", join(root, "stored", "tsconfig.json")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`compiling stored/ failed:\n${nameEntriesInErrors(`${stdout ?? ""}${stderr ?? ""}`, dispatch, entries)}`, { cause: e });
  }
  const bundle = readFileSync(join(out, "strata.lua"), "utf8");
  const bundleHash = createHash("sha256").update(bundle).digest("hex");
  const bundleBytes = Buffer.byteLength(bundle);
  writeFileSync(join(out, "wrappers.sql"), generateWrappers(entries, bundleHash));
  const signatures = entries.map((e) => `strata.${e.name}(${e.args.map((a) => a.type).join(", ")})`);
  writeFileSync(join(out, "manifest.json"), JSON.stringify({ bundleHash, bundleBytes, signatures }, null, 2));
  return { entries: entries.length, bundleBytes, bundleHash };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const b = buildStored(projectRoot());
    console.log(`stored logic: ${b.entries} entry points, bundle ${b.bundleBytes} bytes (${b.bundleHash.slice(0, 12)})`);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
