// Settings of the S3 store: explicit options first, then environment variables,
// then defaults. Kept apart from the client so the precedence is testable
// without a network.

import { StoreError } from "./errors.js";
import { validateKey } from "./keys.js";

export type Env = Record<string, string | undefined>;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket; a trailing '/' is added when missing. */
  prefix?: string;
  /** e.g. http://127.0.0.1:9000; env STRATA_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** env AWS_REGION, AWS_DEFAULT_REGION, then the SDK's profile chain, then us-east-1. */
  region?: string;
  /** env STRATA_S3_FORCE_PATH_STYLE=1/0; default: on exactly when an endpoint is overridden. */
  forcePathStyle?: boolean;
  /** Default: the SDK's standard chain (env, profile, SSO, web identity, IMDS...). */
  credentials?: S3Credentials;
  /** Requests in flight per store; env STRATA_S3_CONCURRENCY; default 8. */
  concurrency?: number;
  /** Attempts per request, first included; env STRATA_S3_MAX_ATTEMPTS, AWS_MAX_ATTEMPTS; default 5. */
  maxAttempts?: number;
  /** SDK retry mode; env STRATA_S3_RETRY_MODE, AWS_RETRY_MODE; default 'standard'. */
  retryMode?: "standard" | "adaptive";
  /** TCP connect timeout; default 10 s. */
  connectTimeoutMs?: number;
  /** A socket idle this long is dropped (and the request retried); default 120 s. */
  socketTimeoutMs?: number;
  /** MaxKeys of one ListObjectsV2 page; default 1000 (the S3 maximum). */
  listPageSize?: number;
  /**
   * Server-side encryption of what Strata writes: AES256 or aws:kms (env STRATA_S3_SSE),
   * with the KMS key id (env STRATA_S3_SSE_KMS_KEY_ID); default: the bucket's own setting.
   * Objects are written without an ACL, so they stay private to the bucket's owner.
   */
  sse?: "AES256" | "aws:kms";
  sseKmsKeyId?: string;
  /** Where to read the variables above; default process.env. */
  env?: Env;
}

export interface S3Settings {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  /** undefined: not configured explicitly; the store asks the SDK chain, then uses us-east-1. */
  region: string | undefined;
  forcePathStyle: boolean;
  credentials: S3Credentials | undefined;
  concurrency: number;
  maxAttempts: number;
  retryMode: "standard" | "adaptive";
  connectTimeoutMs: number;
  socketTimeoutMs: number;
  listPageSize: number;
  sse: "AES256" | "aws:kms" | undefined;
  sseKmsKeyId: string | undefined;
}

export const DEFAULT_REGION = "us-east-1";
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function resolveS3Settings(options: S3StoreOptions): S3Settings {
  const env = options.env ?? process.env;
  const bucket = options.bucket;
  if (!BUCKET.test(bucket)) {
    throw new StoreError("bad_config", `invalid bucket name '${bucket}' (3-63 of a-z 0-9 . -; fix STRATA_STORE)`);
  }
  const endpoint = options.endpoint ?? firstSet(env, "STRATA_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
  if (endpoint !== undefined) checkEndpoint(endpoint);
  const retryMode = options.retryMode ?? firstSet(env, "STRATA_S3_RETRY_MODE", "AWS_RETRY_MODE") ?? "standard";
  if (retryMode !== "standard" && retryMode !== "adaptive") {
    throw new StoreError("bad_config", `unknown S3 retry mode '${retryMode}' (use standard or adaptive)`);
  }
  return {
    bucket,
    prefix: normalizePrefix(options.prefix ?? ""),
    endpoint,
    region: options.region ?? firstSet(env, "AWS_REGION", "AWS_DEFAULT_REGION"),
    forcePathStyle: options.forcePathStyle ?? flag(env, "STRATA_S3_FORCE_PATH_STYLE") ?? endpoint !== undefined,
    credentials: options.credentials,
    concurrency: options.concurrency ?? positiveInt(env, "STRATA_S3_CONCURRENCY") ?? 8,
    maxAttempts: options.maxAttempts ?? positiveInt(env, "STRATA_S3_MAX_ATTEMPTS", "AWS_MAX_ATTEMPTS") ?? 5,
    retryMode,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    socketTimeoutMs: options.socketTimeoutMs ?? 120_000,
    listPageSize: Math.min(1000, options.listPageSize ?? 1000),
    ...encryption(options, env),
  };
}

function encryption(options: S3StoreOptions, env: Env): Pick<S3Settings, "sse" | "sseKmsKeyId"> {
  const sse = options.sse ?? firstSet(env, "STRATA_S3_SSE");
  if (sse !== undefined && sse !== "AES256" && sse !== "aws:kms")
    throw new StoreError("bad_config", `STRATA_S3_SSE=${sse} is not a server-side encryption S3 knows (use AES256 or aws:kms)`);
  const sseKmsKeyId = options.sseKmsKeyId ?? firstSet(env, "STRATA_S3_SSE_KMS_KEY_ID");
  if (sseKmsKeyId !== undefined && sse !== "aws:kms")
    throw new StoreError("bad_config", "STRATA_S3_SSE_KMS_KEY_ID needs STRATA_S3_SSE=aws:kms");
  return { sse, sseKmsKeyId };
}

/** '' or 'a/b/' : no leading slash, exactly one trailing slash, valid key segments. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === "") return "";
  try {
    validateKey(trimmed);
  } catch {
    throw new StoreError(
      "bad_config",
      `invalid S3 key prefix '${prefix}' (segments of [A-Za-z0-9._~=+-], not starting with '.'; fix STRATA_STORE)`,
    );
  }
  return `${trimmed}/`;
}

function firstSet(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function flag(env: Env, name: string): boolean | undefined {
  const value = firstSet(env, name)?.toLowerCase();
  if (value === undefined) return undefined;
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new StoreError("bad_config", `${name}=${value} is not a yes/no value (use 1 or 0)`);
}

function positiveInt(env: Env, ...names: string[]): number | undefined {
  for (const name of names) {
    const value = firstSet(env, name);
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new StoreError("bad_config", `${name}=${value} is not a positive integer`);
    return n;
  }
  return undefined;
}

function checkEndpoint(endpoint: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new StoreError("bad_config", `S3 endpoint '${endpoint}' is not an http(s) URL (fix STRATA_S3_ENDPOINT or AWS_ENDPOINT_URL)`);
  }
}
