// Where the project's own files are, found from this module whether it runs from source
// under tsx or compiled under dist/. (The user's Strata home: home.ts.)

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cachedRoot: string | undefined;

/** The folder holding Strata's package.json. */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "stored"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the Strata project folder above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  cachedRoot = dir;
  return dir;
}

/** The build output of stored/: the Lua bundle, its wrappers and manifest. */
export function storedBuildDir(): string {
  return join(projectRoot(), "dist", "stored");
}
