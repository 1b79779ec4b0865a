import type pg from "pg";
import { DatabaseError, type FieldDef, type QueryArrayConfig } from "pg";
import type { Logger } from "pino";
import { RAW_TEXT_TYPES } from "./pools.ts";
import { beginStatement, paramToPgText, type QueryData, type TransactionOptions } from "./sql-payload.ts";

/** One field of a result, as Neon describes it and as the client reads `dataTypeID` to pick a parser. */
export interface NeonField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: "text";
}

export type NeonRow = (string | null)[] | Record<string, string | null>;

/** The response side of one query: rows hold Postgres' text output untouched (the client parses it). */
export interface NeonQueryResult {
  command: string;
  rowCount: number | null;
  rows: NeonRow[];
  fields: NeonField[];
  rowAsArray: boolean;
}

export interface BatchResult {
  results: NeonQueryResult[];
}

/** node-postgres accepts `queryMode` but its types do not declare it yet. */
type ExtendedQueryConfig = QueryArrayConfig<(string | null)[]> & { queryMode: "extended" };

const toNeonField = (field: FieldDef): NeonField => ({
  name: field.name,
  dataTypeID: field.dataTypeID,
  tableID: field.tableID,
  columnID: field.columnID,
  dataTypeSize: field.dataTypeSize,
  dataTypeModifier: field.dataTypeModifier,
  format: "text",
});

const asText = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

const runQuery = async (
  client: pg.PoolClient,
  data: QueryData,
  arrayMode: boolean,
): Promise<NeonQueryResult> => {
  // Always the extended protocol, as Neon does: one statement per query, parameters never spliced into SQL.
  const config: ExtendedQueryConfig = {
    text: data.query,
    values: data.params.map(paramToPgText),
    rowMode: "array",
    queryMode: "extended",
    types: RAW_TEXT_TYPES,
  };
  const result = await client.query(config);
  const fields = result.fields.map(toNeonField);
  const rows: NeonRow[] = result.rows.map((row) => {
    const values = row.map(asText);
    if (arrayMode) return values;
    // Neon keys object rows by column name; a later duplicate name wins, as in Neon.
    return Object.fromEntries(fields.map((field, i) => [field.name, values[i] ?? null]));
  });
  return {
    command: result.command ?? "",
    rowCount: typeof result.rowCount === "number" ? result.rowCount : null,
    rows,
    fields,
    rowAsArray: arrayMode,
  };
};

/**
 * Runs work on one pooled connection. The connection goes back to the pool only when it is idle and healthy;
 * one left inside a transaction (a lone `BEGIN` over HTTP) or broken is discarded, as Neon's pool does.
 */
const withConnection = async <T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    // A PostgreSQL error leaves the session usable; anything else (a dropped socket) does not.
    if (!(error instanceof DatabaseError)) broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken ?? client.getTransactionStatus() !== "I");
  }
};

export const runSingle = (
  pool: pg.Pool,
  data: QueryData,
  defaultArrayMode: boolean,
): Promise<NeonQueryResult> =>
  withConnection(pool, (client) => runQuery(client, data, data.arrayMode ?? defaultArrayMode));

/**
 * `sql.transaction([...])`: every query in one `BEGIN ... COMMIT`; the first error rolls everything back and
 * is what the client sees.
 */
export const runBatch = (
  pool: pg.Pool,
  queries: QueryData[],
  defaultArrayMode: boolean,
  txn: TransactionOptions,
  logger: Logger,
): Promise<BatchResult> =>
  withConnection(pool, async (client) => {
    await client.query(beginStatement(txn));
    const results: NeonQueryResult[] = [];
    try {
      for (const data of queries)
        results.push(await runQuery(client, data, data.arrayMode ?? defaultArrayMode));
      await client.query("COMMIT");
    } catch (error) {
      // The client must see the query's error, not the ROLLBACK's. A connection whose ROLLBACK failed is
      // not idle, so withConnection discards it instead of pooling it.
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        logger.warn({ err: rollbackError }, "ROLLBACK after a failed batch query failed");
      });
      throw error;
    }
    return { results };
  });
