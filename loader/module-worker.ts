// A worker thread that runs one of the loader's own modules. Compiled, the module is a
// .js file; run from the TypeScript sources (tests, tsx), it is the .ts file beside it,
// and the worker registers tsx before importing it (workers do not inherit the parent's
// module hooks).

import { Worker } from "node:worker_threads";

const fromSource = import.meta.url.endsWith(".ts");

const BOOT = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.url);
})().catch((e) => { process.nextTick(() => { throw e; }); });
`;

/** Starts the module at `jsUrl` (its compiled .js URL) in a worker; the module reads `input` as workerData.input. */
export function moduleWorker(jsUrl: URL, input: unknown): Worker {
  const url = fromSource ? jsUrl.href.replace(/\.js$/, ".ts") : jsUrl.href;
  const tsx = fromSource ? import.meta.resolve("tsx/esm/api") : undefined;
  const name = `strata-${jsUrl.pathname.replace(/.*\//, "").replace(/\.js$/, "")}`;
  return new Worker(BOOT, { eval: true, name, workerData: { url, tsx, input } });
}
