import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { type Backoff, backoffDelay, DEFAULT_DEPENDENCY_BACKOFF, sleep } from "./backoff.ts";
import { describeError, isRecordRefused } from "./failures.ts";
import type { KafkaProducer } from "./kafka.ts";
import { type PassResult, startPump } from "./pump.ts";
import type { Tx } from "./types.ts";

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
  /** A row Kafka refuses is tried again with this backoff and parked after `maxAttempts`. */
  retry?: Backoff & { maxAttempts: number };
  /** Waits between passes while Kafka cannot be reached. */
  dependencyBackoff?: Backoff;
}

export interface OutboxRelay {
  /** Publishes soon (coalesced: one pass at a time, one more if kicked while running). */
  kick(): void;
  /**
   * Publishes until nothing is left to publish now; resolves false if another relay held it or a pass
   * failed.
   */
  flush(): Promise<boolean>;
  /** Stops the timer, waits for the pass in flight, then flushes once more (best effort). */
  stop(): Promise<void>;
}

/** A missing topic may be created, a size limit raised: ~10 tries over ~10 minutes, then parked. */
export const DEFAULT_OUTBOX_RETRY = { initialMs: 1_000, maxMs: 120_000, maxAttempts: 10 };

type Row = Pick<typeof outbox.$inferSelect, "id" | "topic" | "key" | "payload" | "attempts">;

const keyOf = (row: Pick<Row, "topic" | "key">): string => `${row.topic}\u0000${row.key}`;

/**
 * Publishes the rows of the transactional outbox to Kafka in id order (acks=all, idempotent
 * producer), marking them published in the transaction that locked them. The advisory lock keeps a
 * single relay at work across replicas and processes, so rows reach Kafka in id order;
 * `FOR UPDATE SKIP LOCKED` keeps two relays from ever taking the same rows. A crash between the
 * send and the commit publishes the rows again: consumers skip duplicate event ids.
 *
 * A row Kafka refuses for itself (a missing topic, a record too large) never stops the others: the
 * batch is sent again one row at a time, the refused row is tried again later with backoff and parked
 * after its last try, and until then only the rows after it with the same topic and key wait (their
 * order is kept). Kafka being unreachable is an outage: nothing is counted, the relay backs off.
 */
export const createOutboxRelay = (o: OutboxRelayOptions): OutboxRelay => {
  const batchSize = o.batchSize ?? 100;
  const retry = o.retry ?? DEFAULT_OUTBOX_RETRY;
  const ofRun = o.topicPrefix ? sql`starts_with(${outbox.topic}, ${o.topicPrefix})` : undefined;

  /** Keys whose earlier row is waiting for a retry or parked: their later rows wait too. */
  const heldKeys = async (tx: Tx): Promise<Set<string>> => {
    const rows = await tx
      .selectDistinct({ topic: outbox.topic, key: outbox.key })
      .from(outbox)
      .where(
        and(
          isNull(outbox.publishedAt),
          gt(outbox.attempts, 0),
          or(isNotNull(outbox.parkedAt), gt(outbox.nextAttemptAt, sql`now()`)),
          ofRun,
        ),
      );
    return new Set(rows.map(keyOf));
  };

  const send = (rows: readonly Row[]) =>
    o.producer.send({
      messages: rows.map((row) => ({
        topic: row.topic,
        key: Buffer.from(row.key),
        value: Buffer.from(JSON.stringify(row.payload)),
      })),
    });

  /** After the batch failed on a row's account: each row alone, in order; answers what was sent. */
  const sendOneByOne = async (rows: readonly Row[], held: Set<string>) => {
    const sent: Row[] = [];
    const refused: Array<{ row: Row; error: unknown }> = [];
    for (const row of rows) {
      if (held.has(keyOf(row))) continue;
      try {
        await send([row]);
        sent.push(row);
      } catch (error) {
        if (!isRecordRefused(error)) return { sent, refused, outage: error };
        refused.push({ row, error });
        held.add(keyOf(row));
      }
    }
    return { sent, refused, outage: undefined };
  };

  const pass = (): Promise<PassResult> =>
    o.db.transaction(async (tx) => {
      const lock = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`,
      );
      if (!lock.rows[0]?.locked) return "busy";
      const rows = await tx
        .select({
          id: outbox.id,
          topic: outbox.topic,
          key: outbox.key,
          payload: outbox.payload,
          attempts: outbox.attempts,
        })
        .from(outbox)
        .where(
          and(
            isNull(outbox.publishedAt),
            isNull(outbox.parkedAt),
            or(isNull(outbox.nextAttemptAt), lte(outbox.nextAttemptAt, sql`now()`)),
            ofRun,
          ),
        )
        .orderBy(asc(outbox.id))
        .limit(batchSize)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return "done";
      const held = await heldKeys(tx);
      const ready: Row[] = [];
      for (const row of rows) {
        // A row after a waiting one of its key waits with it (and makes the later ones wait too).
        if (held.has(keyOf(row))) continue;
        ready.push(row);
      }
      let sent: Row[] = [];
      let refused: Array<{ row: Row; error: unknown }> = [];
      let outage: unknown;
      try {
        if (ready.length > 0) await send(ready);
        sent = ready;
      } catch (error) {
        if (!isRecordRefused(error)) throw error;
        ({ sent, refused, outage } = await sendOneByOne(ready, held));
      }
      if (sent.length > 0) {
        await tx
          .update(outbox)
          .set({ publishedAt: sql`now()` })
          .where(
            inArray(
              outbox.id,
              sent.map((row) => row.id),
            ),
          );
      }
      let soonest = Number.POSITIVE_INFINITY;
      for (const { row, error } of refused) soonest = Math.min(soonest, await recordRefusal(tx, row, error));
      if (outage) {
        o.log.warn({ err: describeError(outage), published: sent.length }, "Kafka cannot be reached");
        return "outage";
      }
      if (rows.length === batchSize) return "more";
      return Number.isFinite(soonest) ? { dueInMs: soonest } : "done";
    });

  /** Counts a refusal, parks the row after its last try; answers when it is tried again. */
  const recordRefusal = async (tx: Tx, row: Row, error: unknown): Promise<number> => {
    const attempts = row.attempts + 1;
    const parked = attempts >= retry.maxAttempts;
    const retryInMs = parked ? Number.POSITIVE_INFINITY : backoffDelay(attempts, retry);
    o.log.error(
      { err: describeError(error), topic: row.topic, key: row.key, id: row.id, attempts, parked },
      parked
        ? "Kafka refused an outbox row for the last time; parked (npm run dlq -- parked)"
        : "Kafka refused an outbox row; the others go on, it is tried again later",
    );
    await tx
      .update(outbox)
      .set({
        attempts,
        lastError: describeError(error),
        nextAttemptAt: parked ? null : sql`now() + ${retryInMs} * interval '1 millisecond'`,
        parkedAt: parked ? sql`now()` : null,
      })
      .where(eq(outbox.id, row.id));
    return retryInMs;
  };

  const pump = startPump({
    name: "outbox",
    log: o.log,
    intervalMs: o.intervalMs ?? 1_000,
    pass,
    backoff: o.dependencyBackoff ?? DEFAULT_DEPENDENCY_BACKOFF,
  });

  return {
    kick: pump.kick,
    flush: async () => {
      const result = await pump.drain();
      return result !== "outage" && result !== "busy";
    },
    stop: async () => {
      await pump.stop();
      for (let tries = 0; tries < 20; tries++) {
        const result = await pump.drain();
        if (result === "outage") break;
        if (result !== "busy") return;
        await sleep(100);
      }
      o.log.warn("outbox not flushed at stop; another relay or the next start publishes the rest");
    },
  };
};
