/**
 * What a failure means for the event being handled:
 * - a dependency is down (Postgres unreachable or restarting): wait and try again, for as long as it
 *   takes, without counting attempts, moving on or committing;
 * - the event can never succeed (`NonRetryableError`): dead-letter it at once;
 * - anything else: retry with backoff, then dead-letter it.
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

/** node-postgres (and ioredis, for Redis) report a lost or unopened connection with no code. */
const CONNECTION_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "terminating connection",
  "Reached the max retries per request limit",
  "Connection is closed",
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
    const message = e instanceof Error ? e.message : "";
    return CONNECTION_MESSAGES.some((m) => message.includes(m));
  });

export const isNonRetryable = (error: unknown): boolean =>
  causes(error).some((e) => e instanceof NonRetryableError);

/** A one-line description for logs and dead-letter headers: the message and its causes' messages. */
export const describeError = (error: unknown, maxLength = 2_000): string => {
  const parts = causes(error).map((e) => {
    const name = e instanceof Error ? e.name : "Error";
    const message = e instanceof Error ? e.message : String(e);
    const code = codeOf(e);
    return `${name}${code ? ` [${code}]` : ""}: ${message}`;
  });
  const text = parts.length > 0 ? parts.join(" <- caused by ") : String(error);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
};
