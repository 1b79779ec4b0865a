import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox, processedEvents } from "../../../db/schema/index.ts";
import { type PassResult, type Pump, startPump } from "./pump.ts";

/** Whoever holds this transaction-scoped advisory lock is the one pruning right now. */
const PRUNE_LOCK = 7_261_003;

export interface RetentionOptions {
  db: Db;
  log: Logger;
  /** Published outbox rows older than this go (their events are on Kafka). */
  outboxRetentionMs: number;
  /**
   * Processed event ids older than this go. Keep them longer than the topics keep their messages
   * (and than a dead letter may wait to be replayed): a redelivery older than that would be applied
   * again, and the handlers' own idempotency (order id, reservation, payment row) is then all there is.
   */
  processedEventsRetentionMs: number;
  intervalMs: number;
  /** Rows deleted per statement; a pass goes on while full batches are deleted. */
  batchSize?: number;
}

/**
 * Prunes what the pipeline no longer needs, in small batches (short locks, bounded WAL), one process
 * at a time (an advisory lock): published outbox rows and old processed event ids. Parked rows and
 * emails are never pruned: they wait for an operator, or are the record of what was sent.
 */
export const startRetention = (o: RetentionOptions): Pump => {
  const batchSize = o.batchSize ?? 5_000;
  const pass = (): Promise<PassResult> =>
    o.db.transaction(async (tx) => {
      const lock = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(${PRUNE_LOCK}) as locked`,
      );
      if (!lock.rows[0]?.locked) return "done";
      const published = await tx.execute(sql`
        delete from ${outbox} where id in (
          select id from ${outbox}
          where published_at < now() - ${o.outboxRetentionMs} * interval '1 millisecond'
          order by id limit ${batchSize})`);
      const processed = await tx.execute(sql`
        delete from ${processedEvents} where ctid = any(array(
          select ctid from ${processedEvents}
          where processed_at < now() - ${o.processedEventsRetentionMs} * interval '1 millisecond'
          limit ${batchSize}))`);
      const deleted = { outbox: published.rowCount ?? 0, processedEvents: processed.rowCount ?? 0 };
      if (deleted.outbox + deleted.processedEvents > 0)
        o.log.info(deleted, "pruned pipeline rows past their retention");
      return deleted.outbox === batchSize || deleted.processedEvents === batchSize ? "more" : "done";
    });
  return startPump({ name: "retention", log: o.log, intervalMs: o.intervalMs, pass });
};
