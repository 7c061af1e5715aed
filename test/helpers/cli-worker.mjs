// Runs many strata commands, one after another, in one Node process: the compiled CLI's
// main() (what bin/strata.js calls) with each command's arguments and environment, its
// stdout and stderr captured. For tests that make many calls, where starting a
// process per call would cost far more than the commands (test/helpers/cli.ts).
// Requests arrive as JSON lines on fd 3: {"args": [...], "env": {...}} (a null value
// unsets a variable); each answer goes out as one JSON line on fd 4: {code, stdout, stderr}.
// Stdin is empty, as for a command given no input.

import { Socket } from "node:net";
import { createInterface } from "node:readline";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { main } = await import(new URL("../../dist/loader/cli/main.js", import.meta.url).href);
const requests = new Socket({ fd: 3, readable: true, writable: false });
const answers = new Socket({ fd: 4, readable: false, writable: true });
const baseEnv = { ...process.env };
// main() adds a stdout 'error' listener per call
process.stdout.setMaxListeners(0);

function setEnv(overrides) {
  for (const k of Object.keys(process.env)) if (!(k in baseEnv)) delete process.env[k];
  Object.assign(process.env, baseEnv);
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
}

/** Replaces stream.write with one that appends to a string; returns the string getter and an undo. */
function capture(stream) {
  const original = stream.write;
  let text = "";
  stream.write = (chunk, encoding, cb) => {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    const done = typeof encoding === "function" ? encoding : cb;
    if (done) process.nextTick(done);
    return true;
  };
  return { text: () => text, restore: () => (stream.write = original) };
}

for await (const line of createInterface({ input: requests })) {
  const { args, env } = JSON.parse(line);
  setEnv(env);
  process.exitCode = undefined;
  const out = capture(process.stdout);
  const err = capture(process.stderr);
  let code;
  try {
    code = await main([process.execPath, "strata", ...args]);
  } catch (e) {
    err.restore();
    process.stderr.write(`cli-worker: main threw: ${e?.stack ?? e}\n`);
    code = 70;
  } finally {
    out.restore();
    err.restore();
  }
  process.exitCode = undefined;
  answers.write(`${JSON.stringify({ code, stdout: out.text(), stderr: err.text() })}\n`);
}
// Done: exit as bin/strata.js does, whatever handles a command left open.
answers.end(() => process.exit(0));
