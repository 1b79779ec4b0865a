/**
 * What a failure means for the event being handled:
 * - a dependency is down (Postgres unreachable or restarting): wait and try again, for as long as it
 *   takes, without counting attempts, moving on or committing;
 * - a transient failure of a remote service (an error with `transient: true`, such as the payment
 *   processor timing out): retry with backoff for minutes (a time budget), then dead-letter it;
 * - the event can never succeed (`NonRetryableError`, an error with `transient: false`, Postgres
 *   refusing its data): dead-letter it at once;
 * - anything else: retry with backoff a few times, then dead-letter it.
 */
export class NonRetryableError extends Error {
  override readonly name = "NonRetryableError";
}

/** Socket-level errors of a dependency that cannot be reached. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs of a server that is going away or not accepting connections yet. */
const POSTGRES_DOWN_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * SQLSTATEs of a deadline that fired: statement_timeout (57014 query_canceled, also lock waits), and
 * idle_in_transaction_session_timeout (25P03). A hung Postgres is treated like one that is down.
 */
const POSTGRES_DEADLINE_CODES = new Set(["57014", "25P03"]);

/** The Kafka client's codes for a broker that cannot be reached or does not answer in time. */
const KAFKA_DOWN_CODES = new Set(["PLT_KFK_NETWORK", "PLT_KFK_TIMEOUT"]);

/**
 * Kafka refused the records themselves: waiting does not make them go through (a missing topic, a
 * record too large, no permission). The client reports the broker's error name in `apiId`.
 */
const KAFKA_RECORD_ERRORS = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "INVALID_TIMESTAMP",
]);

/** node-postgres (and ioredis, for Redis) report a lost or unopened connection with no code. */
const CONNECTION_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "terminating connection",
  "Reached the max retries per request limit",
  "Connection is closed",
  // node-postgres `query_timeout`, ioredis `commandTimeout` and `connectTimeout`.
  "Query read timeout",
  "Command timed out",
  "connect ETIMEDOUT",
];

const codeOf = (error: object): string | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
};

/** The error, its `cause` chain and the members of aggregate errors (bounded). */
const causes = (error: unknown): object[] => {
  const found: object[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== "object" || value === null || depth > 6 || found.includes(value)) return;
    found.push(value);
    visit((value as { cause?: unknown }).cause, depth + 1);
    if (value instanceof AggregateError) for (const member of value.errors) visit(member, depth + 1);
  };
  visit(error, 0);
  return found;
};

/** True when the failure is a Postgres (or Redis, or network) outage rather than a problem with the event. */
export const isDependencyDown = (error: unknown): boolean =>
  causes(error).some((e) => {
    const code = codeOf(e);
    if (code && (NETWORK_CODES.has(code) || POSTGRES_DOWN_CODES.has(code) || code.startsWith("08"))) {
      return true;
    }
    if (code && KAFKA_DOWN_CODES.has(code)) return true;
    if (code && POSTGRES_DEADLINE_CODES.has(code)) return true;
    const message = e instanceof Error ? e.message : "";
    return CONNECTION_MESSAGES.some((m) => message.includes(m));
  });

/**
 * SQLSTATEs of transactions that collided with others: a deadlock (40P01; Postgres aborts one of the
 * transactions waiting on each other) or a serialization failure (40001). Nothing is wrong with the
 * events: the same transaction run again goes through.
 */
const POSTGRES_CONFLICT_CODES = new Set(["40P01", "40001"]);

/** True when the transaction lost to a concurrent one (a deadlock): to run again at once, not to blame an event for. */
export const isConflict = (error: unknown): boolean =>
  causes(error).some((e) => {
    const code = codeOf(e);
    return code !== undefined && POSTGRES_CONFLICT_CODES.has(code);
  });

/** Kafka refused these records (see KAFKA_RECORD_ERRORS; the client's own `PLT_KFK_USER` for an unknown topic). */
export const isRecordRefused = (error: unknown): boolean =>
  causes(error).some((e) => {
    const apiId = (e as { apiId?: unknown }).apiId;
    return codeOf(e) === "PLT_KFK_USER" || (typeof apiId === "string" && KAFKA_RECORD_ERRORS.has(apiId));
  });

const transientFlag = (error: object): boolean | undefined => {
  const flag = (error as { transient?: unknown }).transient;
  return typeof flag === "boolean" ? flag : undefined;
};

/** A remote service failed in a way worth retrying for a while (`transient: true` on the error). */
export const isTransient = (error: unknown): boolean => causes(error).some((e) => transientFlag(e) === true);

/**
 * SQLSTATE class 22, data exception: Postgres refused a value of the event itself (a character it
 * cannot store, a number out of range). The same event fails the same way every time.
 */
const isPostgresDataError = (error: object): boolean => {
  const code = codeOf(error);
  return code !== undefined && /^22[0-9A-Z]{3}$/.test(code);
};

/**
 * The event can never succeed: `NonRetryableError`, a remote service refused it (`transient: false`),
 * or Postgres refused its data (SQLSTATE class 22).
 */
export const isNonRetryable = (error: unknown): boolean =>
  causes(error).some(
    (e) => e instanceof NonRetryableError || transientFlag(e) === false || isPostgresDataError(e),
  );

/** How much of one error's message a description keeps, so a long one (a failed query's text) never hides its causes. */
const PART_LENGTH = 600;

/** A one-line description for logs and dead-letter headers: the message and its causes' messages. */
export const describeError = (error: unknown, maxLength = 2_000): string => {
  const parts = causes(error).map((e) => {
    const name = e instanceof Error ? e.name : "Error";
    const message = e instanceof Error ? e.message : String(e);
    // The Kafka client names the broker's error (MESSAGE_TOO_LARGE ...) in `apiId`.
    const apiId = (e as { apiId?: unknown }).apiId;
    const codes = [codeOf(e), typeof apiId === "string" ? apiId : undefined].filter(Boolean).join(" ");
    const part = `${name}${codes ? ` [${codes}]` : ""}: ${message}`;
    return part.length > PART_LENGTH ? `${part.slice(0, PART_LENGTH - 1)}…` : part;
  });
  const text = parts.length > 0 ? parts.join(" <- caused by ") : String(error);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
};
