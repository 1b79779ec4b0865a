import { isNull, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";

export interface OutboxBacklog {
  /** Outbox rows not yet published to Kafka. */
  rows: number;
  /** Seconds since the oldest of them was written; 0 when there is none. */
  oldestAgeSeconds: number;
}

/** One statement over the partial index of unpublished rows (`outbox_unpublished_idx`). */
export const readOutboxBacklog = async (db: Db | Tx): Promise<OutboxBacklog> => {
  const [row] = await db
    .select({
      rows: sql<number>`count(*)::int`,
      oldestAgeSeconds: sql<number>`coalesce(extract(epoch from now() - min(${outbox.createdAt})), 0)::float8`,
    })
    .from(outbox)
    .where(isNull(outbox.publishedAt));
  return { rows: row?.rows ?? 0, oldestAgeSeconds: Math.max(0, row?.oldestAgeSeconds ?? 0) };
};
