import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { Logger } from "pino";
import type { PoolRegistry } from "./pools.ts";
import { badRequest, fromPgError, plainErrorBody, SqlOverHttpError } from "./sql-errors.ts";
import { type BatchResult, type NeonQueryResult, runBatch, runSingle } from "./sql-execute.ts";
import {
  IsolationLevelSchema,
  NEON_HEADERS,
  type SqlPayload,
  SqlPayloadSchema,
  type TransactionOptions,
} from "./sql-payload.ts";
import {
  ConnectionStringError,
  type PostgresTarget,
  parseSessionIdentity,
  type SessionIdentity,
} from "./target.ts";

/** Neon caps request bodies at 10 MB. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface SqlRequest {
  identity: SessionIdentity;
  payload: SqlPayload;
  arrayMode: boolean;
  txn: TransactionOptions;
}

export interface SqlDeps {
  pools: PoolRegistry;
  target: PostgresTarget;
  logger: Logger;
}

const isTrue = (value: string | undefined): boolean => value === "true";

/** Reads the Neon headers and the JSON body into one request, or throws a 400 the client turns into an error. */
export const parseSqlRequest = (headers: (name: string) => string | undefined, body: unknown): SqlRequest => {
  const connectionString = headers(NEON_HEADERS.connectionString);
  if (connectionString === undefined) throw badRequest(`missing ${NEON_HEADERS.connectionString} header`);
  let identity: SessionIdentity;
  try {
    identity = parseSessionIdentity(connectionString);
  } catch (error) {
    if (error instanceof ConnectionStringError)
      throw badRequest(`invalid ${NEON_HEADERS.connectionString}: ${error.message}`, error);
    throw error;
  }
  // The JS client always asks for raw text (it parses values itself). Neon's JSON-typed output for other
  // clients is not emulated: better a clear refusal than values that differ from production.
  if (!isTrue(headers(NEON_HEADERS.rawTextOutput))) {
    throw badRequest(
      `this local endpoint only serves ${NEON_HEADERS.rawTextOutput}: true (what @neondatabase/serverless sends)`,
    );
  }
  const isolationHeader = headers(NEON_HEADERS.isolationLevel);
  const isolation = IsolationLevelSchema.optional().safeParse(isolationHeader);
  if (!isolation.success) throw badRequest("invalid isolation level");
  const payload = SqlPayloadSchema.safeParse(body);
  if (!payload.success) {
    throw badRequest(
      `invalid request body: expected {query, params} or {queries: [...]} (${payload.error.message})`,
    );
  }
  return {
    identity,
    payload: payload.data,
    arrayMode: isTrue(headers(NEON_HEADERS.arrayMode)),
    txn: {
      isolationLevel: isolation.data,
      readOnly: isTrue(headers(NEON_HEADERS.readOnly)),
      deferrable: isTrue(headers(NEON_HEADERS.deferrable)),
    },
  };
};

/** Runs one parsed request against the pool for its identity. */
export const executeSqlRequest = async (
  request: SqlRequest,
  deps: SqlDeps,
): Promise<NeonQueryResult | BatchResult> => {
  const pool = deps.pools.poolFor(request.identity);
  try {
    if ("queries" in request.payload) {
      return await runBatch(pool, request.payload.queries, request.arrayMode, request.txn, deps.logger);
    }
    return await runSingle(pool, request.payload, request.arrayMode);
  } catch (error) {
    throw fromPgError(error, deps.target);
  }
};

/** Neon echoes the transaction characteristics it applied on batch responses. */
const batchResponseHeaders = (txn: TransactionOptions): Record<string, string> => {
  const headers: Record<string, string> = {};
  if (txn.isolationLevel !== undefined) headers[NEON_HEADERS.isolationLevel] = txn.isolationLevel;
  if (txn.readOnly) headers[NEON_HEADERS.readOnly] = "true";
  if (txn.deferrable) headers[NEON_HEADERS.deferrable] = "true";
  return headers;
};

const readJson = async (request: Request): Promise<unknown> => {
  try {
    return await request.json();
  } catch (error) {
    throw badRequest("request body is not valid JSON", error);
  }
};

/** The HTTP side: `POST /sql`, the endpoint `neonConfig.fetchEndpoint` points at. */
export const createSqlApp = (deps: SqlDeps): Hono => {
  const app = new Hono();

  // Neon's endpoint is reachable from browsers; so is this one.
  app.use(
    "/sql",
    cors({
      origin: "*",
      allowMethods: ["POST", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", ...Object.values(NEON_HEADERS)],
      exposeHeaders: [NEON_HEADERS.isolationLevel, NEON_HEADERS.readOnly, NEON_HEADERS.deferrable],
    }),
  );

  app.post(
    "/sql",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new SqlOverHttpError(413, plainErrorBody("request body is larger than 10 MB"));
      },
    }),
    async (c) => {
      const request = parseSqlRequest((name) => c.req.header(name), await readJson(c.req.raw));
      const started = performance.now();
      const result = await executeSqlRequest(request, deps);
      deps.logger.debug(
        {
          user: request.identity.user,
          database: request.identity.database,
          queries: "queries" in request.payload ? request.payload.queries.length : 1,
          ms: Math.round(performance.now() - started),
          jwt: c.req.header("Authorization") !== undefined,
        },
        "sql over http",
      );
      const headers = "queries" in request.payload ? batchResponseHeaders(request.txn) : {};
      return c.json(result, 200, headers);
    },
  );

  app.notFound((c) => c.json({ message: `no route for ${c.req.method} ${c.req.path}; use POST /sql` }, 404));

  app.onError((error, c) => {
    if (error instanceof SqlOverHttpError) {
      if (error.status >= 500) deps.logger.warn({ err: error.cause ?? error }, error.message);
      return c.json(error.body, error.status);
    }
    deps.logger.error({ err: error }, "unexpected error in /sql");
    return c.json({ message: "internal error in the local Neon endpoint", code: "" }, 500);
  });

  return app;
};
