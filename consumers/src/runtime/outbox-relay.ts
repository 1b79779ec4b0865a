import { and, asc, inArray, isNull, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { sleep } from "./backoff.ts";
import { describeError } from "./failures.ts";
import type { KafkaProducer } from "./kafka.ts";

/** Whoever holds this transaction-scoped advisory lock is the one relay publishing right now. */
const RELAY_LOCK = 7_261_002;

export interface OutboxRelayOptions {
  db: Db;
  producer: KafkaProducer;
  log: Logger;
  /** Polling interval; every commit also kicks the relay. */
  intervalMs?: number;
  batchSize?: number;
  /**
   * Publishes only rows whose topic starts with this (the run's KAFKA_TOPIC_PREFIX; none in
   * production): a run never sends another run's rows, whose topics may be gone.
   */
  topicPrefix?: string;
}

export interface OutboxRelay {
  /** Publishes soon (coalesced: one pass at a time, one more if kicked while running). */
  kick(): void;
  /** Publishes until the outbox is empty; resolves false if another relay held it or a pass failed. */
  flush(): Promise<boolean>;
  /** Stops the timer, waits for the pass in flight, then flushes once more (best effort). */
  stop(): Promise<void>;
}

type PassResult = { published: number; busy: boolean };

/**
 * Publishes the rows of the transactional outbox to Kafka in id order (acks=all, idempotent
 * producer), marking them published in the transaction that locked them. The advisory lock keeps a
 * single relay at work across replicas and processes, so rows reach Kafka in id order;
 * `FOR UPDATE SKIP LOCKED` keeps two relays from ever taking the same rows. A crash between the
 * send and the commit publishes the rows again: consumers skip duplicate event ids.
 */
export const createOutboxRelay = (o: OutboxRelayOptions): OutboxRelay => {
  const batchSize = o.batchSize ?? 100;
  const intervalMs = o.intervalMs ?? 1_000;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const pass = (): Promise<PassResult> =>
    o.db.transaction(async (tx) => {
      const lock = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`,
      );
      if (!lock.rows[0]?.locked) return { published: 0, busy: true };
      const rows = await tx
        .select({ id: outbox.id, topic: outbox.topic, key: outbox.key, payload: outbox.payload })
        .from(outbox)
        .where(
          and(
            isNull(outbox.publishedAt),
            o.topicPrefix ? sql`starts_with(${outbox.topic}, ${o.topicPrefix})` : undefined,
          ),
        )
        .orderBy(asc(outbox.id))
        .limit(batchSize)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return { published: 0, busy: false };
      await o.producer.send({
        messages: rows.map((row) => ({
          topic: row.topic,
          key: Buffer.from(row.key),
          value: Buffer.from(JSON.stringify(row.payload)),
        })),
      });
      await tx
        .update(outbox)
        .set({ publishedAt: new Date() })
        .where(
          inArray(
            outbox.id,
            rows.map((row) => row.id),
          ),
        );
      return { published: rows.length, busy: false };
    });

  /** Passes until a pass finds nothing; false when it had to give up (busy elsewhere, or failed). */
  const drain = async (): Promise<boolean> => {
    for (;;) {
      const result = await pass();
      if (result.busy) return false;
      if (result.published === 0) return true;
      o.log.debug({ published: result.published }, "outbox rows published");
      if (result.published < batchSize) return true;
    }
  };

  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const done = await drain();
          // Another relay holds the lock; it may stop before our rows are out, so look again soon.
          if (!done && !stopped) setTimeout(() => relay.kick(), Math.min(intervalMs, 250)).unref();
        } catch (error) {
          o.log.warn({ err: describeError(error) }, "outbox relay pass failed; retrying on the next tick");
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();

  const relay: OutboxRelay = {
    kick: () => {
      if (!stopped) void run();
    },
    flush: async () => {
      await running;
      try {
        return await drain();
      } catch (error) {
        o.log.warn({ err: describeError(error) }, "outbox flush failed");
        return false;
      }
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      for (let tries = 0; tries < 20; tries++) {
        if (await relay.flush()) return;
        await sleep(100);
      }
      o.log.warn("outbox not flushed at stop; another relay or the next start publishes the rest");
    },
  };
  return relay;
};
