// How the S3 store fails and recovers against a real S3 API server: missing
// bucket, unknown credentials, an unreachable endpoint, and retries proven through
// a real HTTP proxy in front of s3rver that fails, throttles or cuts requests.

import { randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";

import t from "tap";

import { S3Store, StoreError, type S3StoreOptions } from "../../loader/store/index.js";
import { createBucket, useS3Server, type S3ServerAddress } from "../helpers/s3server.js";

type T = Parameters<Parameters<typeof t.test>[0]>[0];
type Fault = "pass" | "slowdown" | "internal" | "reset" | "cut-body";

interface Proxy {
  endpoint: string;
  log: Array<{ method: string; fault: Fault; headers: IncomingMessage["headers"] }>;
  maxInFlight: number;
  close(): Promise<void>;
}

/** An HTTP proxy to `target` that answers each request as `decide` says. */
async function faultProxy(t: T, target: string, decide: (req: IncomingMessage, nth: number) => Fault): Promise<Proxy> {
  const upstream = new URL(target);
  let inFlight = 0;
  const proxy: Proxy = { endpoint: "", log: [], maxInFlight: 0, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    const fault = decide(req, proxy.log.filter((e) => e.method === method).length + 1);
    proxy.log.push({ method, fault, headers: req.headers });
    inFlight++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault === "slowdown" || fault === "internal") {
      req.resume(); // read the upload before answering, as S3 does
      req.on("end", () => {
        const [status, code] = fault === "slowdown" ? [503, "SlowDown"] : [500, "InternalError"];
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test</Message></Error>`);
      });
      return;
    }
    const headers = { ...req.headers };
    delete headers.expect;
    const up = request({ hostname: upstream.hostname, port: upstream.port, method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (fault === "cut-body") {
        // Send part of the body, then drop the connection mid-transfer.
        upRes.once("data", (chunk: Buffer) => {
          res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => res.socket?.destroy());
          upRes.destroy();
        });
        return;
      }
      upRes.pipe(res);
    });
    up.on("error", () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.teardown(() => proxy.close());
  return proxy;
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error("expected a StoreError, got success");
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const server: S3ServerAddress = await useS3Server((fn) => t.teardown(fn));
const bucket = `errors-${process.pid}-${randomBytes(3).toString("hex")}`;
await createBucket(server, bucket);

function open(t: T, options: Partial<S3StoreOptions> = {}): S3Store {
  const store = new S3Store({
    bucket,
    prefix: `run-${randomBytes(4).toString("hex")}`,
    endpoint: server.endpoint,
    region: server.region,
    credentials: server,
    ...options,
  });
  t.teardown(() => store.close());
  return store;
}

t.test("a missing bucket is no_bucket, naming the bucket and the endpoint", async (t) => {
  const store = open(t, { bucket: "no-such-bucket-here" });
  for (const [what, call] of [
    ["check", () => store.check()],
    ["put", () => store.put("packs/00/x", Buffer.from("x"))],
    ["get", () => store.get("packs/00/x")],
    [
      "list",
      async () => {
        for await (const _ of store.list()) void _;
      },
    ],
  ] as const) {
    const err = await rejection(call());
    t.equal(err.kind, "no_bucket", `${what}: kind`);
    t.match(err.message, "bucket 'no-such-bucket-here' does not exist", `${what}: names the bucket`);
    t.match(err.message, server.endpoint, `${what}: names the endpoint`);
    t.match(err.message, "STRATA_STORE", `${what}: says what to fix`);
  }
});

t.test("an unknown access key id is bad_credentials", async (t) => {
  const store = open(t, { credentials: { accessKeyId: "NOT-A-KNOWN-KEY", secretAccessKey: "whatever" } });
  for (const [what, call] of [
    ["check", () => store.check()],
    ["put", () => store.put("packs/00/x", Buffer.from("x"))],
    ["get", () => store.get("packs/00/x")],
  ] as const) {
    const err = await rejection(call());
    t.equal(err.kind, "bad_credentials", `${what}: kind`);
    t.match(err.message, "AWS_ACCESS_KEY_ID", `${what}: says what to fix`);
    t.notMatch(err.message, /\n/, `${what}: one line`);
  }
  // A HEAD answer has no body to say why it was refused.
  const head = await rejection(store.has("packs/00/x"));
  t.equal(head.kind, "access_denied", "has: refused");
  t.match(head.message, "AWS_ACCESS_KEY_ID", "has: points at the credentials too");
});

t.test("an unreachable endpoint is unreachable after exactly maxAttempts attempts", async (t) => {
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const store = open(t, { endpoint, maxAttempts: 2, connectTimeoutMs: 1000 });
  const err = await rejection(store.check());
  t.equal(err.kind, "unreachable");
  t.match(err.message, endpoint, "names the endpoint");
  t.match(err.message, "after 2 attempts", "reports the attempts");
  t.equal(store.stats().list, 2, "two attempts were made, then it gave up");
});

t.test("a server that drops every connection is tried maxAttempts times, no more", async (t) => {
  let connections = 0;
  const dropper = createNetServer((socket) => {
    connections++;
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => dropper.close(resolve)));
  const endpoint = `http://127.0.0.1:${(dropper.address() as AddressInfo).port}`;
  const store = open(t, { endpoint, maxAttempts: 3 });
  const err = await rejection(store.check());
  t.equal(err.kind, "unreachable");
  t.match(err.message, "after 3 attempts", "reports the attempts");
  t.equal(connections, 3, "the server saw exactly maxAttempts connections");
  t.equal(store.stats().list, 3, "and the store counted them");
});

t.test("throttling (503 SlowDown) is retried with backoff and the put succeeds", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, (req, nth) => (req.method === "PUT" && nth <= 2 ? "slowdown" : "pass"));
  const store = open(t, { endpoint: proxy.endpoint, maxAttempts: 4 });
  const body = randomBytes(2 * 1024 * 1024);
  t.equal(await store.put("packs/aa/throttled", body), true);
  const puts = proxy.log.filter((e) => e.method === "PUT").map((e) => e.fault);
  t.same(puts, ["slowdown", "slowdown", "pass"], "two throttled attempts, then through");
  t.equal(store.stats().put, 3, "the store counted every attempt");
  t.ok((await store.get("packs/aa/throttled")).equals(body), "the stored bytes are exact");
});

t.test("5xx and dropped connections are retried", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, (req, nth) => {
    if (req.method === "PUT" && nth === 1) return "reset";
    if (req.method === "GET" && nth <= 2) return "internal";
    return "pass";
  });
  const store = open(t, { endpoint: proxy.endpoint, maxAttempts: 3 });
  const body = randomBytes(100_000);
  await store.put("packs/bb/flaky", body);
  t.ok((await store.get("packs/bb/flaky")).equals(body), "read back after two 500s");
  t.same(
    proxy.log.filter((e) => e.method !== "HEAD").map((e) => `${e.method} ${e.fault}`),
    ["PUT reset", "PUT pass", "GET internal", "GET internal", "GET pass"],
  );
});

t.test("a connection cut while a GET body streams is retried", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, (req, nth) => (req.method === "GET" && nth === 1 ? "cut-body" : "pass"));
  const store = open(t, { endpoint: proxy.endpoint, maxAttempts: 3 });
  const body = randomBytes(4 * 1024 * 1024);
  await store.put("packs/cc/cut", body);
  t.ok(
    (await store.getRange("packs/cc/cut", 1000, 3 * 1024 * 1024)).equals(body.subarray(1000, 1000 + 3 * 1024 * 1024)),
    "range read back whole",
  );
  t.same(
    proxy.log.filter((e) => e.method === "GET").map((e) => e.fault),
    ["cut-body", "pass"],
  );
});

t.test("retries are bounded by maxAttempts", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, (req) =>
    req.method === "PUT" ? "internal" : req.method === "GET" ? "slowdown" : "pass",
  );
  const store = open(t, { endpoint: proxy.endpoint, maxAttempts: 3 });
  const err = await rejection(store.put("packs/dd/never", Buffer.from("never")));
  t.equal(err.kind, "server");
  t.match(err.message, "HTTP 500");
  t.match(err.message, "after 3 attempts");
  t.equal(proxy.log.filter((e) => e.method === "PUT").length, 3, "exactly maxAttempts PUTs reached the server");

  const throttled = open(t, { endpoint: proxy.endpoint, maxAttempts: 2 });
  const slow = await rejection(throttled.get("packs/dd/never"));
  t.equal(slow.kind, "throttled");
  t.match(slow.message, "SlowDown");
  t.equal(proxy.log.filter((e) => e.method === "GET").length, 2, "exactly maxAttempts GETs");
});

t.test("at most `concurrency` requests are in flight", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, () => "pass");
  const store = open(t, { endpoint: proxy.endpoint, concurrency: 3 });
  await Promise.all(Array.from({ length: 24 }, (_, i) => store.put(`packs/ee/${i}`, randomBytes(64 * 1024))));
  t.ok(proxy.maxInFlight <= 3, `max in flight ${proxy.maxInFlight}`);
  t.ok(proxy.maxInFlight >= 2, "requests did run in parallel");
  t.equal(proxy.log.length, 48, "a HEAD and a PUT per object");
});

t.test("objects are written private (no ACL), with the server-side encryption asked for", async (t) => {
  const proxy = await faultProxy(t, server.endpoint, () => "pass");
  const plain = open(t, { endpoint: proxy.endpoint, env: {} });
  await plain.put("packs/aa/plain", Buffer.from("x"));
  const encrypted = open(t, { endpoint: proxy.endpoint, env: { STRATA_S3_SSE: "aws:kms", STRATA_S3_SSE_KMS_KEY_ID: "alias/strata" } });
  await encrypted.put("packs/aa/secret", Buffer.from("y"));
  const puts = proxy.log.filter((e) => e.method === "PUT");
  t.equal(puts.length, 2);
  for (const p of puts) t.equal(p.headers["x-amz-acl"], undefined, "no ACL: private to the bucket's owner");
  t.equal(puts[0]!.headers["x-amz-server-side-encryption"], undefined, "the bucket's default when none is asked");
  t.equal(puts[1]!.headers["x-amz-server-side-encryption"], "aws:kms");
  t.equal(puts[1]!.headers["x-amz-server-side-encryption-aws-kms-key-id"], "alias/strata");
  t.throws(() => open(t, { env: { STRATA_S3_SSE: "rot13" } }), { kind: "bad_config", message: /STRATA_S3_SSE=rot13/ });
  t.throws(() => open(t, { env: { STRATA_S3_SSE_KMS_KEY_ID: "k" } }), { kind: "bad_config", message: /needs STRATA_S3_SSE=aws:kms/ });
});
