// A real S3 API server for tests: s3rver 3.7.1 in a child process on 127.0.0.1,
// on a free port, over a fresh temp folder.
//
// Why a child process: s3rver signs ListObjectsV2 continuation tokens with DES,
// which Node's OpenSSL 3 refuses unless the process runs with
// --openssl-legacy-provider (without it, every truncated listing is an HTTP 500).
// s3rver checks no SigV4 signature, only that the access key id is registered;
// the child registers ours next to its built-in S3RVER/S3RVER pair.
// The child exits by itself when its stdin closes, i.e. when this process dies
// in any way, and stop() or process exit kill it and remove the folder.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { noteServiceStart, refuseOwnService } from "./env.js";

/** Plain data (it travels to test files as JSON in STRATA_TEST_S3) plus stop(). */
export interface S3ServerInfo {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The first bucket created. */
  bucket: string;
  buckets: string[];
  /** The folder s3rver keeps its data in. */
  directory: string;
  stop(): Promise<void>;
}

export type S3ServerAddress = Omit<S3ServerInfo, "stop">;

export interface S3ServerOptions {
  /** Buckets to create before the server answers; default ['strata-test']. */
  buckets?: string[];
  /** Milliseconds to wait for the server to listen; default 15000. */
  startTimeoutMs?: number;
}

// Runs in the child as CommonJS. Paths and names come in through the environment.
const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MAIN);
const AWSAccount = require(process.env.S3RVER_ACCOUNT);
AWSAccount.DUMMY_ACCOUNT.createKeyPair(process.env.S3RVER_KEY_ID, process.env.S3RVER_SECRET);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIR,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name })),
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1); },
);
// stdin closes when the parent dies, however it dies: clean up and go.
const quit = () => {
  try { require('fs').rmSync(process.env.S3RVER_DIR, { recursive: true, force: true }); } catch {}
  process.exit(0);
};
process.stdin.on('end', quit);
process.stdin.on('error', quit);
process.stdin.resume();
`;

const running = new Set<{ child: ChildProcess; directory: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill hard and remove the folders.
  process.on("exit", () => {
    for (const entry of running) {
      entry.child.kill("SIGKILL");
      rmSync(entry.directory, { recursive: true, force: true });
    }
  });
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3ServerInfo> {
  const buckets = options.buckets ?? ["strata-test"];
  const bucket = buckets[0];
  if (bucket === undefined) throw new Error("startS3Server needs at least one bucket");
  const require = createRequire(import.meta.url);
  const main = require.resolve("s3rver");
  const directory = mkdtempSync(join(tmpdir(), "strata-s3rver-"));
  const accessKeyId = `strata-test-${randomBytes(4).toString("hex")}`;
  const secretAccessKey = randomBytes(16).toString("hex");

  installExitHook();
  noteServiceStart("s3rver");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD_SCRIPT], {
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "",
      S3RVER_MAIN: main,
      S3RVER_ACCOUNT: join(main, "..", "models", "account.js"),
      S3RVER_KEY_ID: accessKeyId,
      S3RVER_SECRET: secretAccessKey,
      S3RVER_DIR: directory,
      S3RVER_BUCKETS: JSON.stringify(buckets),
    },
  });
  child.stdin?.on("error", () => undefined); // never written to; a dead child must not crash us
  const entry = { child, directory };
  running.add(entry);

  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.ref(); // unref'd below; without this the wait would not hold the process open
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
      running.delete(entry); // only now: until here the exit hook still covers it
    })());

  let port: number;
  try {
    port = await readPort(child, options.startTimeoutMs ?? 15_000, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  // Let a test process whose tests forgot stop() still exit; the exit hook cleans up.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId,
    secretAccessKey,
    region: "us-east-1",
    bucket,
    buckets,
    directory,
    stop,
  };
}

function readPort(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`s3rver did not start: ${why}${stderr() ? `\n${stderr()}` : ""}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    child.once("exit", (code, signal) => fail(`exited with ${code ?? signal}`));
    child.once("error", (err) => fail(err.message));
    lines.once("line", (line) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.removeAllListeners("error");
      try {
        const { port } = JSON.parse(line) as { port: number };
        resolve(port);
      } catch {
        reject(new Error(`s3rver printed an unexpected line: ${line}`));
      }
      lines.close();
      child.stdout?.resume(); // keep draining whatever else it prints
    });
  });
}

/** Environment for a Strata process (CLI, loader) that should use this server. */
export function s3Env(server: S3ServerAddress, bucket = server.bucket, prefix = ""): Record<string, string> {
  return {
    STRATA_STORE: `s3://${bucket}/${prefix}`,
    STRATA_S3_ENDPOINT: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  };
}

/** Creates a bucket on a running server (e.g. one per test file on a shared server). */
export async function createBucket(server: S3ServerAddress, bucket: string): Promise<void> {
  // Loaded here, not at the top: most test files use no S3 store, and the SDK takes a
  // good part of a test process's start-up.
  const { CreateBucketCommand, S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw err;
  } finally {
    client.destroy();
  }
}

/**
 * The run's shared server when test/run.ts started one (STRATA_TEST_S3), else a
 * server of this file's own, stopped through `teardown` (e.g. tap's t.teardown).
 */
export async function useS3Server(teardown: (fn: () => Promise<void>) => void): Promise<S3ServerAddress> {
  const shared = process.env.STRATA_TEST_S3;
  if (shared) return JSON.parse(shared) as S3ServerAddress;
  refuseOwnService("S3 API server");
  const server = await startS3Server();
  teardown(() => server.stop());
  return server;
}

/**
 * Test fixture: writes objects straight into s3rver's data folder (its 3.7.1
 * layout: BUCKET/KEY._S3rver_object, metadata optional), for tests that need
 * thousands of objects to exist but do not test the upload (a thousand PUTs
 * through s3rver take seconds). Only for a server on this machine.
 */
export async function seedObjects(server: S3ServerAddress, bucket: string, objects: Array<{ key: string; body: Buffer }>): Promise<void> {
  const dirs = new Set(objects.map((o) => dirname(join(server.directory, bucket, o.key))));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  await Promise.all(
    objects.map(async (o) => {
      const path = join(server.directory, bucket, `${o.key}._S3rver_object`);
      await writeFile(path, o.body);
      // s3rver would otherwise hash every object on each listing.
      await writeFile(`${path}.md5`, createHash("md5").update(o.body).digest("hex"));
    }),
  );
}
