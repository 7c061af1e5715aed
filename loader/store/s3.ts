// The S3 store (AWS S3, MinIO, Ceph RGW, R2, s3rver...) on @aws-sdk/client-s3.
//
// Retries: the SDK's own retry strategy ('standard' by default, 'adaptive' adds
// client-side rate limiting) retries throttling (503 SlowDown, 429), 5xx, timeouts
// and network errors with exponential backoff and full jitter, up to maxAttempts
// per request. The one gap it leaves, a connection dropped while a GET body is
// streaming, is retried here with the same attempt budget.
// Concurrency: every request (body transfer included) holds one slot of a
// per-store Limiter, so at most `concurrency` are in flight.
// Puts: HEAD first and skip when an object of the same size exists. Keys are
// content addresses, so this saves re-uploading 16-64 MiB packs on a resumed
// push at the cost of one small request; a size mismatch (a damaged object) is
// overwritten. Bodies are Buffers with Content-MD5, so S3 rejects damage in transit.

import { createHash } from "node:crypto";

import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";

import { isStoreError, StoreError } from "./errors.js";
import { validateKey, validatePrefix } from "./keys.js";
import { mapLimited } from "../parallel.js";
import { Limiter } from "./limit.js";
import { checkRange, readRanges } from "./ranges.js";
import { DEFAULT_REGION, resolveS3Settings, type S3Settings, type S3StoreOptions } from "./s3-config.js";
import { mapS3Error } from "./s3-errors.js";
import {
  type ByteRange,
  emptyStats,
  type GetRangesOptions,
  type ListEntry,
  type ObjectStore,
  type PutOptions,
  type StoreStats,
} from "./store.js";

export type { S3StoreOptions } from "./s3-config.js";

const DELETE_BATCH = 1000; // the DeleteObjects maximum

const COMMAND_STAT: Record<string, keyof StoreStats> = {
  GetObjectCommand: "get",
  PutObjectCommand: "put",
  HeadObjectCommand: "head",
  ListObjectsV2Command: "list",
  DeleteObjectsCommand: "delete",
};

type Sdk = typeof import("@aws-sdk/client-s3");
let sdkModule: Promise<Sdk> | undefined;

/** The AWS SDK, loaded on first use: it takes a tenth of a second to load, which every
 * command on a file store would otherwise pay. */
function sdk(): Promise<Sdk> {
  sdkModule ??= import("@aws-sdk/client-s3");
  return sdkModule;
}

/** Marks a failure while streaming a response body, which the SDK does not retry. */
class BodyReadError extends Error {}

export class S3Store implements ObjectStore {
  readonly settings: S3Settings;
  private readonly config: S3ClientConfig;
  private clientPromise: Promise<S3Client> | undefined;
  private readonly limiter: Limiter;
  private readonly counts = emptyStats();
  private readonly where: string;

  constructor(options: S3StoreOptions) {
    this.settings = resolveS3Settings(options);
    const s = this.settings;
    this.where = s.endpoint ?? "AWS S3";
    this.limiter = new Limiter(s.concurrency);
    const agent = { keepAlive: true, maxSockets: s.concurrency * 2 };
    const config: S3ClientConfig = {
      region: s.region ?? sdkRegionOrDefault,
      forcePathStyle: s.forcePathStyle,
      followRegionRedirects: true,
      maxAttempts: s.maxAttempts,
      retryMode: s.retryMode,
      // Checksums only where S3 demands them (DeleteObjects): the default mode
      // frames streamed bodies in aws-chunked encoding that some servers store
      // verbatim (s3rver), and Content-MD5 already protects our PUTs.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { connectionTimeout: s.connectTimeoutMs, socketTimeout: s.socketTimeoutMs, httpAgent: agent, httpsAgent: agent },
    };
    if (s.endpoint !== undefined) config.endpoint = s.endpoint;
    if (s.credentials !== undefined) config.credentials = s.credentials;
    this.config = config;
  }

  /** The SDK module and this store's client, both made on first use. */
  private async sdkClient(): Promise<[S3Client, Sdk]> {
    const m = await sdk();
    this.clientPromise ??= Promise.resolve().then(() => {
      const client = new m.S3Client(this.config);
      // In the deserialize step, i.e. inside the retry loop: counts every attempt.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const stat = COMMAND_STAT[context.commandName ?? ""];
          if (stat) this.counts[stat]++;
          return next(args);
        },
        { step: "deserialize", name: "strataRequestCounter" },
      );
      return client;
    });
    return [await this.clientPromise, m];
  }

  describe(): string {
    return `s3://${this.settings.bucket}/${this.settings.prefix}`;
  }

  stats(): StoreStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    (await this.clientPromise)?.destroy();
  }

  async check(): Promise<void> {
    // ListObjectsV2 rather than HeadBucket: a HEAD answer has no body, so it
    // could not tell an unknown key id from a denied one.
    await this.send("list", undefined, () =>
      this.sdkClient().then(([c, m]) =>
        c.send(new m.ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.settings.prefix, MaxKeys: 1 })),
      ),
    );
  }

  async put(key: string, parts: Buffer | readonly Buffer[], options: PutOptions = {}): Promise<boolean> {
    const Key = this.fullKey(key);
    // one PUT needs one body (a streamed body trips test servers; see the s3 guide)
    const body = Buffer.isBuffer(parts) ? parts : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    // A denied HEAD says nothing (S3 also denies HEAD of a missing key to
    // credentials without s3:ListBucket): let the PUT answer, with a reason.
    if (!options.replace) {
      const existing = await this.size(key).catch((err: unknown) => {
        if (isStoreError(err, "access_denied")) return undefined;
        throw err;
      });
      if (existing === body.length) return false;
    }
    const ContentMD5 = createHash("md5").update(body).digest("base64");
    await this.send("write", key, () =>
      this.sdkClient().then(([c, m]) =>
        c.send(
          new m.PutObjectCommand({
            Bucket: this.settings.bucket,
            Key,
            Body: body,
            ContentLength: body.length,
            ContentMD5,
            ServerSideEncryption: this.settings.sse,
            SSEKMSKeyId: this.settings.sseKmsKeyId,
          }),
        ),
      ),
    );
    return true;
  }

  async has(key: string): Promise<boolean> {
    return (await this.size(key)) !== undefined;
  }

  /** Note: S3 answers HEAD on a missing bucket with a bare 404 too; check() tells them apart. */
  async size(key: string): Promise<number | undefined> {
    const Key = this.fullKey(key);
    try {
      const res = await this.send("stat", key, () =>
        this.sdkClient().then(([c, m]) => c.send(new m.HeadObjectCommand({ Bucket: this.settings.bucket, Key }))),
      );
      return res.ContentLength ?? 0;
    } catch (err) {
      if (err instanceof StoreError && err.kind === "not_found") return undefined;
      throw err;
    }
  }

  get(key: string): Promise<Buffer> {
    return this.read(key, undefined);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, key, this.describe());
    if (length === 0) return Buffer.alloc(0);
    return this.read(key, { offset, length });
  }

  async getRanges(key: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Buffer[]> {
    this.fullKey(key);
    for (const r of ranges) checkRange(r.offset, r.length, key, this.describe());
    return readRanges(ranges, (offset, length) => this.read(key, { offset, length }), this.settings.concurrency, options);
  }

  async *list(prefix = ""): AsyncIterable<ListEntry> {
    validatePrefix(prefix, this.describe());
    const base = this.settings.prefix;
    let token: string | undefined;
    do {
      const res = await this.send("list", undefined, () =>
        this.sdkClient().then(([c, m]) =>
          c.send(
            new m.ListObjectsV2Command({
              Bucket: this.settings.bucket,
              Prefix: base + prefix,
              MaxKeys: this.settings.listPageSize,
              ContinuationToken: token,
            }),
          ),
        ),
      );
      for (const item of res.Contents ?? []) {
        if (item.Key !== undefined)
          yield { key: item.Key.slice(base.length), size: item.Size ?? 0, modified: item.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Every put is one PutObject request: nothing half-written stays behind. */
  async sweepTemps(): Promise<{ files: number; bytes: number }> {
    return { files: 0, bytes: 0 };
  }

  async delete(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.fullKey(k));
    const batches: string[][] = [];
    for (let i = 0; i < full.length; i += DELETE_BATCH) batches.push(full.slice(i, i + DELETE_BATCH));
    await mapLimited(batches, this.settings.concurrency, async (batch) => {
      const res = await this.send("delete", undefined, () =>
        this.sdkClient().then(([c, m]) =>
          c.send(
            new m.DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
          ),
        ),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      const first = failed[0];
      if (first) {
        throw new StoreError(
          "io",
          `could not delete ${failed.length} object(s) from ${this.describe()}, first '${first.Key}': ${first.Code} ${first.Message ?? ""}`,
          {
            store: this.describe(),
          },
        );
      }
    });
  }

  private async read(key: string, range: ByteRange | undefined): Promise<Buffer> {
    const Key = this.fullKey(key);
    const Range = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    for (let attempt = 1; ; attempt++) {
      try {
        // The body is read inside the slot: the connection is busy until then.
        const { body, contentRange } = await this.send("read", key, async () => {
          const res = await this.sdkClient().then(([c, m]) => c.send(new m.GetObjectCommand({ Bucket: this.settings.bucket, Key, Range })));
          const bytes = await readBody(res.Body);
          if (res.ContentLength !== undefined && bytes.length !== res.ContentLength) {
            throw new BodyReadError(`body ended after ${bytes.length} of ${res.ContentLength} bytes`);
          }
          return { body: bytes, contentRange: res.ContentRange };
        });
        return range ? this.cutRange(key, range, body, contentRange) : body;
      } catch (err) {
        const cause = err instanceof StoreError ? err.cause : err;
        if (!(cause instanceof BodyReadError) || attempt >= this.settings.maxAttempts) throw err;
        await sleep(backoffMs(attempt));
      }
    }
  }

  /**
   * The asked-for bytes out of a ranged answer. HTTP lets a server send more than
   * the range (or ignore Range and send the whole object, answer 200 without
   * Content-Range; s3rver does so for `bytes=0-0`), so locate the range by the
   * answer's Content-Range instead of trusting the body to be exactly it.
   */
  private cutRange(key: string, range: ByteRange, body: Buffer, contentRange: string | undefined): Buffer {
    const start = contentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(contentRange)?.[1] ?? Number.NaN);
    const from = range.offset - start;
    const data = Number.isNaN(from) || from < 0 ? undefined : body.subarray(from, from + range.length);
    if (data === undefined) {
      throw new StoreError("io", `${this.where} answered range ${range.offset}+${range.length} of '${key}' with '${contentRange}'`, {
        key,
        store: this.describe(),
      });
    }
    if (data.length !== range.length) {
      throw new StoreError("bad_range", `range ${range.offset}+${range.length} is past the end of '${key}' in ${this.describe()}`, {
        key,
        store: this.describe(),
      });
    }
    return data;
  }

  /** Runs a request in a limiter slot and turns any failure into a StoreError. */
  private async send<T>(action: string, key: string | undefined, request: () => Promise<T>): Promise<T> {
    try {
      return await this.limiter.run(request);
    } catch (err) {
      if (err instanceof BodyReadError) {
        throw new StoreError(
          "unreachable",
          `connection to ${this.where} broke while reading '${key}' in ${this.describe()}: ${err.message}`,
          {
            cause: err,
            key,
            store: this.describe(),
          },
        );
      }
      throw mapS3Error(err, { store: this.describe(), where: this.where, bucket: this.settings.bucket, key, action });
    }
  }

  private fullKey(key: string): string {
    return this.settings.prefix + validateKey(key, this.describe());
  }
}

async function readBody(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  let bytes: Uint8Array;
  try {
    bytes = await body.transformToByteArray();
  } catch (err) {
    throw new BodyReadError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Same shape as the SDK's backoff: full jitter over 100 ms * 2^attempt, capped at 20 s. */
function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let sdkRegion: Promise<string> | undefined;

/** The region from the SDK's chain (AWS_REGION, the profile's config file), else us-east-1. */
function sdkRegionOrDefault(): Promise<string> {
  sdkRegion ??= (async () => {
    const probe = new (await sdk()).S3Client({});
    try {
      return await probe.config.region();
    } catch {
      return DEFAULT_REGION;
    } finally {
      probe.destroy();
    }
  })();
  return sdkRegion;
}
