/**
 * Where the local Neon endpoint sends traffic, and who a client asks to be.
 *
 * Every request is forwarded to the one PostgreSQL server the endpoint was started with: the host and port a
 * client names (in `Neon-Connection-String` or the WebSocket `address`) are mapped onto it, never dialled.
 * That is what keeps the endpoint from being an open proxy. The user, password and database a client names
 * are honoured.
 */

/** The real PostgreSQL server behind the endpoint. */
export interface PostgresTarget {
  host: string;
  port: number;
}

/** The session a connection string asks for; the host part is deliberately absent (see above). */
export interface SessionIdentity {
  user: string;
  database: string;
  password: string | undefined;
  applicationName: string | undefined;
  /** The libpq `options` parameter (`-c search_path=...`), passed through to the server. */
  options: string | undefined;
}

export class ConnectionStringError extends Error {
  override readonly name = "ConnectionStringError";
}

const POSTGRES_SCHEMES = new Set(["postgres:", "postgresql:"]);

const parsePostgresUrlParts = (connectionString: string): URL => {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch (cause) {
    throw new ConnectionStringError("connection string is not a valid URL", { cause });
  }
  if (!POSTGRES_SCHEMES.has(url.protocol)) {
    throw new ConnectionStringError(
      `connection string must start with postgres:// or postgresql:// (got ${url.protocol})`,
    );
  }
  return url;
};

const decoded = (value: string): string | undefined => (value === "" ? undefined : decodeURIComponent(value));

/** Reads the server address from the endpoint's own configuration (`DATABASE_URL`). */
export const parsePostgresTarget = (postgresUrl: string): PostgresTarget => {
  const url = parsePostgresUrlParts(postgresUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new ConnectionStringError("the Postgres URL names no host");
  const port = url.port === "" ? 5432 : Number(url.port);
  return { host, port };
};

/** Reads user, password and database from a client's connection string; its host and port are ignored. */
export const parseSessionIdentity = (connectionString: string): SessionIdentity => {
  const url = parsePostgresUrlParts(connectionString);
  const user = decoded(url.username);
  const database = decoded(url.pathname.replace(/^\//, ""));
  if (user === undefined) throw new ConnectionStringError("connection string names no user");
  if (database === undefined) throw new ConnectionStringError("connection string names no database");
  return {
    user,
    database,
    password: decoded(url.password),
    applicationName: url.searchParams.get("application_name") ?? undefined,
    options: url.searchParams.get("options") ?? undefined,
  };
};

/** A stable key for one session identity, used to keep one small pool per identity. */
export const identityKey = (identity: SessionIdentity): string =>
  JSON.stringify([
    identity.user,
    identity.database,
    identity.password ?? null,
    identity.applicationName ?? null,
    identity.options ?? null,
  ]);
