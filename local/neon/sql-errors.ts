import { DatabaseError } from "pg";

/**
 * The error side of the `/sql` protocol. The client (`neon()` in @neondatabase/serverless) only reads a JSON
 * body on HTTP 400: it throws a `NeonDbError` with that `message` and copies these fields onto it. Any other
 * status becomes `NeonDbError("Server error (HTTP status N): <body text>")` without a code. Neon's proxy
 * answers every PostgreSQL error (including ones raised while connecting, like an unknown database) with 400,
 * and failures of its own with 5xx; so does this endpoint.
 */
export const NEON_ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

export type NeonErrorField = (typeof NEON_ERROR_FIELDS)[number];
export type NeonErrorBody = { message: string } & Record<NeonErrorField, string | null>;

/** The one error type of the HTTP side: a status and the body Neon would send. */
export class SqlOverHttpError extends Error {
  override readonly name = "SqlOverHttpError";
  readonly status: 400 | 413 | 500 | 502;
  readonly body: NeonErrorBody;

  constructor(status: SqlOverHttpError["status"], body: NeonErrorBody, options?: { cause?: unknown }) {
    super(body.message, options);
    this.status = status;
    this.body = body;
  }
}

const emptyFields = (): Record<NeonErrorField, string | null> => {
  const fields = {} as Record<NeonErrorField, string | null>;
  for (const field of NEON_ERROR_FIELDS) fields[field] = null;
  return fields;
};

/** A body without PostgreSQL details (Neon sends `code: ""` for errors that are not PostgreSQL's). */
export const plainErrorBody = (message: string, code = ""): NeonErrorBody => ({
  message,
  ...emptyFields(),
  code,
});

export const badRequest = (message: string, cause?: unknown): SqlOverHttpError =>
  new SqlOverHttpError(400, plainErrorBody(message), { cause });

/** A PostgreSQL error as Neon forwards it: its message and every diagnostic field the server sent. */
export const databaseErrorBody = (error: DatabaseError): NeonErrorBody => {
  const body: NeonErrorBody = { message: error.message, ...emptyFields() };
  for (const field of NEON_ERROR_FIELDS) body[field] = error[field] ?? null;
  body.code = error.code ?? "";
  return body;
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Classifies a failure of `pg`: server errors keep their SQLSTATE and go back as 400; anything else (refused
 * connection, timeout, dropped socket) means the endpoint could not reach PostgreSQL, answered as 502 with
 * SQLSTATE 08001 (sqlclient_unable_to_establish_sqlconnection) in the body.
 */
export const fromPgError = (error: unknown, target: { host: string; port: number }): SqlOverHttpError => {
  if (error instanceof SqlOverHttpError) return error;
  if (error instanceof DatabaseError)
    return new SqlOverHttpError(400, databaseErrorBody(error), { cause: error });
  const message = `local Neon endpoint could not use PostgreSQL at ${target.host}:${target.port}: ${describe(error)}`;
  return new SqlOverHttpError(502, plainErrorBody(message, "08001"), { cause: error });
};
