// Compiles stored/ into one Lua bundle and generates the SQL wrapper of every entry point
// declared in stored/entrypoints.ts. Output (dist/stored/): strata.lua, wrappers.sql and
// manifest.json (the bundle's hash and size). The migrator installs them.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { entryPoints } from "../stored/entrypoints.js";
import { generateWrappers } from "./wrappers.js";
import { projectRoot } from "../loader/paths.js";

const root = projectRoot();
const out = join(root, "dist", "stored");

execFileSync(join(root, "node_modules", ".bin", "tstl"), ["-p", join(root, "stored", "tsconfig.json")], {
  stdio: "inherit",
});

const bundle = readFileSync(join(out, "strata.lua"), "utf8");
const bundleHash = createHash("sha256").update(bundle).digest("hex");
writeFileSync(join(out, "wrappers.sql"), generateWrappers(entryPoints, bundleHash));
const signatures = entryPoints.map((e) => `strata.${e.name}(${e.args.map((a) => a.type).join(", ")})`);
writeFileSync(join(out, "manifest.json"), JSON.stringify({ bundleHash, bundleBytes: Buffer.byteLength(bundle), signatures }, null, 2));
console.log(`stored logic: ${entryPoints.length} entry points, bundle ${Buffer.byteLength(bundle)} bytes (${bundleHash.slice(0, 12)})`);
