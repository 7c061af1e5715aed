// Translation of AWS SDK and network errors into StoreError, with a message that
// names the store and the next step. The SDK has already retried whatever was
// retryable when an error gets here, so the message reports the attempts made.

import { errorCode, StoreError, type StoreErrorKind } from "./errors.js";

export interface S3ErrorContext {
  /** s3://bucket/prefix */
  store: string;
  /** the endpoint, or 'AWS S3' */
  where: string;
  bucket: string;
  key?: string | undefined;
  /** a verb for the message: 'read', 'write', 'list', ... */
  action: string;
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ECONNABORTED",
]);
const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]);
const BAD_TOKEN = new Set(["ExpiredToken", "InvalidToken", "TokenRefreshRequired", "CredentialsProviderError", "InvalidSecurity"]);

export function mapS3Error(err: unknown, ctx: S3ErrorContext): StoreError {
  if (err instanceof StoreError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const name = e.name ?? "Error";
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts ?? 1;
  const code = errorCode(err);
  const after = attempts > 1 ? ` after ${attempts} attempts` : "";
  const target = ctx.key === undefined ? ctx.store : `'${ctx.key}' in ${ctx.store}`;
  const make = (kind: StoreErrorKind, message: string) => new StoreError(kind, message, { cause: err, key: ctx.key, store: ctx.store });

  if (name === "NoSuchBucket" || (status === 404 && ctx.key === undefined)) {
    return make("no_bucket", `bucket '${ctx.bucket}' does not exist at ${ctx.where} (create it or fix STRATA_STORE)`);
  }
  if (name === "NoSuchKey" || status === 404) {
    return make("not_found", `object ${target} not found`);
  }
  if (name === "InvalidAccessKeyId") {
    return make(
      "bad_credentials",
      `${ctx.where} does not know the access key id used for ${ctx.store} (check AWS_ACCESS_KEY_ID or AWS_PROFILE)`,
    );
  }
  if (name === "SignatureDoesNotMatch") {
    return make(
      "bad_credentials",
      `${ctx.where} rejected the request signature for ${ctx.store}: wrong secret key (check AWS_SECRET_ACCESS_KEY or AWS_PROFILE)`,
    );
  }
  if (BAD_TOKEN.has(name)) {
    return make(
      "bad_credentials",
      `no usable AWS credentials for ${ctx.store}: ${firstLine(e.message)} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`,
    );
  }
  if (name === "AccessDenied" || status === 403) {
    // Also what a HEAD answer looks like for an unknown key id: it has no body to say more.
    return make(
      "access_denied",
      `access denied to ${ctx.action} ${target} at ${ctx.where} (check the credentials, AWS_ACCESS_KEY_ID or AWS_PROFILE, and that they allow s3:GetObject, PutObject, DeleteObject and ListBucket)`,
    );
  }
  if (name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed" || status === 301) {
    return make("bad_config", `bucket '${ctx.bucket}' is in another region than the one configured (set AWS_REGION)`);
  }
  if (name === "InvalidRange" || status === 416) {
    return make("bad_range", `range is outside ${target}`);
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || name === "TimeoutError" || name === "RequestTimeout") {
    return make(
      "unreachable",
      `cannot reach ${ctx.where} to ${ctx.action} ${target}${after}: ${code ?? name} (check the endpoint, STRATA_S3_ENDPOINT, and the network)`,
    );
  }
  if (THROTTLING.has(name) || status === 429) {
    return make(
      "throttled",
      `${ctx.where} kept throttling (${name})${after} on ${ctx.action} ${target} (retry later or lower STRATA_S3_CONCURRENCY)`,
    );
  }
  if (status !== undefined && status >= 500) {
    return make("server", `${ctx.where} answered HTTP ${status} (${name})${after} on ${ctx.action} ${target} (retry later)`);
  }
  return make("io", `cannot ${ctx.action} ${target} at ${ctx.where}: ${name}${status ? ` (HTTP ${status})` : ""}: ${firstLine(e.message)}`);
}

function firstLine(message: string | undefined): string {
  return (message ?? "").split("\n")[0]?.slice(0, 300) ?? "";
}
