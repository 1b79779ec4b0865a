/** Structured JSON logs: one object per line, which Workers Logs and `wrangler tail` index by field. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Record<string, unknown>;

const serializeError = (error: unknown): unknown => {
  if (!(error instanceof Error)) return error;
  return { name: error.name, message: error.message, stack: error.stack, cause: serializeError(error.cause) };
};

/**
 * The innermost cause's message: for a warning repeated on every request while a dependency is down,
 * where the whole chain and its stacks would bury the logs.
 */
export const rootCause = (error: unknown): string => {
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  return inner instanceof Error ? inner.message : String(inner);
};

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = RANK.info;

/** Sets the lowest level written (from the LOG_LEVEL binding); unknown values keep the default. */
export const setLogLevel = (level: string | undefined): void => {
  threshold = level && level in RANK ? RANK[level as LogLevel] : RANK.info;
};

export const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
  if (RANK[level] < threshold) return;
  const entry: LogFields = { level, msg, time: new Date().toISOString(), ...fields };
  if ("error" in fields) entry.error = serializeError(fields.error);
  const line = JSON.stringify(entry);
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};
