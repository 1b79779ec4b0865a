import { findErrorBy, GenericError } from "@platformatic/kafka";

/**
 * The closed set of error codes this service answers with. The body follows the Upstash REST
 * dialect (`{"error": string, "status": number}`, which `@upstash/kafka` turns into an
 * `UpstashError` whose message is `error`), plus a machine-readable `code`.
 */
export const restErrorCodes = [
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "topic_not_found",
  "partition_not_found",
  "payload_too_large",
  "not_implemented",
  "kafka_rejected",
  "kafka_unavailable",
  "internal",
] as const;
export type RestErrorCode = (typeof restErrorCodes)[number];

export type RestErrorStatus = 400 | 401 | 403 | 404 | 413 | 500 | 501 | 502 | 503;

export interface RestErrorBody {
  error: string;
  status: RestErrorStatus;
  code: RestErrorCode;
}

export class RestError extends Error {
  readonly status: RestErrorStatus;
  readonly code: RestErrorCode;

  constructor(status: RestErrorStatus, code: RestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RestError";
    this.status = status;
    this.code = code;
  }

  toBody(): RestErrorBody {
    return { error: this.message, status: this.status, code: this.code };
  }
}

export function kafkaUnavailable(detail: string, cause?: unknown): RestError {
  return new RestError(503, "kafka_unavailable", `Kafka is unavailable: ${detail}`, { cause });
}

/** The innermost reason of a client error (the last attempt's root cause), e.g. "connect ECONNREFUSED ...". */
export function leafMessage(err: Error): string {
  let current: Error = err;
  for (let depth = 0; depth < 10; depth++) {
    const next: unknown =
      current instanceof AggregateError && current.errors.length > 0 ? current.errors.at(-1) : current.cause;
    if (!(next instanceof Error)) break;
    current = next;
  }
  return current.message;
}

function apiIdOf(err: Error): string | undefined {
  for (const id of [
    "MESSAGE_TOO_LARGE",
    "RECORD_LIST_TOO_LARGE",
    "INVALID_TIMESTAMP",
    "UNKNOWN_TOPIC_OR_PARTITION",
  ]) {
    if (findErrorBy(err, "apiId", id)) return id;
  }
  return undefined;
}

/** Maps a failure of the Kafka client to the answer the REST client gets. Unknown errors pass through. */
export function toRestError(err: unknown, what: string): unknown {
  if (err instanceof RestError || !(err instanceof Error) || !GenericError.isGenericError(err)) return err;
  switch (apiIdOf(err)) {
    case "MESSAGE_TOO_LARGE":
    case "RECORD_LIST_TOO_LARGE":
      return new RestError(413, "payload_too_large", `${what}: Kafka rejected the batch as too large`, {
        cause: err,
      });
    case "INVALID_TIMESTAMP":
      return new RestError(400, "invalid_request", `${what}: Kafka rejected a timestamp as invalid`, {
        cause: err,
      });
    case "UNKNOWN_TOPIC_OR_PARTITION":
      return new RestError(404, "topic_not_found", `${what}: unknown topic or partition`, { cause: err });
  }
  const retriable =
    findErrorBy(err, "code", "PLT_KFK_NETWORK") ||
    findErrorBy(err, "code", "PLT_KFK_TIMEOUT") ||
    findErrorBy(err, "canRetry", true);
  if (retriable) return kafkaUnavailable(`${what} failed (${leafMessage(err)})`, err);
  return new RestError(502, "kafka_rejected", `${what}: Kafka rejected the request: ${err.message}`, {
    cause: err,
  });
}

/** Rejects with a 503 when `work` takes longer than `ms`; the work itself is not cancelled. */
export async function withDeadline<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(kafkaUnavailable(`${what} got no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (err) {
    throw toRestError(err, what);
  } finally {
    clearTimeout(timer);
  }
}
