#!/usr/bin/env node
// Runs the compiled CLI (npm run build writes dist/).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The pinned AWS SDK runs on Node 20; its notice that later releases will not would
// break the CLI's one-line errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// Checkout keeps dozens of file writes and renames in flight; libuv's default 4 threads
// would run only 4 at once. Read when the pool first starts, so set before any file I/O.
process.env.UV_THREADPOOL_SIZE ??= "16";

const entry = new URL("../dist/loader/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(`strata: not built yet: run npm run build in ${fileURLToPath(new URL("..", import.meta.url))}\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// The command is done: do not wait on idle handles (stdout to a pipe or file is written
// synchronously on Linux, so nothing is lost).
process.exit(code);
