import pg from "pg";
import type { Logger } from "pino";
import { identityKey, type PostgresTarget, type SessionIdentity } from "./target.ts";

/**
 * Every value stays the text PostgreSQL sent: the Neon client parses types itself from `dataTypeID`, so the
 * endpoint must not (a parsed bigint or timestamptz would not round-trip exactly).
 */
export const RAW_TEXT_TYPES: pg.CustomTypesConfig = {
  getTypeParser: () => (value: unknown) => value,
};

export interface PoolRegistry {
  /** The pool for one identity, created on first use. */
  poolFor(identity: SessionIdentity): pg.Pool;
  close(): Promise<void>;
}

export interface PoolRegistryOptions {
  target: PostgresTarget;
  logger: Logger;
  /** Connections per identity. */
  maxPerIdentity?: number;
  /** Identities kept at once; the least recently used pool is closed beyond that. */
  maxIdentities?: number;
  connectTimeoutMs?: number;
}

/** One small pg pool per (user, database, password, application_name, options), all to the one target. */
export const createPoolRegistry = (opts: PoolRegistryOptions): PoolRegistry => {
  const pools = new Map<string, pg.Pool>();
  const maxIdentities = opts.maxIdentities ?? 32;
  let closed = false;

  const endPool = (key: string, pool: pg.Pool): Promise<void> =>
    pool.end().catch((error: unknown) => {
      opts.logger.warn({ err: error, key }, "closing an idle Postgres pool failed");
    });

  return {
    poolFor(identity) {
      if (closed) throw new Error("the local Neon endpoint is closing");
      const key = identityKey(identity);
      const existing = pools.get(key);
      if (existing) {
        // Re-insert so the Map's order is least recently used first.
        pools.delete(key);
        pools.set(key, existing);
        return existing;
      }
      const pool = new pg.Pool({
        host: opts.target.host,
        port: opts.target.port,
        user: identity.user,
        database: identity.database,
        password: identity.password,
        application_name: identity.applicationName,
        options: identity.options,
        max: opts.maxPerIdentity ?? 4,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
        types: RAW_TEXT_TYPES,
      });
      // An idle client can die (server restart); without a listener pg would crash the process.
      pool.on("error", (error) => {
        opts.logger.warn(
          { err: error, user: identity.user, database: identity.database },
          "idle Postgres connection failed",
        );
      });
      pools.set(key, pool);
      if (pools.size > maxIdentities) {
        const [oldestKey, oldest] = pools.entries().next().value ?? [];
        if (oldestKey !== undefined && oldest !== undefined) {
          pools.delete(oldestKey);
          void endPool(oldestKey, oldest);
        }
      }
      return pool;
    },
    async close() {
      closed = true;
      const all = [...pools.entries()];
      pools.clear();
      await Promise.all(all.map(([key, pool]) => endPool(key, pool)));
    },
  };
};
