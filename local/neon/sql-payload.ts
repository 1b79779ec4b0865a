import { z } from "zod";

/**
 * The request side of Neon's HTTP `/sql` protocol, as `neon()` in @neondatabase/serverless 1.x sends it:
 * `POST` with `{ query, params }` (or `{ queries: [...] }` for `sql.transaction()`), and these headers.
 * Parameters arrive already serialised by the client (node-postgres' `prepareValue`: strings or null,
 * Buffers as `\x...` hex); other JSON values are turned into Postgres text the way Neon's proxy does.
 */
export const NEON_HEADERS = {
  connectionString: "Neon-Connection-String",
  rawTextOutput: "Neon-Raw-Text-Output",
  arrayMode: "Neon-Array-Mode",
  isolationLevel: "Neon-Batch-Isolation-Level",
  readOnly: "Neon-Batch-Read-Only",
  deferrable: "Neon-Batch-Deferrable",
} as const;

export const ISOLATION_LEVELS = [
  "ReadUncommitted",
  "ReadCommitted",
  "RepeatableRead",
  "Serializable",
] as const;
export const IsolationLevelSchema = z.enum(ISOLATION_LEVELS);
export type IsolationLevel = z.infer<typeof IsolationLevelSchema>;

export const QueryDataSchema = z.object({
  query: z.string(),
  params: z.array(z.unknown()).default([]),
  /** Per-query override of the `Neon-Array-Mode` header (accepted by Neon's proxy; the JS client never sends it). */
  arrayMode: z.boolean().optional(),
});
export type QueryData = z.infer<typeof QueryDataSchema>;

export const BatchDataSchema = z.object({ queries: z.array(QueryDataSchema) });
export type BatchData = z.infer<typeof BatchDataSchema>;

/** Batch first: a body with `queries` is a transaction, anything else must be a single query. */
export const SqlPayloadSchema = z.union([BatchDataSchema, QueryDataSchema]);
export type SqlPayload = z.infer<typeof SqlPayloadSchema>;

export interface TransactionOptions {
  isolationLevel: IsolationLevel | undefined;
  readOnly: boolean;
  deferrable: boolean;
}

/** `BEGIN` with the requested characteristics, e.g. `BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE`. */
export const beginStatement = (txn: TransactionOptions): string => {
  const parts = ["BEGIN"];
  if (txn.isolationLevel !== undefined) {
    parts.push(`ISOLATION LEVEL ${txn.isolationLevel.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase()}`);
  }
  if (txn.readOnly) parts.push("READ ONLY");
  if (txn.deferrable) parts.push("DEFERRABLE");
  return parts.join(" ");
};

const quoteArrayElement = (text: string): string => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

const arrayElementText = (value: unknown): string => {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value)) return `{${value.map(arrayElementText).join(",")}}`;
  if (typeof value === "string") return quoteArrayElement(value);
  if (typeof value === "object") return quoteArrayElement(JSON.stringify(value));
  return String(value);
};

/** One JSON parameter as the text Postgres receives (null stays SQL NULL). */
export const paramToPgText = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return arrayElementText(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
};
